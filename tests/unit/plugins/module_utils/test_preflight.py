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


# ---- review fixes: nothing sent is a failure, a SOAP fault a warning, several certificates per run ----------

@pytest.mark.parametrize('change,cause', [
    (dict(endpoint='http://127.0.0.1:1/x'), 'the service client cannot be set up (endpoint must be an https:// URL'),
    (dict(customer_id=''), 'the GetCertificate request cannot be built (customer_id must not be empty'),
    (dict(endpoint='https://ops:pw@127.0.0.1:1/x'),
     'the service client cannot be set up (endpoint must not hold a user name or password'),
])
def test_a_client_or_request_that_cannot_be_made_fails_the_service_checks(params, service, change, cause):
    params.update(change)
    checks, named = run(params)
    assert [named[name]['status'] for name in preflight.SERVICE_CHECKS] == ['fail'] * 3
    assert named['reachability']['message'].startswith('Nothing was sent: ' + cause)
    assert named['reachability']['message'].endswith('A renewal would stop there too: fix the option it names.')
    assert named['reachability']['message'].count('Nothing was sent') == 1
    assert named['clock_skew']['message'] == 'Not compared: nothing could be sent to the service (see reachability).'
    passed, message = preflight.summary(checks)
    assert passed is False and message.startswith('Preflight failed 3 of 12 checks: reachability: Nothing was sent')
    assert service.received == []


@pytest.mark.parametrize('option', ['service_ca_path', 'issuing_ca_path'])
def test_a_required_trust_file_left_empty_fails_instead_of_being_skipped(params, service, option):
    params[option] = ''
    checks, named = run(params)
    assert named[option]['status'] == 'fail'
    assert named[option]['message'].startswith('%s is not set: ' % option)
    assert preflight.summary(checks)[0] is False


def test_an_unset_tls_ca_path_is_still_skipped_with_certifi_named():
    item, certs = preflight.check_trust_file('tls_ca_path', None, NOW)
    assert item['status'] == 'skipped' and 'certifi' in item['message'] and certs is None


@pytest.mark.parametrize('status', [500, 200])
def test_a_soap_fault_answer_warns_that_the_signature_was_not_exercised(params, service, proto, status):
    service.respond(proto.soap_fault('Unknown RetrievalId', code='S:Client'), status=status)
    checks, named = run(params)
    assert named['reachability']['status'] == 'ok'
    assert named['clock_skew']['status'] == 'ok'
    answer = named['signed_answer']
    assert answer['status'] == 'warn', answer['message']
    assert answer['message'].startswith('The certificate service refused the GetCertificate request as it was sent '
                                        'and did not act on it (SOAP fault S:Client: Unknown RetrievalId).')
    assert 'endpoint is a SOAP service and was reached' in answer['message']
    assert "the XML signature of the service's answers was not verified" in answer['message']
    assert 'Renewals verify every answer anyway' in answer['message']
    passed, message = preflight.summary(checks)
    assert passed is True and message.endswith('1 warning, 2 skipped (signed_answer)')


@pytest.mark.parametrize('status', [400, 404])
def test_a_soap_fault_with_a_4xx_fails_as_a_gateway_at_a_wrong_path_would(params, service, proto, status):
    service.respond(proto.soap_fault('No such service', code='S:Client'), status=status)
    checks, named = run(params)
    answer = named['signed_answer']
    assert answer['status'] == 'fail', answer['message']
    assert 'with a SOAP fault S:Client: No such service' in answer['message']
    assert answer['message'].endswith('Check that endpoint is the URL of the certificate service.')


def test_an_http_error_that_is_no_soap_fault_still_fails(params, service):
    service.respond(b'<html>Internal trouble</html>', status=500)
    checks, named = run(params)
    assert named['signed_answer']['status'] == 'fail'
    assert named['signed_answer']['message'].endswith('Check that endpoint is the URL of the certificate service.')


def test_several_certificates_each_over_the_task_options_and_one_lacking_a_customer_fails_alone(
        params, service, responses, pki, proto, tmp_path):
    service.respond(responses.fail('GetCertificateResponse', ('PKI009', 'Unknown RetrievalId')))
    cert = write(tmp_path / 'cert.pem', pki.customer_cert)
    params['customer_id'] = None
    params['certificates'] = [
        dict(customer_id=proto.CUSTOMER_ID, path=cert, environment='', endpoint=None),
        dict(customer_id='7654321-0', endpoint='http://127.0.0.1:1/x'),
        dict(environment='PRODUCTION'),
    ]
    items = preflight.results(params, client_factory=module_support.build_client)
    assert [(item['index'], item['passed'], item['failed']) for item in items] == [
        (0, True, False), (1, False, True), (2, False, True)]
    assert items[0]['environment'] == 'TEST' and items[0]['path'] == cert and items[0]['endpoint'] == service.url
    assert preflight.certificate_label(items[0]) == '1234567-8 TEST %s' % cert
    assert [check['status'] for check in items[0]['checks']][-3:] == ['ok'] * 3
    second = dict((check['name'], check['status']) for check in items[1]['checks'])
    assert second['reachability'] == 'fail' and second['certificate'] == 'skipped'
    assert preflight.certificate_label(items[1]) == '7654321-0 TEST http://127.0.0.1:1/x'
    assert items[2]['checks'] == [] and items[2]['msg'].startswith(
        "This certificate has no customer_id: give it in its entry of certificates or as the task's option")
    # One GetCertificate: the second entry's endpoint is unusable and the third was not checked.
    assert len(service.received) == 1
    passed, message = preflight.summary_many(items)
    assert passed is False
    assert message.startswith('Preflight failed for 2 of 3 certificates: 7654321-0 TEST http://127.0.0.1:1/x: '
                              'Preflight failed 3 of 12 checks: reachability: Nothing was sent')
    assert ' | PRODUCTION %s: This certificate has no customer_id' % service.url in message
    assert 'passphrase' not in str(items)


def test_several_certificates_that_pass_say_so_per_certificate(params, service, responses):
    service.respond(responses.fail('GetCertificateResponse', ('PKI009', 'Unknown RetrievalId')))
    params['certificates'] = [dict(), dict(customer_name='Other Oy')]
    items = preflight.results(params, client_factory=module_support.build_client)
    assert preflight.summary_many(items) == (True, (
        'Preflight passed for 2 certificates: 1234567-8 TEST %s: Preflight passed: 12 checks, 10 ok, 0 warnings, '
        '2 skipped | 1234567-8 TEST %s: Preflight passed: 12 checks, 10 ok, 0 warnings, 2 skipped'
        % (service.url, service.url)))


def test_an_entry_with_a_key_but_no_certificate_is_refused(params, service):
    params['certificates'] = [dict(private_key_path='/nowhere/key.pem')]
    items = preflight.results(params, client_factory=module_support.build_client)
    assert items[0]['failed'] is True and items[0]['checks'] == []
    assert items[0]['msg'].startswith('This certificate has private_key_path but no path')
    assert service.received == []


def test_without_installed_leaves_out_the_tasks_and_every_entrys_certificate_and_key_only():
    params = {'customer_id': '5100055-3', 'path': '/srv/c.pem', 'private_key_path': '/srv/k.pem',
              'private_key_passphrase': 'phrase', 'certificates': [
                  {'customer_id': '5100056-1', 'path': '/srv/a.pem', 'certificate_path': '/srv/a.pem',
                   'private_key_path': '/srv/a.key', 'private_key_passphrase': 'other', 'environment': 'TEST'}]}
    kept = preflight.without_installed(params)
    assert kept == {'customer_id': '5100055-3', 'path': None, 'private_key_path': None,
                    'private_key_passphrase': None, 'certificates': [{'customer_id': '5100056-1',
                                                                      'environment': 'TEST'}]}
    assert params['path'] == '/srv/c.pem' and params['certificates'][0]['path'] == '/srv/a.pem'
    assert preflight.without_installed(dict(params, certificates=None))['certificates'] is None
