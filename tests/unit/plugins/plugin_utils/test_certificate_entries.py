import os

import pytest
import yaml

from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, service_options
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_entries as entries
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import trust_copy

ROLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'renewal')
ROLE_DEFAULTS = os.path.join(ROLE, 'defaults', 'main.yml')


def variables(**values):
    def variable(name, default):
        return values.get(name, default)
    return variable


def info(variable):
    return entries.role_certificates(variable, entries.INFO_KEYS, entries.INFO_DEFAULTS)


def preflight(variable):
    return entries.role_certificates(variable, entries.PREFLIGHT_KEYS)


def test_a_host_without_the_roles_variables_has_the_roles_default_certificate():
    assert info(variables()) == [{'certificate_path': '/etc/incomes-register/certificate.pem',
                                  'private_key_path': '/etc/incomes-register/private/key.pem'}]
    assert preflight(variables()) == [{
        'environment': 'TEST', 'service_ca_path': '/etc/incomes-register/trust/service-signing-ca.pem',
        'issuing_ca_path': '/etc/incomes-register/trust/issuing-ca.pem',
        'certificate_path': '/etc/incomes-register/certificate.pem',
        'private_key_path': '/etc/incomes-register/private/key.pem'}]


def test_the_defaults_are_the_renewal_roles():
    with open(ROLE_DEFAULTS) as handle:
        role = yaml.safe_load(handle)
    assert entries.ROLE_TRUST_DIR == ('renewal_trust_dir', role['renewal_trust_dir'])
    for key, name, default in entries.ROLE_VARIABLES:
        if key in entries.TRUST_FILES:
            assert default is None and role[name] == '{{ renewal_trust_dir }}/' + entries.TRUST_FILES[key], name
        elif key == 'customer_id':
            # The role has none: vars/main.yml reads it with default('').
            assert default is None and name not in role
        else:
            assert default == role[name], name
    assert set(entries.INFO_KEYS) <= set(entries.PREFLIGHT_KEYS) <= set(entries.RENEW_KEYS)
    # fill_options leaves an option out for a host without its variable: the module's default is the role's.
    module = dict(service_options.SERVICE, **service_options.RETRIEVAL)
    module.update(service_options.STORE, **service_options.TRUST_COPY)
    module.update(argspec.WINDOW)
    for option, name in entries.ROLE_SERVICE_VARIABLES + entries.ROLE_RENEWAL_VARIABLES:
        # The role's empty string is the module's none.
        assert (role[name] if role[name] != '' else None) == module[option].get('default'), name
    assert trust_copy.DEFAULT_FILES == tuple(role['renewal_trust_files'])
    assert trust_copy.DEFAULT_DIR == role['renewal_trust_dir']


def test_the_trust_files_follow_renewal_trust_dir_unless_given():
    got = preflight(variables(renewal_trust_dir='/opt/ir/trust', renewal_issuing_ca_path='/opt/ca/issuing.pem',
                              renewal_customer_id='5100055-3'))
    assert got[0]['service_ca_path'] == '/opt/ir/trust/service-signing-ca.pem'
    assert got[0]['issuing_ca_path'] == '/opt/ca/issuing.pem'


def test_the_single_certificate_variables_and_empty_values():
    got = info(variables(renewal_certificate_path='/srv/c.pem', renewal_private_key_passphrase='',
                         renewal_customer_id='5100055-3', renewal_environment='PRODUCTION'))
    assert got == [{'certificate_path': '/srv/c.pem', 'private_key_path': '/etc/incomes-register/private/key.pem',
                    'customer_id': '5100055-3', 'environment': 'PRODUCTION'}]


def test_every_entry_of_renewal_certificates_over_the_single_variables_with_only_what_certificate_info_takes():
    # As the role completes them: an entry's empty value wins too (the role reads an empty passphrase as none).
    got = info(variables(
        renewal_private_key_passphrase='phrase', renewal_customer_id='5100055-3',
        renewal_certificates=[
            {'customer_id': '5100056-1', 'certificate_path': '/srv/a.pem', 'private_key_path': '/srv/a.key',
             'install_targets': [{'dest': '/x'}], 'restart_services': ['payroll']},
            {'certificate_path': '/srv/b.pem', 'private_key_passphrase': '', 'environment': None},
        ]))
    assert got == [
        {'certificate_path': '/srv/a.pem', 'private_key_path': '/srv/a.key', 'private_key_passphrase': 'phrase',
         'customer_id': '5100056-1'},
        {'certificate_path': '/srv/b.pem', 'private_key_path': '/etc/incomes-register/private/key.pem',
         'customer_id': '5100055-3'},
    ]


@pytest.mark.parametrize('certificates, message', [
    ('/srv/a.pem', 'must be a list of dictionaries, not str'),
    ([{'certificate_path': '/a.pem'}, 7], 'certificate 2 is not a dictionary but int'),
])
def test_a_malformed_renewal_certificates_is_named(certificates, message):
    with pytest.raises(entries.EntryError, match=message):
        info(variables(renewal_certificates=certificates))
    with pytest.raises(entries.EntryError, match=message):
        preflight(variables(renewal_certificates=certificates))


def test_an_entry_key_the_role_does_not_know_is_named_not_left_on_the_roles_default():
    # Without the check, certificate_path misspelt would have left this entry on the role's default path.
    certificates = [{'certificate_path': '/srv/a.pem'},
                    {'certifcate_path': '/srv/b.pem', 'customer_id': '5100056-1', 'key_size': 3072}]
    message = ('certificate 2 has certifcate_path, key_size, which the renewal role does not know '
               '(an entry takes customer_id, customer_name, ')
    for keys in (entries.INFO_KEYS, entries.PREFLIGHT_KEYS, entries.RENEW_KEYS):
        with pytest.raises(entries.EntryError) as raised:
            entries.role_certificates(variables(renewal_certificates=certificates), keys)
        assert str(raised.value).startswith(message)
        assert 'install_targets, restart_services, reload_services)' in str(raised.value)
    # What the role documents but a module does not take is not refused: the role's install deploys it.
    assert info(variables(renewal_certificates=[{'certificate_path': '/srv/a.pem', 'reload_services': ['x'],
                                                 'install_targets': [], 'restart_services': [], 'owner': 'ir'}]))


def test_the_entry_keys_are_the_roles():
    with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as handle:
        spec = yaml.safe_load(handle)
    role = spec['argument_specs']['main']['options']['renewal_certificates']['options']
    assert sorted(entries.ENTRY_KEYS) == sorted(role)


def test_the_preflight_completes_an_entry_as_the_role_does_an_empty_value_staying_empty():
    # The playbook's template used to give an entry's empty passphrase, endpoint or TLS bundle the host's,
    # so an unencrypted key was checked with renewal_private_key_passphrase and failed where the role works.
    got = preflight(variables(
        renewal_private_key_passphrase='phrase', renewal_customer_id='5100055-3', renewal_endpoint='https://a/x',
        renewal_tls_ca_path='/srv/tls.pem', renewal_environment='PRODUCTION', renewal_customer_name='Acme Oy',
        renewal_certificates=[
            {'customer_id': '5100056-1', 'certificate_path': '/srv/a.pem', 'install_targets': [{'dest': '/x'}]},
            {'certificate_path': '/srv/b.pem', 'private_key_passphrase': '', 'endpoint': '', 'tls_ca_path': '',
             'environment': 'TEST'},
        ]))
    trust = {'service_ca_path': '/etc/incomes-register/trust/service-signing-ca.pem',
             'issuing_ca_path': '/etc/incomes-register/trust/issuing-ca.pem'}
    assert got == [
        dict(trust, customer_id='5100056-1', customer_name='Acme Oy', environment='PRODUCTION',
             endpoint='https://a/x', tls_ca_path='/srv/tls.pem', certificate_path='/srv/a.pem',
             private_key_path='/etc/incomes-register/private/key.pem', private_key_passphrase='phrase'),
        dict(trust, customer_id='5100055-3', customer_name='Acme Oy', environment='TEST',
             certificate_path='/srv/b.pem', private_key_path='/etc/incomes-register/private/key.pem'),
    ]


def _random_host(rng):
    """Host variables as an inventory might give them: each single-certificate variable or not, empty or not, and
    renewal_certificates with entries that give some keys, empty or null ones among them."""
    paths = ['/srv/%s.pem' % name for name in 'abc']
    pools = {
        'customer_id': ['5100055-3', '5100056-1', ''], 'customer_name': ['Acme Oy', ''],
        'environment': ['TEST', 'PRODUCTION'], 'endpoint': ['https://127.0.0.1:8443/x', ''],
        'service_ca_path': ['/opt/s.pem', ''], 'issuing_ca_path': ['/opt/i.pem'], 'tls_ca_path': ['/opt/t.pem', ''],
        'certificate_path': paths, 'private_key_path': ['/srv/k.pem'], 'private_key_passphrase': ['phrase', ''],
        'owner': ['ir', ''], 'group': ['ir', ''], 'mode': ['0640', '0644'],
    }
    host = {}
    for key, name, dummy in entries.ROLE_VARIABLES:
        if rng.random() < 0.4:
            host[name] = rng.choice(pools[key])
    if rng.random() < 0.3:
        host['renewal_trust_dir'] = '/opt/trust'
    if rng.random() < 0.6:
        certificates = []
        for dummy in range(rng.randint(0, 3)):
            keys = rng.sample(sorted(pools), rng.randint(0, 4))
            entry = dict((key, rng.choice(pools[key] + [None])) for key in keys)
            if rng.random() < 0.3:
                entry['restart_services'] = ['payroll']
            certificates.append(entry)
        host['renewal_certificates'] = certificates
    return host


def test_the_role_and_role_mode_complete_a_host_alike():
    """The renewal role completes a host's certificates twice: from the single-certificate variables in Jinja
    (vars/main.yml, which the wave and the installation read) and in Python (role_certificates, for the renew task's
    action plugin). They must agree, or the wave would poll for another certificate than the one submitted."""
    import random
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    def trusted(value):
        if isinstance(value, str):
            return trust_as_template(value)
        if isinstance(value, dict):
            return dict((key, trusted(item)) for key, item in value.items())
        if isinstance(value, list):
            return [trusted(item) for item in value]
        return value

    with open(ROLE_DEFAULTS) as handle:
        role = trusted(yaml.safe_load(handle))
    with open(os.path.join(ROLE, 'vars', 'main.yml')) as handle:
        role_vars = yaml.safe_load(handle)
    role.update(trusted(role_vars))
    # What the wave's entries are: the filter (the same function as role mode's) over the role's defaults expression,
    # which is what is compared here.
    assert ' '.join(role_vars['renewal_module_certificates'].split()) == (
        "{{ renewal_certificates | incomes_register.certificates.certificate_entries( renewal_certificate_defaults, "
        "exclude=['install_targets', 'restart_services', 'reload_services']) }}")
    rng = random.Random(15)
    for dummy in range(150):
        host = _random_host(rng)
        variables = dict(role, **host)
        templar = Templar(loader=DataLoader(), variables=variables)
        by_jinja = entries.certificate_entries(
            variables.get('renewal_certificates'), templar.template(trust_as_template('{{ renewal_certificate_defaults }}')),
            exclude=['install_targets', 'restart_services', 'reload_services'])

        def variable(name, default):
            return templar.template(variables[name]) if name in variables else default
        by_python = entries.role_certificates(variable, entries.RENEW_KEYS)
        # Role mode leaves an empty value out, so that the module takes its own; the wave omits it.
        assert by_python == [dict((key, value) for key, value in entry.items() if value not in ('', None))
                             for entry in by_jinja], host
