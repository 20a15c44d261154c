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
