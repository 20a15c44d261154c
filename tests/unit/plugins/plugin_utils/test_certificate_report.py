"""certificate_report: what certificate_info says about one certificate on disk, from what its module read on the
host (certificate_reads.read); it never raises."""
import datetime
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils'))
import pki_fixtures  # noqa: E402
from pki_fixtures import cert_pem, key_pem, write_private as write  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils._report.certificate_reads import (  # noqa: E402
    read)
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_report  # noqa: E402

NOW = pki_fixtures.NOW
PASSPHRASE = 'report-phrase-9'


def report(params, now=None):
    """The host's reading, described as the controller describes it."""
    return certificate_report.report(read(params), params.get('renew_before_days', 60), now)


@pytest.fixture(scope='module')
def pki():
    return pki_fixtures.make_pki()


@pytest.fixture
def files(pki, tmp_path):
    return dict(cert=write(tmp_path / 'cert.pem', cert_pem(pki['leaf'])),
                key=write(tmp_path / 'key.pem', key_pem(pki['leaf_key'])),
                chain=write(tmp_path / 'issuing.pem', cert_pem(pki['issuing']) + cert_pem(pki['root'])),
                tmp=tmp_path)


def test_a_sound_pair_is_described_and_matches(files):
    result = report(dict(path=files['cert'], private_key_path=files['key'], issuing_ca_path=files['chain']), now=NOW)
    assert result['exists'] is True and result['readable'] is True and result['error'] is None
    assert result['customer_id'] == pki_fixtures.CUSTOMER_ID and result['organisation'] == 'Testi Oy'
    assert result['key_matches'] is True and result['chain_valid'] is True
    assert result['days_remaining'] == 700 and result['in_renewal_window'] is False


def test_a_missing_certificate_is_reported_not_raised(files):
    result = report(dict(path=str(files['tmp'] / 'nope.pem')), now=NOW)
    assert result == dict(path=str(files['tmp'] / 'nope.pem'), exists=False, readable=False, change_mark=None,
                          replaced_at=None, replaced_not_after=None, replaced_days_remaining=None, request=None,
                          set_aside_keys=[], error='No certificate at %s' % (files['tmp'] / 'nope.pem'))


def test_the_change_mark_of_a_replaced_certificate_is_reported(files):
    assert report(dict(path=files['cert']), now=NOW)['change_mark'] is None
    (files['tmp'] / 'cert.pem.changed').write_text('replaced')
    result = report(dict(path=files['cert']), now=NOW)
    assert result['change_mark'] == files['cert'] + '.changed' and result['readable'] is True
    assert result['replaced_at'] is None and result['replaced_not_after'] is None
    assert result['replaced_days_remaining'] is None
    replaced = (NOW + datetime.timedelta(days=20, hours=3)).strftime('%Y-%m-%dT%H:%M:%SZ')
    (files['tmp'] / 'cert.pem.changed').write_text('x\nreplaced_at: 2026-11-20T03:00:12Z\n'
                                                   'replaced_not_after: %s\n' % replaced)
    result = report(dict(path=files['cert']), now=NOW)
    assert (result['replaced_at'], result['replaced_not_after']) == ('2026-11-20T03:00:12Z', replaced)
    # By the clock that gives days_remaining, the host's.
    assert result['replaced_days_remaining'] == 20
    assert report(dict(path=files['cert']), now=NOW + datetime.timedelta(days=21))['replaced_days_remaining'] == -1
    assert report(dict(path=str(files['tmp'] / 'gone.pem')), now=NOW)['change_mark'] is None


def test_a_file_that_is_not_a_certificate_is_unreadable(files):
    path = write(files['tmp'] / 'junk.pem', b'not a certificate\n')
    result = report(dict(path=path), now=NOW)
    assert result['exists'] is True and result['readable'] is False
    assert result['error'].startswith('Cannot parse %s as a certificate' % path)


def test_a_certificate_or_bundle_that_cannot_be_read_is_reported_not_raised(files):
    """A directory (or a file the task may not read) where a certificate should be: the task goes on, so the host's
    other certificates are still reported."""
    result = report(dict(path=str(files['tmp']), private_key_path=files['key']), now=NOW)
    assert result == dict(path=str(files['tmp']), exists=True, readable=False, change_mark=None,
                          replaced_at=None, replaced_not_after=None, replaced_days_remaining=None, request=None,
                          set_aside_keys=[], error='Could not read %s: Is a directory' % files['tmp'])
    assert report(dict(path=files['cert'], issuing_ca_path=str(files['tmp'])), now=NOW)['chain_valid'] is False


def test_another_key_does_not_match(files):
    other = write(files['tmp'] / 'other.pem', key_pem(pki_fixtures.rsa_key('report-other')))
    result = report(dict(path=files['cert'], private_key_path=other), now=NOW)
    assert result['readable'] is True and result['key_matches'] is False and result['error'] is None


def test_an_encrypted_key_needs_its_passphrase(pki, files):
    path = write(files['tmp'] / 'locked.pem', key_pem(pki['leaf_key'], PASSPHRASE))
    locked = report(dict(path=files['cert'], private_key_path=path), now=NOW)
    assert locked['key_matches'] is False and 'passphrase' in locked['error']
    assert PASSPHRASE not in str(locked)
    unlocked = report(dict(path=files['cert'], private_key_path=path, private_key_passphrase=PASSPHRASE), now=NOW)
    assert unlocked['key_matches'] is True and unlocked['error'] is None


def test_a_damaged_key_is_still_compared(pki, files):
    # Only signing needs RSA's consistency check; the report compares the public half.
    path = write(files['tmp'] / 'damaged.pem', pki_fixtures.inconsistent_rsa_pem(pki['leaf_key']))
    result = report(dict(path=files['cert'], private_key_path=path), now=NOW)
    assert result['key_matches'] is True and result['error'] is None


def test_a_missing_key_is_an_error_and_no_match(files):
    path = str(files['tmp'] / 'gone.pem')
    result = report(dict(path=files['cert'], private_key_path=path), now=NOW)
    assert result['readable'] is True and result['key_matches'] is False
    assert result['error'] == 'No private key at %s' % path


def test_a_chain_to_another_ca_or_a_missing_bundle_is_not_valid(files):
    other_root, dummy = pki_fixtures.make_root(cn='Some Other Root', key_label='report-other-root')
    other = write(files['tmp'] / 'other-ca.pem', cert_pem(other_root))
    assert report(dict(path=files['cert'], issuing_ca_path=other), now=NOW)['chain_valid'] is False
    missing = str(files['tmp'] / 'no-bundle.pem')
    assert report(dict(path=files['cert'], issuing_ca_path=missing), now=NOW)['chain_valid'] is False
    assert report(dict(path=files['cert']), now=NOW)['chain_valid'] is None


def test_the_window_follows_renew_before_days(files):
    later = NOW + 650 * pki_fixtures.DAY
    assert report(dict(path=files['cert'], renew_before_days=60), now=later)['in_renewal_window'] is True
    assert report(dict(path=files['cert'], renew_before_days=30), now=later)['in_renewal_window'] is False


def test_the_inventorys_labels_name_a_certificate_the_file_cannot(tmp_path):
    missing = report(dict(path=str(tmp_path / 'gone.pem'), customer_id='1234567-8', environment='PRODUCTION'))
    assert (missing['exists'], missing['customer_id'], missing['environment']) == (False, '1234567-8', 'PRODUCTION')
    garbage = tmp_path / 'garbage.pem'
    garbage.write_bytes(b'not a certificate')
    unreadable = report(dict(path=str(garbage), customer_id='1234567-8', environment='TEST'))
    assert (unreadable['readable'], unreadable['customer_id'], unreadable['environment']) == (False, '1234567-8', 'TEST')
    assert 'customer_id' not in report(dict(path=str(tmp_path / 'gone.pem')))


def module_result(readings, single, now=NOW, renew_before_days=60):
    """What certificate_info's module returns, as the action plugin receives it."""
    return dict(changed=False, readings=readings, single=single, renew_before_days=renew_before_days,
                now=now.isoformat(), invocation=dict(module_args={}))


def test_the_task_result_is_the_report_by_the_hosts_clock(files):
    reading = read(dict(path=files['cert'], private_key_path=files['key']))
    single = certificate_report.task_result(module_result([reading], True))
    assert single == dict(report(dict(path=files['cert'], private_key_path=files['key']), now=NOW),
                          changed=False, invocation=dict(module_args={}))
    assert single['days_remaining'] == 700 and single['key_matches'] is True
    later = certificate_report.task_result(module_result([reading], True, now=NOW + 650 * pki_fixtures.DAY,
                                                         renew_before_days=30))
    assert (later['days_remaining'], later['in_renewal_window']) == (50, False)
    missing = read(dict(path=str(files['tmp'] / 'gone.pem'), customer_id='1234567-8'))
    several = certificate_report.task_result(module_result([reading, missing], False))
    assert set(several) == {'changed', 'invocation', 'results'}
    assert [entry['path'] for entry in several['results']] == [files['cert'], str(files['tmp'] / 'gone.pem')]
    assert several['results'][1]['customer_id'] == '1234567-8' and several['results'][1]['exists'] is False


def test_a_controller_without_a_recent_cryptography_is_told_so():
    assert certificate_report.controller_problem('50.0.2') is None
    assert certificate_report.controller_problem('43.0.0') is None
    assert 'cryptography 43 or later' in certificate_report.controller_problem('41.0.7')
    assert '41.0.7' in certificate_report.controller_problem('41.0.7')
    assert 'cryptography (43 or later)' in certificate_report.controller_problem(None)
    assert certificate_report.controller_problem() is None


def test_what_is_in_flight_is_described_as_read_and_nothing_more(files):
    state = files['tmp'] / 'cert.pem.state.json'
    state.write_text('{"version": 1, "operation": "renew", "phase": "submitted", "retrieval_id": "RID-7", "created": '
                     '"2026-11-20T03:00:02Z", "endpoint": "https://user@ir.example/", "customer_id": "1234567-8"}')
    os.chmod(str(state), 0o600)
    result = report(dict(path=files['cert']), now=NOW)
    assert result['request'] == dict(state_path=str(state), error=None, refused=None, operation='renew',
                                     phase='submitted', retrieval_id='RID-7', created='2026-11-20T03:00:02Z',
                                     updated=None, submitted_at=None, replaces_retrieval_id=None, answer_kept=False,
                                     certificate_kept=False, resubmit_refused=False)
    state.write_text('[]')
    assert set(report(dict(path=files['cert']), now=NOW)['request']) == {'state_path', 'error'}


def test_a_reading_the_controller_did_not_expect_is_described_safely():
    reading = dict(path='/c.pem', exists=False, error='No certificate at /c.pem', certificate=None, change_mark=None,
                   replaced_at=None, replaced_not_after=None,
                   request=dict(state_path='/c.pem.state.json', error=None, phase=3, operation='renew',
                                answer_kept='yes', extra='dropped'),
                   set_aside_keys=['/k.new.unanswered-20261101T030000Z', 5])
    result = certificate_report.report(reading, 60, NOW)
    assert result['request']['phase'] is None and result['request']['answer_kept'] is False
    assert 'extra' not in result['request']
    assert result['set_aside_keys'] == ['/k.new.unanswered-20261101T030000Z']
    # A reading from before the state file was read (no request key at all) is nothing in flight.
    del reading['request'], reading['set_aside_keys']
    result = certificate_report.report(reading, 60, NOW)
    assert result['request'] is None and result['set_aside_keys'] == []
