import os

import pytest
import yaml

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_entries as entries

ROLE_DEFAULTS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'renewal', 'defaults', 'main.yml')


def variables(**values):
    def variable(name, default):
        return values.get(name, default)
    return variable


def test_a_host_without_the_roles_variables_has_the_roles_default_certificate():
    assert entries.role_certificates(variables()) == [{'certificate_path': '/etc/incomes-register/certificate.pem',
                                                       'private_key_path': '/etc/incomes-register/private/key.pem'}]


def test_the_defaults_are_the_renewal_roles():
    with open(ROLE_DEFAULTS) as handle:
        role = yaml.safe_load(handle)
    for key, name, default in entries.ROLE_VARIABLES:
        if key in ('certificate_path', 'private_key_path'):
            assert default == role[name], name
        else:
            # The role's empty passphrase is none; its TEST environment would label a production host's missing
            # certificate, so the audit leaves the environment to the certificate.
            assert default is None and name in role or name == 'renewal_customer_id', name
    assert entries.ROLE_RENEW_BEFORE_DAYS == ('renewal_renew_before_days', role['renewal_renew_before_days'])


def test_the_single_certificate_variables_and_empty_values():
    got = entries.role_certificates(variables(renewal_certificate_path='/srv/c.pem', renewal_private_key_passphrase='',
                                              renewal_customer_id='5100055-3', renewal_environment='PRODUCTION'))
    assert got == [{'certificate_path': '/srv/c.pem', 'private_key_path': '/etc/incomes-register/private/key.pem',
                    'customer_id': '5100055-3', 'environment': 'PRODUCTION'}]


def test_every_entry_of_renewal_certificates_over_the_single_variables_with_only_what_certificate_info_takes():
    # As the role completes them: an entry's empty value wins too (the role reads an empty passphrase as none).
    got = entries.role_certificates(variables(
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
        entries.role_certificates(variables(renewal_certificates=certificates))
