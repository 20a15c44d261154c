"""lifecycle's decisions that must be taken without calling the service (no client is ever built, but for one
stand-in for a refusal that the sandbox does not give).

The calls themselves, their faults and resumption run against the sandbox in
tests/integration/test_modules.py and test_fault_matrix.py.
"""
import datetime
import os
import sys

import pytest
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pki_fixtures  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils import lifecycle  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils.module_support import wait_options  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils._store.certificate_store import (  # noqa: E402
    CertificateStore)
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (  # noqa: E402
    CertificateExpired, CertificateMissing, CertificateServiceError, RenewalNotAllowed, ServiceFault, StateError,
    TransportError)
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.keys import PrivateKeyError  # noqa: E402

NOW = pki_fixtures.NOW
DAY = pki_fixtures.DAY
# Made from module options as the modules make it, so that a test reaching a poll polls once, at once.
WAIT = wait_options(dict(initial_delay=0, poll_interval=1, wait_timeout=0))


def no_service():
    raise AssertionError('the service must not be called for this decision')


def params(**extra):
    base = dict(customer_id=pki_fixtures.CUSTOMER_ID, customer_name='Testi Oy', environment='TEST',
                renew_before_days=60, key_size=2048, transfer_id='T-1', transfer_password='secret', wait=True)
    base.update(extra)
    return base


@pytest.fixture(scope='module')
def issuing():
    root, root_key = pki_fixtures.make_root()
    return pki_fixtures.make_intermediate(root, root_key)


def install(tmp_path, issuing, days_left, customer_id=pki_fixtures.CUSTOMER_ID, key_pem=None, other_key=False):
    """A certificate that expires days_left days after NOW, and its key (or another one) beside it."""
    issuing_cert, issuing_key = issuing
    key = pki_fixtures.rsa_key('lifecycle-leaf')
    cert, dummy = pki_fixtures.make_leaf(issuing_cert, issuing_key, customer_id=customer_id, key=key,
                                         not_before=NOW - 100 * DAY, not_after=NOW + days_left * DAY)
    (tmp_path / 'private').mkdir(mode=0o700, exist_ok=True)
    cert_path, key_path = tmp_path / 'cert.pem', tmp_path / 'private' / 'key.pem'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key_pem is None:
        written = pki_fixtures.rsa_key('lifecycle-other') if other_key else key
        key_pem = written.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    key_path.write_bytes(key_pem)
    os.chmod(str(key_path), 0o600)
    return CertificateStore(str(cert_path), str(key_path)), key


def renew(store, check_mode=False, **extra):
    return lifecycle.renew(store, no_service, params(**extra), [], WAIT, check_mode, now=NOW)


def assert_untouched(store):
    assert not os.path.exists(store.new_key_path)
    assert not os.path.exists(store.state_path)
    assert not os.path.exists(store.new_cert_path)


def test_outside_the_window_nothing_is_called_and_the_date_is_given(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=90)
    outcome = renew(store)
    assert (outcome.changed, outcome.action, outcome.client) == (False, 'none', None)
    # NOW is 2025-06-01 12:00; 90 days later it expires, and the window opens 60 days before that.
    assert 'valid until 2025-08-30' in outcome.message and 'due from 2025-07-01' in outcome.message, outcome.message
    assert outcome.as_dict()['service_calls'] == {'signNewCertificate': 0, 'renewCertificate': 0,
                                                  'getCertificate': 0}
    assert_untouched(store)


def test_check_mode_inside_the_window_says_it_would_renew_without_calling(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    outcome = renew(store, check_mode=True)
    assert (outcome.changed, outcome.action, outcome.client) == (True, 'renewed', None)
    assert_untouched(store)


def test_check_mode_refuses_a_damaged_key_as_the_real_run_would(tmp_path, issuing):
    key = pki_fixtures.rsa_key('lifecycle-leaf')
    store, dummy = install(tmp_path, issuing, days_left=30, key_pem=pki_fixtures.inconsistent_rsa_pem(key))
    with pytest.raises(PrivateKeyError, match='damaged'):
        renew(store, check_mode=True)
    assert_untouched(store)


@pytest.mark.parametrize('days_left', [-1, 0])
def test_an_expired_certificate_is_refused_without_calling(tmp_path, issuing, days_left):
    store, dummy = install(tmp_path, issuing, days_left=days_left)
    with pytest.raises(CertificateExpired, match='expired'):
        renew(store)
    assert_untouched(store)


def test_renew_before_days_over_60_is_refused(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    with pytest.raises(RenewalNotAllowed, match='1 to 60'):
        renew(store, renew_before_days=61)


def test_a_missing_certificate_or_key_is_refused(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    os.remove(store.key_path)
    with pytest.raises(CertificateMissing, match='private key'):
        renew(store)
    os.remove(store.path)
    with pytest.raises(CertificateMissing, match='no certificate'):
        renew(store)


def test_a_key_of_another_certificate_is_refused(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30, other_key=True)
    with pytest.raises(CertificateServiceError, match='does not belong'):
        renew(store)
    assert_untouched(store)


def test_a_certificate_of_another_customer_is_refused(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30, customer_id='7654321-0')
    with pytest.raises(CertificateServiceError, match='is for customer 7654321-0'):
        renew(store)


def test_a_first_certificate_request_in_flight_blocks_a_renewal(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    store.new_request('sign', customer_id=pki_fixtures.CUSTOMER_ID, transfer_id='T-1').advance('sent')
    with pytest.raises(StateError, match='first-certificate request'):
        renew(store)


def enroll(store, check_mode=False, issuing_bundle=(), **extra):
    return lifecycle.enroll(store, no_service, params(**extra), list(issuing_bundle), WAIT, check_mode, now=NOW)


def test_enroll_over_a_valid_certificate_does_nothing(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=300)
    outcome = enroll(store, issuing_bundle=[issuing[0]])
    assert (outcome.changed, outcome.action, outcome.client) == (False, 'none', None)
    assert 'already installed' in outcome.message


def test_enroll_over_a_valid_certificate_of_another_ca_sends_nothing(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=300)
    other, dummy = pki_fixtures.make_root(cn='Data Providers Production Issuing CA', key_label='lifecycle-other-ca')
    with pytest.raises(CertificateServiceError, match='does not chain to issuing_ca_path.*nothing was sent'):
        enroll(store, check_mode=True, issuing_bundle=[other])
    assert_untouched(store)


@pytest.mark.parametrize('key', ['missing', 'another'])
@pytest.mark.parametrize('check_mode', [True, False])
def test_enroll_over_a_valid_certificate_without_its_key_sends_nothing(tmp_path, issuing, key, check_mode):
    """Its key may be kept in another file (a mistyped private_key_path, two entries given one certificate path):
    a request would spend the credentials and replace a certificate still in use."""
    store, dummy = install(tmp_path, issuing, days_left=300, other_key=key == 'another')
    if key == 'missing':
        os.remove(store.key_path)
    installed = open(store.path, 'rb').read()
    with pytest.raises(CertificateServiceError) as refused:
        enroll(store, check_mode=check_mode, issuing_bundle=[issuing[0]])
    why = 'there is no key at %s' % store.key_path if key == 'missing' else 'the key at %s is not its key' % store.key_path
    assert refused.value.message.startswith('The certificate at %s is valid for %s until ' % (
        store.path, pki_fixtures.CUSTOMER_ID))
    assert refused.value.message.endswith(
        ', but %s. A request would spend the credentials and replace a certificate that may still be in use, so '
        'nothing was sent. If its key is kept in another file, give that file as private_key_path. If the key is '
        'lost, move %s away and run again.' % (why, store.path))
    assert open(store.path, 'rb').read() == installed
    assert not os.path.exists(store.state_path) and not os.path.exists(store.new_key_path)


@pytest.mark.parametrize('days_left, customer_id', [(-1, pki_fixtures.CUSTOMER_ID), (300, '7654321-0')])
def test_enroll_over_an_expired_or_other_customers_certificate_without_its_key_is_not_held_back_by_it(
        tmp_path, issuing, days_left, customer_id):
    store, dummy = install(tmp_path, issuing, days_left=days_left, customer_id=customer_id)
    os.remove(store.key_path)
    outcome = enroll(store, check_mode=True, replace_other_customer=True)
    assert (outcome.changed, outcome.action) == (True, 'requested')


def test_enroll_in_check_mode_calls_nothing(tmp_path):
    store = CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'private' / 'key.pem'))
    outcome = enroll(store, check_mode=True)
    assert (outcome.changed, outcome.action, outcome.client) == (True, 'requested', None)
    assert_untouched(store)


def test_enroll_never_resends_credentials_whose_outcome_is_unknown(tmp_path):
    store = CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'private' / 'key.pem'))
    store.new_request('sign', customer_id=pki_fixtures.CUSTOMER_ID, transfer_id='T-1').advance('sent')
    with pytest.raises(StateError, match='not sent again'):
        enroll(store)
    # New credentials from the e-service are a new request; in check mode it is only announced.
    outcome = enroll(store, check_mode=True, transfer_id='T-2')
    assert (outcome.changed, outcome.action) == (True, 'requested')


def submitted_renewal(store, hours_ago, **fields):
    key = pki_fixtures.rsa_key('lifecycle-new')
    with open(store.new_key_path, 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(store.new_key_path, 0o600)
    fields.setdefault('submitted_at', (NOW - hours_ago * 3600 * DAY / 86400).isoformat())
    return store.new_request('renew', customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST',
                             **fields).advance('submitted', retrieval_id='R-OLD')


def test_a_renewal_waiting_longer_than_resubmit_after_hours_is_asked_again(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=25)
    outcome = renew(store, check_mode=True, resubmit_after_hours=24)
    assert (outcome.changed, outcome.action, outcome.client) == (True, 'renewed', None)
    message = outcome.as_dict()['msg']
    assert message.startswith('RetrievalId R-OLD, submitted ') and ': the renewal is requested again.' in message
    # Check mode only tells: the key and the record of the old request stay.
    assert os.path.exists(store.new_key_path) and store.pending().retrieval_id == 'R-OLD'


class StandInService(object):
    """A service whose answers the sandbox does not give: to GetCertificate `poll` (raised), to RenewCertificate
    `renewal` (raised, or the RetrievalId returned). By default no certificate for the waiting RetrievalId and a
    signed FAIL to a renewal, as the real service may answer if it does not renew a certificate whose renewal is
    waiting, or certify a key twice (certificate-service.md is silent on both)."""
    endpoint = 'https://127.0.0.1:1/certificates'

    def __init__(self, poll=None, renewal=None):
        self.poll = poll or ServiceFault('GetCertificate', [('PKI009', 'not ready')])
        self.renewal = renewal or ServiceFault('RenewCertificate', [('PKI010', 'a renewal is in progress')])
        self.calls_made = {'renewCertificate': 0, 'getCertificate': 0}
        self.keys = []

    def get_certificate(self, customer_id, customer_name, retrieval_id):
        self.calls_made['getCertificate'] += 1
        raise self.poll

    def renew_certificate(self, customer_id, customer_name, csr_der, key, cert):
        from cryptography import x509
        self.calls_made['renewCertificate'] += 1
        self.keys.append(x509.load_der_x509_csr(csr_der).public_key().public_numbers())
        if isinstance(self.renewal, Exception):
            raise self.renewal
        return self.renewal


def renew_with(store, service, **extra):
    return lifecycle.renew(store, lambda: service, params(resubmit_after_hours=24, wait=False, **extra), [], WAIT,
                           False, now=NOW)


def waiting_public_numbers(store):
    return serialization.load_pem_private_key(open(store.new_key_path, 'rb').read(), None).public_key().public_numbers()


def test_a_renewal_asked_again_and_refused_leaves_the_waiting_one_with_its_key(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=25)
    waiting_key = open(store.new_key_path, 'rb').read()
    service = StandInService()
    with pytest.raises(ServiceFault) as raised:
        renew_with(store, service)
    assert service.calls_made == {'renewCertificate': 1, 'getCertificate': 1}
    assert service.keys == [waiting_public_numbers(store)], 'asked again for the waiting key'
    assert store.pending().retrieval_id == 'R-OLD' and store.pending().phase == 'submitted'
    assert open(store.new_key_path, 'rb').read() == waiting_key
    assert ('The renewal of RetrievalId R-OLD stays recorded, with its key %s: the next run polls it again and, still '
            'without a certificate, asks again with a fresh key.' % store.new_key_path) in raised.value.message

    # The next time it is given up: a fresh key, in case the service refuses a key it was asked to certify before.
    service = StandInService(renewal='R-NEW')
    outcome = renew_with(store, service)
    assert (outcome.action, outcome.retrieval_id) == ('pending', 'R-NEW')
    assert service.calls_made == {'renewCertificate': 1, 'getCertificate': 1}
    assert open(store.new_key_path, 'rb').read() != waiting_key
    assert service.keys == [waiting_public_numbers(store)]
    assert store.pending().retrieval_id == 'R-NEW' and not store.pending().get(lifecycle.RESUBMIT_REFUSED)
    # The given-up key is kept aside: its certificate may still come.
    aside = '%s.unanswered-%s' % (store.new_key_path, NOW.strftime('%Y%m%dT%H%M%SZ'))
    assert open(aside, 'rb').read() == waiting_key and os.stat(aside).st_mode & 0o777 == 0o600
    assert 'The key of RetrievalId R-OLD is kept at %s in case its certificate still comes.' % aside in \
        outcome.as_dict()['msg']


def killed_while_giving_up(store, monkeypatch):
    """The waiting renewal refused when asked again, then a run killed after it set the waiting key aside and
    before it cleared the record; returns the path the key was set aside at."""
    with pytest.raises(ServiceFault):
        renew_with(store, StandInService())
    set_aside = store.set_aside_new_key

    def set_aside_then_die(now):
        set_aside(now)
        raise KeyboardInterrupt('killed')
    monkeypatch.setattr(store, 'set_aside_new_key', set_aside_then_die)
    with pytest.raises(KeyboardInterrupt):
        renew_with(store, StandInService(renewal='R-NEW'))
    monkeypatch.undo()
    return '%s.unanswered-%s' % (store.new_key_path, NOW.strftime('%Y%m%dT%H%M%SZ'))


def test_a_run_killed_while_giving_up_a_refused_renewal_leaves_no_key_a_later_refusal_could_delete(
        tmp_path, issuing, monkeypatch):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=25)
    waiting_key = open(store.new_key_path, 'rb').read()
    aside = killed_while_giving_up(store, monkeypatch)
    assert open(aside, 'rb').read() == waiting_key and not os.path.lexists(store.new_key_path)
    assert store.pending().retrieval_id == 'R-OLD', 'the record outlives the key it names'

    # The rerun gives up the record whose key is gone and asks with a fresh key; refused, that key alone goes.
    service = StandInService()
    with pytest.raises(ServiceFault):
        renew_with(store, service)
    assert service.calls_made == {'renewCertificate': 1, 'getCertificate': 1}
    assert service.keys and service.keys != [serialization.load_pem_private_key(waiting_key, None).public_key()
                                             .public_numbers()]
    assert open(aside, 'rb').read() == waiting_key


class IssuingService(StandInService):
    """StandInService whose GetCertificate answers with a certificate for the key of the last renewal sent (not
    ready before one is sent), or, given key, for that key."""

    def __init__(self, issuing, key=None, **options):
        super(IssuingService, self).__init__(**options)
        self.issuing, self.key, self.public_key = issuing, key, None

    def get_certificate(self, customer_id, customer_name, retrieval_id):
        public_key = self.key.public_key() if self.key is not None else self.public_key
        if public_key is None:
            return super(IssuingService, self).get_certificate(customer_id, customer_name, retrieval_id)
        self.calls_made['getCertificate'] += 1
        cert = pki_fixtures.make_cert(pki_fixtures.name(customer_id, 'Testi Oy'), public_key,
                                      self.issuing[0].subject, self.issuing[1])
        return cert.public_bytes(serialization.Encoding.DER)

    def renew_certificate(self, customer_id, customer_name, csr_der, key, cert):
        from cryptography import x509
        self.public_key = x509.load_der_x509_csr(csr_der).public_key()
        return super(IssuingService, self).renew_certificate(customer_id, customer_name, csr_der, key, cert)


def renew_and_install(store, service, issuing, **extra):
    return lifecycle.renew(store, lambda: service, params(resubmit_after_hours=24, **extra), [issuing[0]],
                           dict(timeout=1, initial_delay=0, interval=0.01), False, now=NOW)


def test_the_key_of_a_record_killed_while_given_up_is_taken_back_when_its_certificate_comes(
        tmp_path, issuing, monkeypatch):
    """A run killed after it set the waiting key aside and before it cleared the record: should the certificate of
    that record come after all, its key is the one set aside."""
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=25)
    waiting_key = serialization.load_pem_private_key(open(store.new_key_path, 'rb').read(), None)
    aside = killed_while_giving_up(store, monkeypatch)
    other = store.new_key_path + '.unanswered-20250101T000000Z'
    with open(other, 'wb') as handle:
        handle.write(keys_pem(pki_fixtures.rsa_key('lifecycle-other')))
    os.chmod(other, 0o600)

    service = IssuingService(issuing, key=waiting_key)
    outcome = renew_and_install(store, service, issuing)
    assert (outcome.action, outcome.changed) == ('renewed', True)
    assert service.calls_made == {'renewCertificate': 0, 'getCertificate': 1}
    assert store.private_key().public_key().public_numbers() == waiting_key.public_key().public_numbers()
    assert store.pending() is None and not os.path.lexists(aside) and not os.path.lexists(other)
    message = outcome.as_dict()['msg']
    assert 'The key of this certificate was the one set aside at %s by an earlier run' % aside in message
    assert 'Removed %s, set aside for a renewal that got no answer' % other in message


def test_a_key_set_aside_in_the_run_that_installs_the_fresh_keys_certificate_is_removed_as_such(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=25)
    with pytest.raises(ServiceFault):
        renew_with(store, StandInService())
    service = IssuingService(issuing, renewal='R-NEW')
    outcome = renew_and_install(store, service, issuing)
    assert (outcome.action, outcome.changed) == ('renewed', True)
    assert service.calls_made == {'renewCertificate': 1, 'getCertificate': 2}
    aside = '%s.unanswered-%s' % (store.new_key_path, NOW.strftime('%Y%m%dT%H%M%SZ'))
    assert not os.path.lexists(aside) and store.pending() is None
    message = outcome.as_dict()['msg']
    assert 'The key of RetrievalId R-OLD is kept at %s in case its certificate still comes.' % aside in message
    assert ("The fresh key's certificate is installed, so the key set aside above is not needed any more and was "
            "removed.") in message
    assert 'Removed %s' % aside not in message


def keys_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_a_stale_renewal_whose_key_cannot_sign_is_given_up_without_keeping_the_key(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=25)
    with open(store.new_key_path, 'wb') as handle:
        handle.write(pki_fixtures.inconsistent_rsa_pem(pki_fixtures.rsa_key('lifecycle-new')))
    service = StandInService(renewal='R-NEW')
    outcome = renew_with(store, service)
    assert (outcome.action, outcome.retrieval_id) == ('pending', 'R-NEW')
    assert service.keys == [waiting_public_numbers(store)]
    assert sorted(os.listdir(os.path.dirname(store.new_key_path))) == ['key.pem', 'key.pem.new'], 'nothing kept aside'
    assert 'kept at' not in outcome.as_dict()['msg']


@pytest.mark.parametrize('processed', [False, True])
def test_a_resubmission_that_fails_in_transport(tmp_path, issuing, processed):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=25)
    waiting_key = open(store.new_key_path, 'rb').read()
    service = StandInService(renewal=TransportError('The connection broke', request_may_have_been_processed=processed))
    with pytest.raises(TransportError):
        renew_with(store, service)
    assert open(store.new_key_path, 'rb').read() == waiting_key
    if processed:
        # It may have gone out: the new request (the same key) is what the rerun sends again.
        assert store.pending().phase == 'sent' and store.pending().retrieval_id is None
        # The waiting RetrievalId it was asked in place of stays on record; when the resend is refused, that one is
        # again the renewal that waits, for this very key, and is polled once more before it is given up.
        assert store.pending().get(lifecycle.REPLACES) == 'R-OLD'
        with pytest.raises(ServiceFault) as refused:
            renew_with(store, StandInService())
        assert 'The renewal of RetrievalId R-OLD stays recorded, with its key' in refused.value.message
        waiting = store.pending()
        assert (waiting.phase, waiting.retrieval_id) == ('submitted', 'R-OLD') and waiting.get(lifecycle.RESUBMIT_REFUSED)
        assert waiting.get('submitted_at') == (NOW - 25 * 3600 * DAY / 86400).isoformat()
        assert open(store.new_key_path, 'rb').read() == waiting_key
        service = StandInService(renewal='R-NEW')
        outcome = renew_with(store, service)
        assert service.calls_made == {'renewCertificate': 1, 'getCertificate': 1}
        assert ('The key of RetrievalId R-OLD is kept at %s.unanswered-%s in case its certificate still comes.'
                % (store.new_key_path, NOW.strftime('%Y%m%dT%H%M%SZ'))) in outcome.as_dict()['msg']
        assert store.pending().retrieval_id == 'R-NEW' and not store.pending().get(lifecycle.REPLACES)
    else:
        assert store.pending().retrieval_id == 'R-OLD' and store.pending().phase == 'submitted'
        assert not store.pending().get(lifecycle.RESUBMIT_REFUSED)


def test_an_http_error_to_the_last_poll_lets_the_renewal_be_asked_again(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=25)
    forbidden = TransportError('The service answered HTTP 403 Forbidden.', request_may_have_been_processed=False,
                               status_code=403)
    service = StandInService(poll=forbidden, renewal='R-NEW')
    outcome = renew_with(store, service)
    assert service.calls_made == {'renewCertificate': 1, 'getCertificate': 1}
    assert store.pending().retrieval_id == 'R-NEW'
    assert ': the renewal is requested again.' in outcome.as_dict()['msg']

    # A network failure is not an answer: the run fails, the request kept.
    submitted_renewal(store, hours_ago=25)
    service = StandInService(poll=TransportError('Could not connect', request_may_have_been_processed=False))
    with pytest.raises(TransportError):
        renew_with(store, service)
    assert service.calls_made == {'renewCertificate': 0, 'getCertificate': 1}
    assert store.pending().retrieval_id == 'R-OLD'


def test_a_stale_renewal_of_a_certificate_no_longer_due_is_not_said_to_be_asked_again(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    submitted_renewal(store, hours_ago=25)
    outcome = renew_with(store, StandInService(), renew_before_days=10)
    assert outcome.action == 'none' and 'requested again' not in outcome.as_dict()['msg']
    assert store.pending().retrieval_id == 'R-OLD'


@pytest.mark.parametrize('hours_ago, days_left, hours, fields', [
    (23, 30, 24, {}),                           # still inside the bound: polled as before
    (25, 30, None, {}),                         # no bound given
    (25, -1, 24, {}),                           # expired: the pending request is the only way left
    (25, 30, 24, {'submitted_at': 'garbled'}),  # an unreadable time is never taken as old
])
def test_a_renewal_in_flight_is_kept_otherwise(tmp_path, issuing, hours_ago, days_left, hours, fields):
    store, dummy = install(tmp_path, issuing, days_left=days_left)
    submitted_renewal(store, hours_ago=hours_ago, **fields)
    outcome = renew(store, check_mode=True, resubmit_after_hours=hours)
    assert (outcome.changed, outcome.action) == (True, 'renewed'), 'what the real run reports once it is in'

    assert 'requested again' not in outcome.as_dict()['msg']


def test_an_answer_that_holds_a_secret_is_never_kept(tmp_path):
    from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import ResponseRejected
    store = CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem'))
    request = store.new_request('sign', customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST')
    request.save()
    echoed = ResponseRejected('The response was signed by someone else.')
    echoed.answer = b'<Envelope>... <TransferPassword>secret</TransferPassword> ...</Envelope>'
    lifecycle._keep_answer(request, echoed, ['secret'])
    assert not os.path.exists(request.answer_path)
    assert echoed.message == 'The response was signed by someone else.'
    escaped = ResponseRejected('The response was signed by someone else.')
    escaped.answer = b'<Envelope><Echo>a&lt;b&amp;&quot;c</Echo></Envelope>'
    lifecycle._keep_answer(request, escaped, ['a<b&"c'])
    assert not os.path.exists(request.answer_path)

    plain = ResponseRejected('The response was signed by someone else.')
    plain.answer = b'<Envelope><RetrievalId>R-1</RetrievalId></Envelope>'
    lifecycle._keep_answer(request, plain, ['secret'])
    assert request.kept_answer() == plain.answer
    assert plain.message.startswith('The response was signed by someone else. The answer is kept at %s'
                                    % request.answer_path)
    request.clear()
    assert not os.path.exists(request.answer_path) and not os.path.exists(request.path)


@pytest.mark.parametrize('submitted_seconds_ago, delay, expected', [
    (3600, 30, 0),        # a request of an earlier run has had its time
    (10, 30, 20),         # only the rest of it
    (0, 30, 30),          # just submitted: all of it
    (-600, 30, 30),       # a clock that went back never lengthens it
    (None, 30, 30),       # no submission time recorded: all of it
    (3600, 0, 0),
])
def test_the_initial_delay_counts_from_the_submission(tmp_path, submitted_seconds_ago, delay, expected):
    import datetime
    store = CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem'))
    fields = dict(customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST')
    if submitted_seconds_ago is not None:
        fields['submitted_at'] = (NOW - datetime.timedelta(seconds=submitted_seconds_ago)).isoformat()
    request = store.new_request('renew', **fields)
    options = dict(timeout=300, initial_delay=delay, interval=10)
    assert lifecycle._waited_since_submission(request, options, now=NOW) == dict(options, initial_delay=expected)


def test_a_new_request_that_spends_nothing_puts_the_replaced_one_back_in_one_write(tmp_path):
    store = CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem'))
    earlier = store.new_request('sign', customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST', transfer_id='T-0')
    earlier.advance('sent')
    later = store.new_request('sign', customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST', transfer_id='T-1',
                              earlier_transfer_ids=['T-0'])
    later.save()
    removed = []
    real_clear = later.clear
    later.clear = lambda: removed.append(True) or real_clear()

    def refused():
        raise ServiceFault('SignNewCertificate', [('PKI001', 'wrong password')])
    with pytest.raises(ServiceFault):
        lifecycle._submit(later, refused, lifecycle.Outcome(), replaced=earlier)
    assert removed == [], 'never a moment without the state file'
    assert store.pending().get('transfer_id') == 'T-0' and store.pending().phase == 'sent'


def test_a_transfer_id_sent_before_is_recognised_with_spaces_around_it(tmp_path):
    """A state file of an earlier version recorded a pasted TransferID as given, spaces and all."""
    store = CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'private' / 'key.pem'))
    (tmp_path / 'private').mkdir(mode=0o700)
    store.new_request('sign', customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST', transfer_id='T-1 ').advance(
        'sent')
    with pytest.raises(StateError, match='TransferID T-1 were sent in an earlier run'):
        enroll(store, transfer_id='T-1')


def test_enroll_over_a_certificate_installed_within_the_not_before_leeway_does_nothing(tmp_path, issuing):
    """Installed a moment after issue by a service whose clock is ahead: still this issuing CA's certificate."""
    issuing_cert, issuing_key = issuing
    key = pki_fixtures.rsa_key('lifecycle-leaf')
    cert, dummy = pki_fixtures.make_leaf(issuing_cert, issuing_key, key=key, not_before=NOW + datetime.timedelta(
        minutes=3), not_after=NOW + 700 * DAY)
    store, dummy = install(tmp_path, issuing, days_left=300)
    (tmp_path / 'cert.pem').write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    outcome = enroll(store, issuing_bundle=[issuing_cert])
    assert (outcome.changed, outcome.action) == (False, 'none') and 'already installed' in outcome.message


def test_a_certificate_whose_files_could_not_be_written_is_kept_with_a_recorded_request(tmp_path):
    """The service has issued it; a chown or write refused on this host must not lose it."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import LocalFileError
    store = CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem'))
    request = store.new_request('renew', customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST')
    request.advance('submitted', retrieval_id='RID-9')

    def refused(*args):
        raise LocalFileError('Could not write %s: Operation not permitted' % store.new_cert_path)
    store.complete = refused
    with pytest.raises(LocalFileError) as caught:
        lifecycle._install_retrieved(store, request, b'DER of the issued certificate', pki_fixtures.CUSTOMER_ID, [])
    assert 'Operation not permitted. The certificate of RetrievalId RID-9 is kept' in caught.value.message
    assert store.pending().kept_certificate() == b'DER of the issued certificate'


class RefusingClient(object):
    """A service that answers RenewCertificate FAIL."""
    endpoint = 'https://127.0.0.1:1/2017/10/CertificateServices'

    def __init__(self):
        self.calls_made = {'renewCertificate': 0}

    def renew_certificate(self, *args):
        self.calls_made['renewCertificate'] += 1
        raise ServiceFault('RenewCertificate', [('PKI777', 'Refused')])


@pytest.mark.parametrize('earlier', [None, 'prepared', 'sent'])
def test_a_refused_renewal_keeps_a_new_key_that_an_earlier_run_may_have_got_certified(tmp_path, issuing, earlier):
    """A FAIL throws the new key away, unless an earlier run sent a renewal for it and lost the answer: the service
    may have issued a certificate for that key, which is of no use without it. The next run then asks with a fresh
    key, the earlier one set aside: the service may refuse a key it was asked to certify before, and asking for the
    same one on every run would go on until the certificate expired."""
    store, dummy = install(tmp_path, issuing, days_left=30)
    if earlier:
        store.new_private_key(2048)
        recorded = store.new_request('renew', customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST',
                                     endpoint=RefusingClient.endpoint)
        recorded.save()
        if earlier == 'sent':
            recorded.advance('sent')
        kept = open(store.new_key_path, 'rb').read()
    client = RefusingClient()
    with pytest.raises(ServiceFault) as caught:
        lifecycle.renew(store, lambda: client, params(), [], WAIT, False, now=NOW)
    assert client.calls_made == {'renewCertificate': 1}
    if not earlier:
        assert not os.path.exists(store.state_path), 'a refusal spends nothing: nothing stays in flight'
        assert not os.path.exists(store.new_key_path)
        assert 'got no answer' not in caught.value.message
        return
    assert open(store.new_key_path, 'rb').read() == kept
    assert ('An earlier run asked for a certificate for the key %s and got no answer, so the service may have issued '
            'one: the next run keeps that key aside and asks again with a fresh key.' % store.new_key_path
            ) in caught.value.message
    # The earlier request's outcome is still unknown: its record stays, with the refusal.
    assert store.pending().phase == earlier and store.pending().get(lifecycle.RESUBMIT_REFUSED) == NOW.isoformat()

    service = StandInService()
    later = NOW + DAY
    with pytest.raises(ServiceFault) as caught:
        lifecycle.renew(store, lambda: service, params(), [], WAIT, False, now=later)
    aside = '%s.unanswered-%s' % (store.new_key_path, later.strftime('%Y%m%dT%H%M%SZ'))
    assert open(aside, 'rb').read() == kept and os.stat(aside).st_mode & 0o777 == 0o600
    assert service.calls_made == {'renewCertificate': 1, 'getCertificate': 0}
    kept_numbers = serialization.load_pem_private_key(kept, None).public_key().public_numbers()
    assert service.keys and service.keys[0] != kept_numbers, 'asked with a fresh key'
    assert caught.value.message.startswith(
        'A renewal sent by an earlier run got no answer, and the service refused it when it was asked again for the '
        'same key: a fresh key is asked for now. The earlier key is kept at %s in case the service did issue a '
        'certificate for it.' % aside)
    # The fresh key was refused as any first renewal is: nothing stays in flight, and the next run starts afresh.
    assert not os.path.exists(store.state_path) and not os.path.exists(store.new_key_path)

    service = StandInService(renewal='R-NEW')
    outcome = lifecycle.renew(store, lambda: service, params(wait=False), [], WAIT, False, now=later)
    assert (outcome.action, outcome.retrieval_id) == ('pending', 'R-NEW')
    assert service.keys == [waiting_public_numbers(store)] and service.keys[0] != kept_numbers
    assert open(aside, 'rb').read() == kept


def test_an_unanswered_renewal_set_aside_by_a_run_killed_before_it_sent_is_asked_afresh(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    store.new_private_key(2048)
    store.new_request('renew', customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST',
                      endpoint=RefusingClient.endpoint).advance('sent', **{lifecycle.RESUBMIT_REFUSED: NOW.isoformat()})
    # Killed after the key was set aside: the record is still there, with no key.
    aside = store.set_aside_new_key(NOW)
    service = StandInService(renewal='R-NEW')
    outcome = lifecycle.renew(store, lambda: service, params(wait=False), [], WAIT, False, now=NOW + DAY)
    assert (outcome.action, outcome.retrieval_id) == ('pending', 'R-NEW')
    assert 'kept at' not in outcome.as_dict()['msg']
    assert os.path.exists(aside) and service.keys == [waiting_public_numbers(store)]


def test_check_mode_predicts_the_fresh_key_without_setting_the_unanswered_one_aside(tmp_path, issuing):
    store, dummy = install(tmp_path, issuing, days_left=30)
    store.new_private_key(2048)
    store.new_request('renew', customer_id=pki_fixtures.CUSTOMER_ID, environment='TEST',
                      endpoint=RefusingClient.endpoint).advance('sent', **{lifecycle.RESUBMIT_REFUSED: NOW.isoformat()})
    kept = open(store.new_key_path, 'rb').read()
    outcome = renew(store, check_mode=True)
    assert (outcome.changed, outcome.action, outcome.client) == (True, 'renewed', None)
    assert open(store.new_key_path, 'rb').read() == kept and store.pending().phase == 'sent'
    assert sorted(os.listdir(os.path.dirname(store.new_key_path))) == ['key.pem', 'key.pem.new'], 'nothing set aside'
    assert outcome.as_dict()['msg'].startswith(
        'A renewal sent by an earlier run got no answer, and the service refused it when it was asked again for the '
        'same key: a real run sets that key aside and asks with a fresh one.')
