"""Enroll and renew against the sandbox as the real service is known to behave (certificate-service.md):
SOAP-ENV envelope with an empty Header, &#13;-wrapped base64, a response signer under a services issuing
CA (trust file root + intermediate), ~20 s until a certificate is ready, and until then a FAIL answer
whose code the client has never been told about."""
import pytest
from irsandbox.testing import RunningSandbox
from module_helpers import CUSTOMER, calls_delta, issued_pair, operation_counts, service_args

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UNSEEN_CODE = 'PKI517'
DELAY = 20


@pytest.fixture(scope='module')
def slow_service(tmp_path_factory):
    with RunningSandbox(str(tmp_path_factory.mktemp('slow-sandbox')), retrieval_delay=DELAY, profile='real',
                        not_ready_code=UNSEEN_CODE, not_ready_message='Varmenne ei ole vielä valmis') as running:
        yield running


def _slow_args(service, tmp_path, **extra):
    # Polls at about 5, 8, 12.5, 19 and 29 s: the first four meet the "not yet" answer.
    options = dict(initial_delay=5, poll_interval=3, wait_timeout=90)
    options.update(extra)
    return service_args(service, tmp_path, **options)


def _trust_holds_root_and_intermediate(service):
    from cryptography import x509
    with open(service.service_ca_pem, 'rb') as handle:
        bundle = x509.load_pem_x509_certificates(handle.read())
    assert len(bundle) == 2 and bundle[0].issuer == bundle[1].subject


def test_enroll_then_renew_with_an_unseen_not_ready_code_and_a_slow_service(slow_service, run_module, tmp_path):
    _trust_holds_root_and_intermediate(slow_service)
    transfer_id, transfer_password = slow_service.subscribe(CUSTOMER, 'Example Oy', 'TEST')
    args = _slow_args(slow_service, tmp_path, transfer_id=transfer_id, transfer_password=transfer_password)
    before = operation_counts(slow_service)
    run, result = run_module('certificate_request', args)
    assert run.returncode == 0, run
    assert result['changed'] is True and result['action'] == 'requested', result.get('msg')
    calls = calls_delta(before, operation_counts(slow_service))
    assert calls['signNewCertificate'] == 1
    assert calls['getCertificate'] > 1, 'the sandbox never answered "not yet"'
    assert result['service_calls'] == calls

    renewal = tmp_path / 'renewal'
    renewal.mkdir()
    issued_pair(slow_service, renewal, expires_in_days=30)
    before = operation_counts(slow_service)
    run, result = run_module('certificate_renew', _slow_args(slow_service, renewal))
    assert run.returncode == 0, run
    assert result['changed'] is True and result['action'] == 'renewed', result.get('msg')
    calls = calls_delta(before, operation_counts(slow_service))
    assert calls['renewCertificate'] == 1 and calls['getCertificate'] > 1
    assert result['certificate']['days_remaining'] > 700


def test_a_code_named_final_stops_the_wait_at_once(slow_service, run_module, tmp_path):
    transfer_id, transfer_password = slow_service.subscribe('2345678-9', 'Toinen Oy', 'TEST')
    args = _slow_args(slow_service, tmp_path, customer_id='2345678-9', transfer_id=transfer_id,
                      transfer_password=transfer_password, initial_delay=0, final_error_codes=[UNSEEN_CODE])
    before = operation_counts(slow_service)
    run, result = run_module('certificate_request', args)
    assert result.get('failed') is True, result
    assert result['error_type'] == 'ServiceFault' and result['error_code'] == UNSEEN_CODE
    assert 'certificate_retrieve' in result['msg'] and 'nothing one-time is sent again' in result['msg']
    assert calls_delta(before, operation_counts(slow_service))['getCertificate'] == 1
    # The request stays recorded: a later run only retrieves.
    run, result = run_module('certificate_retrieve', dict(
        (k, v) for k, v in args.items() if k not in ('transfer_id', 'transfer_password', 'final_error_codes')))
    assert run.returncode == 0, run
    assert result['changed'] is True and result['action'] == 'retrieved', result.get('msg')
    assert calls_delta(before, operation_counts(slow_service))['signNewCertificate'] == 1
