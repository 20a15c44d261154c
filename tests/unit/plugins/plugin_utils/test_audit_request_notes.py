"""The audit's note on a request in flight says what the next run does: each state is made by the store and
lifecycle, read as certificate_info reads it, described as expiry_report describes it, and then the next run is
made with a stand-in service, whose calls must be the ones the note promised."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'module_utils'))
import pki_fixtures  # noqa: E402
from test_lifecycle import (  # noqa: E402  pylint: disable=unused-import
    NOW, StandInService, install, issuing, renew_with, submitted_renewal, waiting_public_numbers)
from test_lifecycle import params as lifecycle_params  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils import lifecycle  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils._report import certificate_reads  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (  # noqa: E402
    CertificateExpired, CertificateMissing, CertificateNotReady, CertificateServiceError, ServiceFault, StateError)
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_report  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import expiry_report  # noqa: E402


def audit_row(store):
    reading = certificate_reads.read(dict(path=store.path, private_key_path=store.key_path))
    return expiry_report.build_rows({'app1': [certificate_report.report(reading, 60, NOW)]})[0]


def sent_renewal(store, **fields):
    """A renewal recorded as sent, its answer never read, for the key waiting at .new."""
    submitted_renewal(store, hours_ago=1).clear()
    return store.new_request('renew', customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST',
                             created=(NOW - 3600 * pki_fixtures.DAY / 86400).isoformat(), **fields).advance('sent')


def assert_refused_without_a_call(store, error):
    """The next renew run raises error before it calls the service."""
    service = StandInService(renewal='R-NEW')
    with pytest.raises(error):
        renew_with(store, service)
    assert service.calls_made == {'renewCertificate': 0, 'getCertificate': 0}


def test_a_renewal_submitted_an_hour_ago_is_only_asked_for(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=1)
    row = audit_row(store)
    assert row['status'] == 'renew' and row['request']['phase'] == 'submitted'
    assert 'waits for its certificate (RetrievalId R-OLD): the next renew run asks for it.' in row['note']
    service = StandInService(poll=CertificateNotReady('GetCertificate', [('PKI009', 'not ready')]))
    # As the renewal role's renew task runs it: wait false, one GetCertificate without a wait.
    outcome = lifecycle.renew(store, lambda: service, dict(lifecycle_params(), resubmit_after_hours=24, wait=False),
                              [], dict(timeout=0, initial_delay=0, interval=1), False, now=NOW)
    assert outcome.action == 'pending'
    assert service.calls_made == {'renewCertificate': 0, 'getCertificate': 1}


def test_a_renewal_submitted_over_a_day_ago_is_said_to_be_asked_for_again(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=25)
    assert 'one not issued within resubmit_after_hours (24 by default) of being accepted is asked for again' in \
        audit_row(store)['note']
    service = StandInService(renewal='R-NEW')
    renew_with(store, service)
    assert service.calls_made == {'renewCertificate': 1, 'getCertificate': 1}


def test_a_sent_renewal_is_said_to_be_sent_again_for_the_same_key(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    sent_renewal(store)
    note = audit_row(store)['note']
    assert 'the next renew run sends it again with the same new key' in note
    assert 'A renewal was sent on %s' % (NOW - 3600 * pki_fixtures.DAY / 86400).strftime('%Y-%m-%d %H:%M UTC') in note
    waiting = waiting_public_numbers(store)
    service = StandInService(renewal='R-NEW')
    renew_with(store, service)
    assert service.calls_made == {'renewCertificate': 1, 'getCertificate': 0} and service.keys == [waiting]


def test_a_sent_renewal_refused_when_asked_again_is_said_to_get_a_fresh_key(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    sent_renewal(store)
    waiting = waiting_public_numbers(store)
    with pytest.raises(ServiceFault):
        renew_with(store, StandInService())
    assert store.pending().get(lifecycle.RESUBMIT_REFUSED)
    note = audit_row(store)['note']
    assert 'the next renew run sets that key aside and asks with a fresh one' in note
    # Its time is still when it was first sent, not when the refusal was recorded.
    assert 'A renewal sent on %s' % (NOW - 3600 * pki_fixtures.DAY / 86400).strftime('%Y-%m-%d %H:%M UTC') in note
    service = StandInService(renewal='R-NEW')
    renew_with(store, service)
    assert service.calls_made['renewCertificate'] == 1 and service.keys != [waiting]
    row = audit_row(store)
    assert len(row['set_aside_keys']) == 1 and 'Kept aside by renewals that got no answer' in row['note']


def test_a_sent_renewal_of_an_expired_certificate_is_said_not_to_be_sent(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=-1)
    sent_renewal(store)
    row = audit_row(store)
    assert row['status'] == 'expired' and 'the certificate has expired, so it is not sent again' in row['note']
    assert_refused_without_a_call(store, CertificateExpired)


def test_a_first_certificate_in_flight_names_what_finishes_it_and_a_renew_run_refuses(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    store.new_request('sign', customer_id=pki_fixtures.CUSTOMER_ID, transfer_id='T-1').advance(
        'submitted', retrieval_id='R-SIGN', submitted_at=NOW.isoformat())
    note = audit_row(store)['note']
    assert 'the next enroll run or certificate_retrieve asks for it. The one-time credentials are never sent' in note
    with pytest.raises(StateError, match='first-certificate request'):
        renew_with(store, StandInService())


def test_a_state_file_the_modules_refuse_is_said_to_be_refused(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=1)
    os.chmod(store.state_path, 0o644)
    assert ('A request is recorded in %s, but the next run refuses that file: it has mode 0644, open to group or '
            'others.' % store.state_path) in audit_row(store)['note']
    with pytest.raises(StateError, match='mode 0644'):
        renew_with(store, StandInService())


def test_an_answer_beside_the_file_without_its_digest_is_not_said_to_be_checked(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    sent_renewal(store)
    with open(store.state_path + '.answer.xml', 'w') as handle:
        handle.write('<answer/>')
    row = audit_row(store)
    assert row['request']['answer_kept'] is False and 'sends it again with the same new key' in row['note']
    service = StandInService(renewal='R-NEW')
    renew_with(store, service)
    assert service.calls_made['renewCertificate'] == 1


def test_a_sent_renewal_without_its_certificate_is_said_to_wait_for_the_pair(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    sent_renewal(store)
    os.unlink(store.path)
    row = audit_row(store)
    assert row['status'] == 'missing'
    assert 'a renew run sends it again, with the same new key, once the certificate and its key are in place' in \
        row['note']
    assert_refused_without_a_call(store, CertificateMissing)


def test_a_request_beside_a_certificate_no_run_can_read_is_said_to_stop_there(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=1)
    with open(store.path, 'w') as handle:
        handle.write('not a certificate')
    row = audit_row(store)
    assert row['status'] == 'unreadable' and 'so one that cannot read it stops there' in row['note']
    # What every module run does first (module_support.lifecycle_result).
    with pytest.raises(CertificateServiceError):
        lifecycle.describe_installed(store)


def test_a_submitted_renewal_once_refused_is_said_to_be_asked_again_with_a_fresh_key(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    request = submitted_renewal(store, hours_ago=25)
    request.advance('submitted', **{lifecycle.RESUBMIT_REFUSED: NOW.isoformat()})
    assert 'is asked for again, with a fresh key, this one kept aside' in audit_row(store)['note']
    waiting = waiting_public_numbers(store)
    service = StandInService(renewal='R-NEW')
    renew_with(store, service)
    assert service.calls_made == {'renewCertificate': 1, 'getCertificate': 1} and service.keys != [waiting]
    assert len(audit_row(store)['set_aside_keys']) == 1


def test_a_request_made_for_another_key_path_is_said_to_be_refused(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=1)
    request = store.pending()
    request.advance('submitted', new_key_path=str(tmp_path / 'elsewhere.pem.new'))
    assert 'but the next run refuses that file: it names %r as the key of the request' % (
        str(tmp_path / 'elsewhere.pem.new'),) in audit_row(store)['note']
    with pytest.raises(StateError, match='names'):
        renew_with(store, StandInService())


def test_a_renewal_sent_in_place_of_a_waiting_one_names_it_once_the_certificate_expired(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=-1)
    sent_renewal(store, **{lifecycle.REPLACES: 'R-WAITING'})
    assert 'It was sent in place of RetrievalId R-WAITING' in audit_row(store)['note']
    service = StandInService(poll=CertificateNotReady('GetCertificate', [('PKI009', 'not ready')]))
    # What the note points to: certificate_retrieve with that RetrievalId asks the service for it.
    outcome = lifecycle.retrieve(store, lambda: service, dict(lifecycle_params(), retrieval_id='R-WAITING', wait=False),
                                 [], dict(timeout=0, initial_delay=0, interval=1), False)
    assert outcome.action == 'pending' and service.calls_made['getCertificate'] == 1
