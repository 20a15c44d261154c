import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.incomes_register.certificates.plugins.filter.certificate_entries import (
    FilterModule, certificate_entries)

DEFAULTS = {'customer_id': '1234567-8', 'environment': 'TEST', 'certificate_path': '/etc/ir/certificate.pem',
            'private_key_path': '/etc/ir/key.pem', 'private_key_passphrase': None, 'install_targets': [{'dest': '/x'}]}


def test_no_entries_is_the_single_certificate_of_the_defaults():
    assert certificate_entries([], DEFAULTS) == [DEFAULTS]
    assert certificate_entries(None, DEFAULTS) == [DEFAULTS]


def test_an_entry_wins_over_the_defaults_and_takes_what_it_leaves_out():
    entries = certificate_entries([{'customer_id': '7654321-0', 'certificate_path': '/a.pem'},
                                   {'certificate_path': '/b.pem', 'environment': 'PRODUCTION'}], DEFAULTS)
    assert [entry['certificate_path'] for entry in entries] == ['/a.pem', '/b.pem']
    assert [entry['customer_id'] for entry in entries] == ['7654321-0', '1234567-8']
    assert [entry['environment'] for entry in entries] == ['TEST', 'PRODUCTION']
    assert entries[0]['install_targets'] == [{'dest': '/x'}]


def test_without_skip_empty_an_entry_null_replaces_the_default_as_combine_does():
    entries = certificate_entries([{'customer_id': None}], DEFAULTS)
    assert entries[0]['customer_id'] is None


def test_the_defaults_are_not_changed():
    before = dict(DEFAULTS)
    certificate_entries([{'customer_id': 'x'}], DEFAULTS)
    assert DEFAULTS == before


def test_exclude_leaves_keys_out():
    entries = certificate_entries([{'certificate_path': '/a.pem'}], DEFAULTS, exclude=['install_targets'])
    assert 'install_targets' not in entries[0] and entries[0]['certificate_path'] == '/a.pem'


def test_keys_keeps_only_those_an_entry_has_after_completion():
    entries = certificate_entries([{'certificate_path': '/a.pem', 'endpoint': 'https://x'}], DEFAULTS,
                                  keys=['certificate_path', 'customer_id', 'not_anywhere'])
    assert entries == [{'certificate_path': '/a.pem', 'customer_id': '1234567-8'}]


def test_skip_empty_keeps_the_default_for_an_empty_entry_value_and_drops_empty_results():
    entries = certificate_entries([{'customer_id': '', 'private_key_passphrase': None, 'environment': None}],
                                  DEFAULTS, skip_empty=True)
    assert entries[0]['customer_id'] == '1234567-8'
    assert entries[0]['environment'] == 'TEST'
    assert 'private_key_passphrase' not in entries[0]


def test_skip_empty_keeps_false_and_zero():
    entries = certificate_entries([{'backup': False, 'count': 0}], {}, skip_empty=True)
    assert entries == [{'backup': False, 'count': 0}]


@pytest.mark.parametrize('certificates, message', [
    ('/etc/ir/certificate.pem', 'must be a list of dictionaries, not str'),
    ({'certificate_path': '/a.pem'}, 'must be a list of dictionaries, not dict'),
    ([{'certificate_path': '/a.pem'}, '/b.pem'], 'certificate 2 is not a dictionary but str'),
])
def test_a_malformed_input_is_named(certificates, message):
    with pytest.raises(AnsibleFilterError, match=message):
        certificate_entries(certificates, DEFAULTS)


def test_defaults_must_be_a_dictionary():
    with pytest.raises(AnsibleFilterError, match='defaults must be a dictionary, not list'):
        certificate_entries([], [])


def test_the_filter_is_registered_under_its_name():
    assert FilterModule().filters()['certificate_entries'] is certificate_entries
