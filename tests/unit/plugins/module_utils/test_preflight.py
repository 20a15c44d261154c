"""The preflight's checks against a local HTTPS service signed by the test PKI (see conftest)."""
import datetime
import re

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from ansible_collections.incomes_register.certificates.plugins.module_utils import module_support, preflight

NOW = datetime.datetime.now(datetime.timezone.utc)


def write(path, *certs):
    path.write_bytes(b''.join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs))
    return str(path)


def write_key(path, key, passphrase=None):
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return str(path)


@pytest.fixture
def params(service, pki, tmp_path, proto):
    return dict(environment='TEST', endpoint=service.url, customer_id=proto.CUSTOMER_ID, customer_name=None,
                service_ca_path=write(tmp_path / 'service.pem', pki.service_ca, pki.service_root),
                issuing_ca_path=write(tmp_path / 'issuing.pem', pki.issuing_ca), tls_ca_path=service.tls_ca_path,
                validate_certs=True, proxy=None, timeout=5, service_signer_pattern=None, path=None,
                private_key_path=None, private_key_passphrase=None, max_clock_skew=300)


def run(params):
    checks = preflight.run(params, client_factory=module_support.build_client)
    return checks, dict((item['name'], item) for item in checks)


def test_a_verified_fail_answer_passes_and_the_only_request_is_a_get_with_a_random_id(params, service, responses):
    service.respond(responses.fail('GetCertificateResponse', ('PKI009', 'Unknown RetrievalId')))
    checks, named = run(params)
    assert [(item['name'], item['status']) for item in checks if item['status'] != 'ok'] == [
        ('certificate', 'skipped'), ('certificate_chain', 'skipped')]
    assert 'answered FAIL (PKI009)' in named['signed_answer']['message']
    assert len(service.received) == 1 and service.received[0].headers['SOAPAction'] == '"getCertificate"'
    request = etree.fromstring(service.received[0].body)
    retrieval_id = request.findtext('.//RetrievalId')
    assert re.match(r'^[0-9a-f]{32}$', retrieval_id)
    assert preflight.summary(checks) == (True, 'Preflight passed: 12 checks, 10 ok, 0 warnings, 2 skipped')


def test_a_verified_ok_answer_without_a_certificate_is_said_as_it_was(params, service, responses):
    service.respond(responses.signed('GetCertificateResponse'))
    checks, named = run(params)
    assert named['signed_answer']['status'] == 'ok'
    assert named['signed_answer']['message'].startswith(
        'GetCertificate for an unknown RetrievalId answered OK without a Certificate, and the XML signature')


def test_the_client_trusts_the_service_ca_file_as_it_was_checked(params, service, responses, pki, tmp_path):
    # The file is replaced between the trust check and the service call: the answer is verified with the
    # certificates the report names, not with whatever the file holds by then.
    service.respond(responses.fail('GetCertificateResponse', ('PKI009', 'Unknown RetrievalId')))

    def factory(checked_params, service_certs, issuing_certs):
        write(tmp_path / 'service.pem', pki.issuing_ca)
        return module_support.build_client(checked_params, service_certs, issuing_certs)

    named = dict((item['name'], item) for item in preflight.run(params, client_factory=factory))
    assert 'Test Service Signing CA' in named['service_ca_path']['message']
    assert named['signed_answer']['status'] == 'ok', named['signed_answer']['message']


def test_a_service_trust_file_without_the_signers_intermediate_names_it(params, service, responses, pki, tmp_path):
    service.respond(responses.fail('GetCertificateResponse', ('PKI009', 'Unknown RetrievalId')))
    params['service_ca_path'] = write(tmp_path / 'root-only.pem', pki.service_root)
    checks, named = run(params)
    answer = named['signed_answer']
    assert answer['status'] == 'fail'
    assert answer['message'].startswith('The answer of the service cannot be trusted: The response was signed by '
                                        'CN=pkiws-test signer,C=FI, issued by CN=Test Service Signing CA,C=FI, which is '
                                        'not in service_ca_path (it holds CN=Test Service Root CA,C=FI). If')
    assert "issuing CA" not in answer['message'].split('publishes it')[1]
    passed, message = preflight.summary(checks)
    assert passed is False and message.startswith('Preflight failed 1 of 12 checks: signed_answer: The answer')


def test_an_http_error_reaches_the_host_but_is_no_signed_answer(params, service):
    service.respond(b'<html>Not here</html>', status=404)
    checks, named = run(params)
    assert named['reachability']['status'] == 'ok'
    assert named['signed_answer']['status'] == 'fail'
    assert named['signed_answer']['message'] == ('The service at %s answered HTTP 404 Not Found. Check that endpoint '
                                                 'is the URL of the certificate service.' % service.url)


def test_an_unverifiable_https_certificate_says_to_set_tls_ca_path(params, service):
    params['tls_ca_path'] = service.other_ca_path
    checks, named = run(params)
    assert named['reachability']['message'].startswith(
        'The HTTPS certificate of 127.0.0.1:%d could not be verified with tls_ca_path %s. Set tls_ca_path'
        % (service.server.server_address[1], service.other_ca_path))
    assert service.received == []


def test_unusable_trust_files_fail_and_skip_the_service_checks(params, pki, proto, tmp_path, service):
    params['service_ca_path'] = str(tmp_path / 'absent.pem')
    (tmp_path / 'junk.pem').write_text('not a certificate')
    params['issuing_ca_path'] = str(tmp_path / 'junk.pem')
    checks, named = run(params)
    assert named['service_ca_path'] == dict(name='service_ca_path', status='fail',
                                            message='No file at %s (service_ca_path).' % params['service_ca_path'])
    assert named['issuing_ca_path']['message'] == '%s (issuing_ca_path) holds no PEM certificate.' % (
        tmp_path / 'junk.pem')
    for name in preflight.SERVICE_CHECKS:
        assert named[name] == dict(name=name, status='skipped', message=(
            'Not checked: service_ca_path must be fixed first, the client needs it (see service_ca_path).'))
    assert service.received == []


def test_a_ca_expiring_soon_warns_and_an_expired_one_fails(proto, tmp_path):
    key = proto.rsa_key('service-root')
    soon = proto.cert('Soon Root', key, ca=True, key_usage='ca', days=(-300, 20))
    gone = proto.cert('Gone Root', key, ca=True, key_usage='ca', days=(-300, -2))
    # X.509 times have no fraction of a second: compared with NOW itself, a certificate made in NOW's second
    # would have 19 days and 23:59:59.x left.
    now = NOW.replace(microsecond=0)
    item, certs = preflight.check_trust_file('service_ca_path', write(tmp_path / 'soon.pem', soon), now)
    assert item['status'] == 'warn' and certs == [soon]
    assert 'CN=Soon Root,C=FI expires on ' in item['message'] and 'in 20 days' in item['message']
    item, certs = preflight.check_trust_file('issuing_ca_path', write(tmp_path / 'gone.pem', soon, gone), now)
    assert item['status'] == 'fail' and certs is None
    assert 'CN=Gone Root,C=FI expired on ' in item['message']
    assert item['message'].endswith('Replace it with the current CA certificates.')


@pytest.mark.parametrize('offset,status,text', [
    (0, 'ok', "differs from the service's by 0 seconds (at most 300 allowed)"),
    (-90, 'warn', "is 90 seconds ahead of the service's"),
    (400, 'fail', "is 400 seconds behind the service's"),
])
def test_the_clock_is_compared_with_the_date_header(offset, status, text):
    service_time = NOW.replace(microsecond=0) + datetime.timedelta(seconds=offset)
    header = service_time.strftime('%a, %d %b %Y %H:%M:%S GMT')
    item = preflight._clock_check(header, NOW.replace(microsecond=0), 300)
    assert item['status'] == status and text in item['message']


def test_without_a_date_header_the_clock_is_a_warning_not_a_failure():
    assert preflight._clock_check(None, NOW, 300)['status'] == 'warn'
    item = preflight._clock_check('yesterday', NOW, 300)
    assert item['status'] == 'warn' and "'yesterday' cannot be read" in item['message']


def test_the_installed_pair_is_checked_and_a_passphrase_never_shows(params, pki, proto, tmp_path):
    params['path'] = write(tmp_path / 'cert.pem', pki.customer_cert)
    params['private_key_path'] = write_key(tmp_path / 'key.pem', pki.customer_key, 'key-secret-44')
    params['private_key_passphrase'] = 'key-secret-44'
    certificate, chain = preflight.check_installed(params, [pki.issuing_ca], NOW)
    assert certificate['status'] == 'ok' and 'its private key matches' in certificate['message']
    assert chain == dict(name='certificate_chain', status='ok', message=(
        'The installed certificate chains to issuing_ca_path: CN=Data Providers Test Issuing CA v1,C=FI <- '
        'CN=1234567-8,C=FI.'))

    params['private_key_passphrase'] = 'wrong-secret-45'
    certificate, chain = preflight.check_installed(params, [pki.issuing_ca], NOW)
    assert certificate['status'] == 'fail' and 'passphrase is wrong' in certificate['message']
    assert 'secret' not in certificate['message'] and chain['status'] == 'skipped'

    params.update(private_key_path=write_key(tmp_path / 'other.pem', proto.rsa_key('other')),
                  private_key_passphrase=None, customer_id='7654321-0')
    certificate, chain = preflight.check_installed(params, [pki.service_root], NOW)
    assert certificate['status'] == 'fail'
    assert 'it is for customer 1234567-8, not for customer_id 7654321-0' in certificate['message']
    assert 'does not belong to it, so the service would refuse a renewal' in certificate['message']
    assert chain['status'] == 'fail'
    assert 'Add the certificate of CN=Data Providers Test Issuing CA v1,C=FI, the CA that issued it, to ' \
           'issuing_ca_path' in chain['message']


def test_without_cryptography_everything_else_is_skipped_with_the_reason(params, monkeypatch):
    monkeypatch.setattr(preflight.dependencies, 'import_error',
                        lambda name: 'Traceback...\nImportError: no %s here' % name if name == 'cryptography' else None)
    checks, named = run(params)
    assert named['python_cryptography']['status'] == 'fail'
    assert 'ImportError: no cryptography here' in named['python_cryptography']['message']
    assert [item['status'] for item in checks[4:]] == ['skipped'] * 8
    assert named['signed_answer']['message'] == (
        'Not checked: it needs cryptography, missing on this host (see python_cryptography).')
