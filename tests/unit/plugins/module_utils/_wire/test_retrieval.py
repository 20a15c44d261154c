import pytest

from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import service_client as sc
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateNotReady, CertificateServiceError, ResponseRejected, RetrievalPending, ServiceFault, TransportError)
from ansible_collections.incomes_register.certificates.plugins.module_utils._wire.retrieval import wait_for_certificate

CERT = b'0\x82certificate'


class Clock(object):
    """A fake monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def not_ready():
    return CertificateNotReady('GetCertificate', [('PKI008', 'Not ready')])


def transient(processed=True, status=None):
    error = TransportError('The connection broke', request_may_have_been_processed=processed, status_code=status)
    error.retryable = True
    return error


class ScriptedClient(object):
    """Answers get_certificate from a script: exceptions are raised, anything else returned."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def get_certificate(self, customer_id, customer_name, retrieval_id):
        self.calls.append((customer_id, customer_name, retrieval_id))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _wait(client, clock, **kwargs):
    return wait_for_certificate(client, '1234567-8', 'Testi Oy', 'RID-77', sleep=clock.sleep, clock=clock, **kwargs)


def test_polls_with_growing_intervals_until_the_certificate_is_ready():
    clock = Clock()
    client = ScriptedClient(not_ready(), not_ready(), not_ready(), CERT)
    assert _wait(client, clock, initial_delay=15, interval=5) == (CERT, 4)
    assert clock.sleeps == [15, 5, 7.5, 11.25]
    assert client.calls == [('1234567-8', 'Testi Oy', 'RID-77')] * 4


def test_intervals_stop_growing_at_the_maximum():
    clock = Clock()
    client = ScriptedClient(*([not_ready()] * 6 + [CERT]))
    _wait(client, clock, interval=10, backoff=2, max_interval=30, timeout=1000)
    assert clock.sleeps == [10, 20, 30, 30, 30, 30]


def test_an_interval_above_the_maximum_is_kept():
    clock = Clock()
    _wait(ScriptedClient(not_ready(), not_ready(), CERT), clock, interval=60, timeout=1000)
    assert clock.sleeps == [60, 60]


def test_gives_up_at_the_deadline_with_a_way_to_resume():
    clock = Clock()
    client = ScriptedClient(not_ready())
    with pytest.raises(CertificateServiceError) as caught:
        _wait(client, clock, timeout=20, interval=5, backoff=1.5)
    # 0, 5, 12.5 and a last poll at the deadline (20).
    assert clock.sleeps == [5, 7.5, 7.5]
    assert len(client.calls) == 4
    message = caught.value.message
    assert 'RID-77' in message and 'not ready after 4 GetCertificate calls in 20 seconds' in message
    assert 'certificate_retrieve with retrieval_id=RID-77' in message and 'PKI008' in message
    assert caught.value.code == 'PKI008'
    assert not isinstance(caught.value, ServiceFault)
    # Its own type: the renewal role polls in rounds and keeps a host pending on exactly this error.
    assert caught.value.details()['error_type'] == 'RetrievalPending'
    assert isinstance(caught.value, RetrievalPending)


def test_ok_answers_without_a_certificate_are_polled_until_the_deadline(service, trust, responses, proto):
    service.behave(proto.reply(responses.signed('GetCertificateResponse')),
                   proto.reply(responses.signed('GetCertificateResponse', ('Certificate', ''))),
                   proto.reply(responses.certificate(CERT)))
    client = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path, timeout=2)
    assert _wait(client, Clock()) == (CERT, 3)

    service.respond(responses.signed('GetCertificateResponse'))
    clock = Clock()
    with pytest.raises(RetrievalPending) as caught:
        _wait(client, clock, timeout=20, interval=5, backoff=1.5)
    assert clock.sleeps == [5, 7.5, 7.5]
    message = caught.value.message
    assert 'not ready after 4 GetCertificate calls in 20 seconds' in message
    assert 'the service kept answering OK without a certificate' in message
    assert 'answered GetCertificate OK, but without a Certificate' in message
    assert 'certificate_retrieve with retrieval_id=RID-77' in message
    # No code to list: the advice about final_error_codes is for FAIL answers with a code.
    assert 'final_error_codes' not in message and caught.value.code is None


def test_initial_delay_counts_against_the_timeout():
    clock = Clock()
    client = ScriptedClient(not_ready())
    with pytest.raises(CertificateServiceError, match='not ready after 1 GetCertificate calls'):
        _wait(client, clock, timeout=10, initial_delay=30)
    assert clock.sleeps == [10]


def test_transient_failures_are_retried_a_bounded_number_of_times():
    clock = Clock()
    client = ScriptedClient(transient(), transient(status=503), not_ready(), transient(), CERT)
    assert _wait(client, clock, max_transient_errors=2) == (CERT, 5)

    clock = Clock()
    client = ScriptedClient(not_ready(), transient(status=502))
    with pytest.raises(TransportError) as caught:
        _wait(client, clock, max_transient_errors=2, timeout=1000)
    assert len(client.calls) == 4
    assert 'failed 3 times in a row' in caught.value.message and 'retrieval_id=RID-77' in caught.value.message
    assert caught.value.status_code == 502


@pytest.mark.parametrize('final', [
    ServiceFault('GetCertificate', [('PKI009', 'Unknown RetrievalId')]),
    ResponseRejected('bad signature'),
    TransportError('HTTP 302 (redirect to elsewhere)', request_may_have_been_processed=False, status_code=302),
])
def test_final_answers_are_raised_at_once(final):
    clock = Clock()
    client = ScriptedClient(not_ready(), final)
    with pytest.raises(type(final)) as caught:
        _wait(client, clock)
    assert caught.value is final
    assert len(client.calls) == 2


def client_fault():
    error = TransportError('The service answered a SOAP Client fault: RetrievalId unknown',
                           request_may_have_been_processed=False, status_code=500)
    error.soap_fault, error.fault_class, error.retryable = True, 'Client', False
    return error


def http_error(status):
    return TransportError('The service answered HTTP %d.' % status, request_may_have_been_processed=False,
                          status_code=status)


def test_a_client_fault_or_an_http_error_is_polled_through_as_the_public_clients_do():
    # The real "not ready" answer is unknown (certificate-service.md); Java retries any failure.
    clock = Clock()
    client = ScriptedClient(client_fault(), http_error(403), http_error(404), CERT)
    assert _wait(client, clock, max_transient_errors=5) == (CERT, 4)

    # Bounded as transient failures are, so a fault that never passes still ends the wait.
    clock = Clock()
    client = ScriptedClient(client_fault())
    with pytest.raises(TransportError) as caught:
        _wait(client, clock, max_transient_errors=2, timeout=1000)
    assert len(client.calls) == 3 and 'failed 3 times in a row' in caught.value.message

    # A wait that runs out on one is pending, its RetrievalId kept, as one that runs out on a FAIL answer.
    clock = Clock()
    client = ScriptedClient(not_ready(), http_error(429))
    with pytest.raises(RetrievalPending) as pending:
        _wait(client, clock, timeout=20, interval=10)
    assert 'HTTP 429' in pending.value.message


@pytest.mark.parametrize('options', [{'interval': 0}, {'timeout': -1}, {'backoff': 0.5}])
def test_nonsense_options_are_refused(options):
    with pytest.raises(CertificateServiceError):
        _wait(ScriptedClient(CERT), Clock(), **options)


def test_polls_a_real_service_over_https(service, trust, responses, proto):
    service.behave(proto.reply(responses.fail('GetCertificateResponse', ('PKI008', 'Not ready'))),
                   proto.reply(responses.certificate(CERT)))
    client = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path, timeout=2)
    clock = Clock()
    assert _wait(client, clock) == (CERT, 2)
    assert client.calls_made['getCertificate'] == 2
    assert [r.headers['SOAPAction'] for r in service.received] == ['"getCertificate"'] * 2


def test_a_wait_makes_a_bounded_number_of_calls_however_small_the_interval():
    client = ScriptedClient(not_ready())
    with pytest.raises(CertificateServiceError, match='not ready after 100 GetCertificate calls') as caught:
        _wait(client, Clock(), interval=0.001, timeout=10 ** 6)
    assert len(client.calls) == 100
    assert 'nothing one-time is sent again' in caught.value.message
    assert 'final_error_codes' in caught.value.message


def test_fail_answers_without_error_info_are_said_to_be_fail():
    with pytest.raises(RetrievalPending) as caught:
        _wait(ScriptedClient(CertificateNotReady('GetCertificate', [])), Clock(), timeout=5, interval=5)
    assert 'the service kept answering FAIL (last: ' in caught.value.message
