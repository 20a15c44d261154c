"""Each domain fact is defined once in Python; YAML cannot import it, so these tests hold the role,
the playbooks and the Python definitions together."""
import glob
import os
import re

import yaml

from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, service_options
from ansible_collections.incomes_register.certificates.plugins.module_utils._install import install_layouts
from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import service_facts
from ansible_collections.incomes_register.certificates.plugins.module_utils.renewal_policy import (
    MAX_RENEW_BEFORE_DAYS)
from ansible_collections.incomes_register.certificates.plugins.modules import certificate_install

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, 'roles', 'renewal')


def load(*parts):
    with open(os.path.join(*parts)) as handle:
        return yaml.safe_load(handle)


def role_options():
    return load(ROLE, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']


def test_the_roles_environments_and_layouts_are_the_collections():
    options = role_options()
    assert set(options['renewal_environment']['choices']) == set(service_facts.ENVIRONMENTS)
    target = options['renewal_install_targets']['options']
    assert target['layout']['choices'] == list(install_layouts.LAYOUTS)


def _text(description):
    return description if isinstance(description, str) else ' '.join(description)


def test_certificate_installs_documentation_names_each_layout_where_the_registry_does():
    """A new layout is one registry entry plus its documentation: the module's description names it, and
    each option it reads names it (with "Required" where the layout cannot do without the option)."""
    documentation = yaml.safe_load(certificate_install.DOCUMENTATION)
    options = documentation['options']
    layouts = install_layouts.LAYOUTS.values()
    assert options['layout']['choices'] == list(install_layouts.LAYOUTS)
    for layout in layouts:
        assert 'V(%s)' % layout.name in _text(documentation['description']), layout.name
    for option in set(option for layout in layouts for option in layout.options):
        text = _text(options[option]['description'])
        named = set(re.findall(r'V\((\w+)\)', text)) & set(install_layouts.LAYOUTS)
        assert named == set(layout.name for layout in layouts if option in layout.options), option
        if not options[option].get('required'):
            assert ('Required' in text) == any(option in layout.required for layout in layouts), option


def test_the_roles_defaults_are_the_modules_defaults():
    """A role variable that feeds a module option starts from that option's default."""
    defaults = load(ROLE, 'defaults', 'main.yml')
    options = role_options()
    modules = dict(service_options.SERVICE, **service_options.RETRIEVAL)
    modules.update(argspec.WINDOW)
    pairs = dict(renewal_timeout='timeout', renewal_wait_timeout='wait_timeout',
                 renewal_initial_delay='initial_delay', renewal_poll_interval='poll_interval',
                 renewal_final_error_codes='final_error_codes', renewal_renew_before_days='renew_before_days')
    for variable, option in pairs.items():
        assert defaults[variable] == modules[option]['default'], variable
        assert options[variable]['default'] == modules[option]['default'], variable
    assert defaults['renewal_renew_before_days'] == MAX_RENEW_BEFORE_DAYS


def test_playbooks_fall_back_to_the_same_window_and_timings():
    fallbacks = {
        'renewal_renew_before_days': MAX_RENEW_BEFORE_DAYS,
        'renewal_initial_delay': service_options.RETRIEVAL['initial_delay']['default'],
        'renewal_poll_interval': service_options.RETRIEVAL['poll_interval']['default'],
        'renewal_wait_timeout': service_options.RETRIEVAL['wait_timeout']['default'],
        'renewal_timeout': service_options.SERVICE['timeout']['default'],
    }
    seen = 0
    for path in glob.glob(os.path.join(ROOT, 'playbooks', '*.yml')):
        text = open(path).read()
        for variable, value in fallbacks.items():
            for found in re.findall(r'%s \| default\(([^)]*)\)' % variable, text):
                seen += 1
                assert float(found) == value, '%s: %s defaults to %s, not %s' % (path, variable, found, value)
    assert seen >= 4
    # And where the action plugins read the role's variables of a host that does not apply the role.
    from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_entries
    # They leave an option out where the host has no variable, so the module's default stands in for the role's.
    plugin = dict((name, option) for option, name in certificate_entries.ROLE_SERVICE_VARIABLES
                  + certificate_entries.ROLE_RENEWAL_VARIABLES)
    assert plugin['renewal_renew_before_days'] == 'renew_before_days'
    assert plugin['renewal_timeout'] == 'timeout'
