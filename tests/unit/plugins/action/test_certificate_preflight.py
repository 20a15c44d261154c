import os

import yaml

from ansible_collections.incomes_register.certificates.plugins.action import certificate_preflight
from ansible_collections.incomes_register.certificates.plugins.module_utils import service_options
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_entries as entries

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'renewal')


def role_options(args, **values):
    def variable(name, default):
        return values.get(name, default)
    action = object.__new__(certificate_preflight.ActionModule)
    args = dict(args)
    action.role_options(args, variable)
    return args


def test_the_service_options_are_the_roles_unless_the_task_gives_them_and_an_empty_one_is_left_out():
    got = role_options({}, renewal_customer_id='5100055-3', renewal_proxy='http://proxy:3128',
                       renewal_service_signer_pattern='')
    assert got['proxy'] == 'http://proxy:3128'
    # The module's own defaults for what the host does not have or gives empty.
    assert 'timeout' not in got and 'service_signer_pattern' not in got
    got = role_options({'proxy': 'http://other:8080', 'timeout': 5}, renewal_proxy='http://proxy:3128',
                       renewal_timeout=60, renewal_service_signer_pattern='CN=Verohallinto')
    assert (got['proxy'], got['timeout'], got['service_signer_pattern']) == ('http://other:8080', 5, 'CN=Verohallinto')


def test_the_service_defaults_are_the_roles_and_the_role_sets_those_options():
    with open(os.path.join(ROLE, 'defaults', 'main.yml')) as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROLE, 'tasks', 'main.yml')) as handle:
        role_tasks = handle.read()
    for option, name in entries.ROLE_SERVICE_VARIABLES:
        # The role's empty string is the module's none.
        assert (defaults[name] or None) == service_options.SERVICE[option].get('default'), name
        assert '%s: "{{ %s' % (option, name) in role_tasks, option


def test_the_roles_certificate_defaults_read_the_same_variables():
    with open(os.path.join(ROLE, 'vars', 'main.yml')) as handle:
        expression = yaml.safe_load(handle)['renewal_certificate_defaults']
    for key, name, dummy in entries.ROLE_VARIABLES:
        assert "'%s': %s" % (key, name) in expression, key


def test_a_host_still_to_be_enrolled_is_not_sent_its_certificate_key_or_passphrase():
    values = dict(renewal_customer_id='5100055-3', renewal_private_key_passphrase='phrase',
                  renewal_certificates=[{'certificate_path': '/srv/a.pem', 'private_key_passphrase': 'other'}])
    assert role_options({'check_installed': True}, **values)['certificates'][0]['private_key_passphrase'] == 'other'
    for off in (False, 'false', 'no'):
        certificates = role_options({'check_installed': off}, **values)['certificates']
        assert certificates == [{'customer_id': '5100055-3', 'environment': 'TEST',
                                 'service_ca_path': '/etc/incomes-register/trust/service-signing-ca.pem',
                                 'issuing_ca_path': '/etc/incomes-register/trust/issuing-ca.pem'}], off
