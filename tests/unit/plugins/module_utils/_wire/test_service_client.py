import base64
import datetime
import email.utils
import os
import socket

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier

from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import service_client as sc
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateNotReady, CertificateServiceError, LocalFileError, RequestValidationError, ResponseRejected,
    ServiceFault, TransportError)

PASSWORD = 'Pw-0123456789abc'


@pytest.fixture(scope='module')
def csr(proto):
    return proto.csr_der(proto.rsa_key('new-customer'))


@pytest.fixture
def client(service, trust):
    return sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path, timeout=2)


def _request_of(received):
    body = etree.fromstring(received.body).find('{http://schemas.xmlsoap.org/soap/envelope/}Body')
    return body[0]


# ---- endpoints and trust bundles ---------------------------------------------------------------------------

def test_a_client_checks_its_settings(service, trust, tmp_path):
    with pytest.raises(CertificateServiceError, match='service_ca_path'):
        sc.CertificateServiceClient(service.url, 'TEST', [])
    with pytest.raises(LocalFileError, match='tls_ca_path'):
        sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=str(tmp_path / 'missing.pem'))
    with pytest.raises(RequestValidationError, match='https://'):
        sc.CertificateServiceClient(service.url.replace('https:', 'http:'), 'TEST', trust)
    with pytest.raises(RequestValidationError, match='environment'):
        sc.CertificateServiceClient(service.url, 'STAGING', trust)


# ---- the three operations ----------------------------------------------------------------------------------

def test_sign_new_certificate_posts_the_contract_request(client, service, responses, csr, proto):
    service.respond(responses.retrieval_id('RID-1001'))
    assert client.sign_new_certificate(proto.CUSTOMER_ID, 'Testi Oy', 'TID-1', PASSWORD, csr) == 'RID-1001'
    (received,) = service.received
    assert received.path == '/2017/10/CertificateServices'
    assert received.headers['Content-Type'] == 'text/xml; charset=utf-8'
    assert received.headers['SOAPAction'] == '"signNewCertificate"'
    assert received.headers['Accept-Encoding'] == 'identity'
    assert _request_of(received).findtext('TransferPassword') == PASSWORD
    assert client.calls_made == {'signNewCertificate': 1, 'getCertificate': 0, 'renewCertificate': 0}


def test_get_certificate_returns_der(client, service, responses, pki, proto):
    der = pki.customer_cert.public_bytes(serialization.Encoding.DER)
    service.respond(responses.certificate(der))
    assert client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1001') == der
    assert service.received[0].headers['SOAPAction'] == '"getCertificate"'
    assert _request_of(service.received[0]).findtext('RetrievalId') == 'RID-1001'


def test_any_fail_to_get_certificate_is_not_ready_unless_its_code_is_final(client, service, responses, proto, trust):
    """The real service's not-ready code is unknown: no code the sandbox invented may decide."""
    service.behave(proto.reply(responses.fail('GetCertificateResponse', ('PKI123', 'Not there yet'))),
                   proto.reply(responses.fail('GetCertificateResponse', ('PKI009', 'Unknown RetrievalId'))))
    for code in ('PKI123', 'PKI009'):
        with pytest.raises(CertificateNotReady) as caught:
            client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
        assert caught.value.codes == [code]
    final = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path, timeout=2,
                                        final_codes=['PKI009'])
    service.behave(proto.reply(responses.fail('GetCertificateResponse', ('PKI008', 'Not ready'),
                                              ('PKI009', 'Unknown RetrievalId'))))
    with pytest.raises(ServiceFault) as caught:
        final.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert not isinstance(caught.value, CertificateNotReady)
    assert 'PKI009: Unknown RetrievalId. Check environment, customer_id and the RetrievalId' in caught.value.message


def test_the_date_of_the_last_answer_is_kept_even_for_a_fail_or_an_error(client, service, responses, proto):
    """The preflight compares the host's clock with it; a FAIL to GetCertificate is its usual answer."""
    def answer_date():
        return email.utils.parsedate_to_datetime(client.last_response_date)

    assert client.last_response_date is None
    service.respond(responses.fail('GetCertificateResponse', ('PKI009', 'Unknown RetrievalId')))
    with pytest.raises(CertificateNotReady):
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert abs(datetime.datetime.now(datetime.timezone.utc) - answer_date()) < datetime.timedelta(seconds=5)
    service.respond(b'<html>busy</html>', status=503)
    with pytest.raises(TransportError, match='HTTP 503'):
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert abs(datetime.datetime.now(datetime.timezone.utc) - answer_date()) < datetime.timedelta(seconds=5)
    service.behave(proto.close_without_answer)
    with pytest.raises(TransportError, match='broke before a response arrived'):
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert client.last_response_date is None


def test_a_refusal_with_an_empty_retrieval_id_is_the_services_refusal(client, service, responses, proto, csr, pki):
    """A FAIL that carries <RetrievalId/> is a refusal with its codes, not an untrusted answer that would
    leave the one-time credentials looking possibly spent."""
    service.behave(proto.reply(responses.signed('SignNewCertificateResponse', ('RetrievalId', ''), status='FAIL',
                                                errors=[('PKI123', 'Refused')])),
                   proto.reply(responses.signed('RenewCertificateResponse', ('RetrievalId', ''), status='FAIL',
                                                errors=[('PKI124', 'Refused')])))
    with pytest.raises(ServiceFault) as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    assert caught.value.codes == ['PKI123']
    with pytest.raises(ServiceFault) as caught:
        client.renew_certificate(proto.CUSTOMER_ID, None, csr, pki.customer_key, pki.customer_cert)
    assert caught.value.codes == ['PKI124']


def test_advice_never_presents_a_sandbox_code_as_the_real_services(client, service, responses, proto, csr):
    service.respond(responses.fail('SignNewCertificateResponse', ('PKI003', 'Wrong credentials'),
                                   ('PKI777', 'Something new')))
    with pytest.raises(ServiceFault) as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    message = caught.value.message
    assert 'PKI003: Wrong credentials; PKI777: Something new' in message
    assert 'TransferID and TransferPassword from the secure email' in message
    assert "(In the collection's sandbox, PKI003 means:" in message
    assert 'PKI777 means' not in message


def test_white_space_before_the_xml_declaration_does_not_lose_a_signed_answer(client, service, responses, proto, csr):
    service.respond(b'\r\n  ' + responses.retrieval_id('RID-SPACE'))
    assert client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr) == 'RID-SPACE'


def test_an_answer_from_elsewhere_gets_no_sandbox_meanings(client, service, responses, proto, csr, monkeypatch):
    """The real service's PKI003 may mean something else: its answers get the operation's next step only."""
    asked = []
    monkeypatch.setattr(sc, 'on_this_machine', lambda endpoint: asked.append(endpoint) and False)
    service.respond(responses.fail('SignNewCertificateResponse', ('PKI003', 'Wrong credentials')))
    with pytest.raises(ServiceFault) as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    assert asked == [client.endpoint]
    assert 'TransferID and TransferPassword from the secure email' in caught.value.message
    assert "collection's sandbox" not in caught.value.message


@pytest.mark.parametrize('endpoint, here', [
    ('https://127.0.0.1:8443/2017/10/CertificateServices', True),
    ('https://127.8.9.10/x', True),
    ('https://[::1]:8443/x', True),
    ('https://LOCALHOST./x', True),
    ('https://pkiws.vero.fi/2017/10/CertificateServices', False),
    ('https://10.0.0.5/x', False),
    ('https://[::2]/x', False),
    ('https://ir-sandbox:8443/x', False),
    ('', False),
])
def test_only_a_loopback_endpoint_counts_as_the_sandboxs(endpoint, here):
    assert sc.on_this_machine(endpoint) is here


def test_renew_certificate_sends_a_request_signed_with_the_current_key(client, service, responses, pki, csr, proto):
    seen = []

    def check_and_answer(handler, body):
        request = _request_of(type('R', (), {'body': body}))
        seen.append(XMLVerifier().verify(request, x509_cert=pki.customer_cert,
                                         expect_config=SignatureConfiguration(location='./')).signed_xml)
        proto.reply(responses.retrieval_id('RID-2002', 'RenewCertificateResponse'))(handler, body)
    service.behave(check_and_answer)
    assert client.renew_certificate(proto.CUSTOMER_ID, 'Testi Oy', csr, pki.customer_key, pki.customer_cert) == \
        'RID-2002'
    assert service.received[0].headers['SOAPAction'] == '"renewCertificate"'
    assert base64.b64decode(seen[0].findtext('CertificateRequest')) == csr


def test_ok_without_a_retrieval_id_is_rejected(client, service, responses, pki, csr, proto):
    service.behave(proto.reply(responses.signed('RenewCertificateResponse')),
                   proto.reply(responses.signed('SignNewCertificateResponse', ('RetrievalId', ''))))
    with pytest.raises(ResponseRejected, match='RenewCertificate OK without a RetrievalId'):
        client.renew_certificate(proto.CUSTOMER_ID, None, csr, pki.customer_key, pki.customer_cert)
    with pytest.raises(ResponseRejected, match='SignNewCertificate OK without a RetrievalId'):
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)


@pytest.mark.parametrize('payload', [None, ('Certificate', '')], ids=['absent', 'empty'])
def test_get_certificate_ok_without_a_certificate_is_not_ready(client, service, responses, proto, payload):
    """The real "not ready" answer is unknown; the public Java client polls again on a null certificate."""
    service.respond(responses.signed('GetCertificateResponse', payload))
    with pytest.raises(CertificateNotReady) as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.message == ('The certificate service answered GetCertificate OK, but without a '
                                    'Certificate: taken as not issued yet.')
    assert caught.value.code is None and caught.value.errors == []


def test_a_secret_echoed_by_the_service_is_redacted(client, service, responses, csr, proto):
    service.respond(responses.fail('SignNewCertificateResponse', ('PKI003', 'Wrong password %s' % PASSWORD)))
    with pytest.raises(ServiceFault) as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value.details())
    assert 'Wrong password ********' in caught.value.message
    assert caught.value.code == 'PKI003'


# ---- what the transport refuses ----------------------------------------------------------------------------

@pytest.mark.parametrize('status, processed', [(301, False), (302, False), (303, True), (307, False), (308, False)])
def test_redirects_are_not_followed(client, service, proto, status, processed):
    # 303 See Other is what a server answers after it acted on a POST.
    service.respond(b'', status=status, headers={'Location': 'https://127.0.0.1:9/elsewhere'})
    with pytest.raises(TransportError, match='HTTP %d .*redirects are not followed' % status) as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.request_may_have_been_processed is processed and caught.value.status_code == status
    assert ('may have been processed' in caught.value.message) is processed
    assert len(service.received) == 1


def test_oversize_responses_are_refused(service, trust, responses, proto):
    client = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path, timeout=2,
                                         max_response_bytes=2000)
    service.behave(proto.reply(b'x' * 3000), proto.reply_without_length(b'<a>' + b'y' * 5000 + b'</a>'))
    with pytest.raises(ResponseRejected, match='announced a 3000-byte response'):
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    with pytest.raises(ResponseRejected, match='longer than the accepted 2000 bytes'):
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')


def test_connection_closed_after_the_request_may_have_been_processed(client, service, csr, proto):
    service.behave(proto.close_without_answer)
    with pytest.raises(TransportError, match='broke before a response arrived') as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    assert caught.value.request_may_have_been_processed is True
    assert caught.value.retryable is True
    assert len(service.received) == 1 and PASSWORD not in caught.value.message


def test_a_truncated_response_may_have_been_processed(client, service, responses, proto):
    service.respond(responses.retrieval_id()[:200], content_length=5000)
    with pytest.raises(TransportError, match='broke off before it was complete') as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.request_may_have_been_processed is True


def test_a_read_timeout_may_have_been_processed(service, trust, responses, proto):
    client = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path,
                                         timeout=0.3)
    service.behave(service.stall(5, responses.retrieval_id()))
    with pytest.raises(TransportError, match='did not answer within 0.3 seconds') as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.request_may_have_been_processed is True and caught.value.retryable is True


def test_a_submission_waits_for_its_answer_longer_than_timeout(service, trust, responses, csr, proto, pki):
    # Giving up on a submission loses its RetrievalId (and may spend the credentials): its answer gets
    # SUBMISSION_READ_TIMEOUT. GetCertificate, which only reads, keeps the timeout.
    client = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path,
                                         timeout=0.3)
    service.behave(service.stall(1.0, responses.retrieval_id()))
    assert client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    service.behave(service.stall(1.0, responses.retrieval_id(name='RenewCertificateResponse')))
    assert client.renew_certificate(proto.CUSTOMER_ID, None, csr, pki.customer_key, pki.customer_cert)
    service.behave(service.stall(1.0, responses.retrieval_id(name='GetCertificateResponse')))
    with pytest.raises(TransportError, match='did not answer within'):
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')


def _closed_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def test_refused_connection_was_not_processed(trust, csr, proto):
    client = sc.CertificateServiceClient('https://127.0.0.1:%d/2017/10/CertificateServices' % _closed_port(),
                                         'TEST', trust, timeout=2)
    with pytest.raises(TransportError, match='Could not connect') as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    assert caught.value.request_may_have_been_processed is False and caught.value.retryable is True
    assert client.calls_made['signNewCertificate'] == 1


def test_a_tls_failure_after_the_request_went_out_may_have_been_processed(client, service, csr, proto):
    # The request arrives in full; then something on the way (a middlebox, a broken record) answers bytes
    # that are not TLS. The service may have acted on it, so the credentials must count as maybe spent.
    def answer_outside_tls(handler, request_body):
        raw = socket.socket(fileno=handler.connection.detach())
        raw.sendall(b'HTTP/1.1 502 Bad Gateway\r\n\r\n')
        raw.close()
        handler.close_connection = True
        handler.wfile = handler.rfile = open(os.devnull, 'r+b')
    service.behave(answer_outside_tls)
    with pytest.raises(TransportError) as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    assert len(service.received) == 1
    assert caught.value.request_may_have_been_processed is True, caught.value.message
    assert 'nothing was sent' not in caught.value.message and 'may have been processed' in caught.value.message


def test_an_unverifiable_server_certificate_names_the_option(service, trust, responses, proto):
    service.respond(responses.retrieval_id())
    wrong_ca = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.other_ca_path)
    with pytest.raises(TransportError, match='could not be verified.*tls_ca_path.*tls_ca_bundle') as caught:
        wrong_ca.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert 'CERTIFICATE_VERIFY_FAILED' in caught.value.message
    assert caught.value.request_may_have_been_processed is False
    assert service.received == []
    unverified = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_verify=False,
                                             tls_ca_bundle=service.other_ca_path)
    with pytest.warns(Warning, match='Unverified HTTPS request'):
        with pytest.raises(ResponseRejected, match='instead of GetCertificateResponse'):
            unverified.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')


def test_a_soap_fault_was_not_processed(client, service, proto):
    service.respond(proto.soap_fault('Request is not valid XML'), status=500)
    with pytest.raises(TransportError, match='SOAP fault S:Client: Request is not valid XML') as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.request_may_have_been_processed is False and caught.value.status_code == 500
    assert getattr(caught.value, 'retryable', False) is False


def test_a_server_fault_may_have_been_processed_and_is_worth_another_poll(client, service, proto):
    service.respond(proto.soap_fault('Internal error', code='S:Server'), status=500)
    with pytest.raises(TransportError, match=r'answered the GetCertificate request with a fault \(SOAP fault S:Server: '
                                             r'Internal error\)\.$') as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.request_may_have_been_processed is True and caught.value.retryable is True


@pytest.mark.parametrize('code', ['S:Client', 'S:Server'])
def test_a_soap_fault_with_a_4xx_is_read(client, service, proto, csr, code):
    # SOAP 1.1 answers a fault with 500; some stacks and gateways answer a Client fault with 400, and its
    # faultstring is the one account of what was refused. The status decides what was done: an unsigned Server
    # fault from a gateway must not mark the credentials as spent.
    service.respond(proto.soap_fault('cvc-maxLength-valid: CustomerName is too long', code=code), status=400)
    with pytest.raises(TransportError) as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    assert caught.value.message.startswith('The service at %s answered HTTP 400 ' % service.url)
    assert caught.value.message.endswith(
        'with a SOAP fault %s: cvc-maxLength-valid: CustomerName is too long. A 4xx status says the request was '
        'refused as sent.' % code)
    assert caught.value.request_may_have_been_processed is False and caught.value.status_code == 400
    assert caught.value.retryable is False and caught.value.soap_fault is True


@pytest.mark.parametrize('body', [b'<html>error</html>', b'', b'<a>not SOAP</a>', b'<!DOCTYPE x><x/>'])
def test_a_4xx_without_a_fault_is_its_status(client, service, proto, body):
    service.respond(body, status=400)
    with pytest.raises(TransportError, match=r'answered HTTP 400') as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.request_may_have_been_processed is False and caught.value.retryable is False


@pytest.mark.parametrize('status,processed', [(500, True), (503, True), (404, False), (413, False)])
def test_http_errors_without_a_fault(client, service, proto, status, processed):
    service.respond(b'<html>error</html>', status=status)
    with pytest.raises(TransportError, match='HTTP %d' % status) as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.status_code == status
    assert caught.value.request_may_have_been_processed is processed
    assert caught.value.retryable is processed


@pytest.mark.parametrize('status', [201, 202, 203, 500])
def test_a_signed_answer_counts_whatever_the_status(client, service, responses, csr, proto, status):
    """Only 200 is SOAP 1.1's status for an answer, but the signature decides: a RetrievalId that came with
    another status is the only way to a certificate whose credentials are spent."""
    service.respond(responses.retrieval_id('RID-2%d' % status), status=status)
    assert client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr) == 'RID-2%d' % status


def test_a_signed_fail_with_status_500_is_the_services_answer(client, service, responses, csr, proto):
    service.respond(responses.fail('SignNewCertificateResponse', ('PKI006', 'TransferId already used')), status=500)
    with pytest.raises(ServiceFault, match='PKI006') as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    assert caught.value.codes == ['PKI006']


def test_an_unreadable_answer_with_another_2xx_may_have_been_processed(client, service, csr, proto):
    """Not refused as "not processed" for its status: kept, like any answer that cannot be trusted."""
    service.respond(b'', status=202)
    with pytest.raises(ResponseRejected) as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    assert caught.value.answer == b''


def test_an_answer_whose_check_breaks_is_kept_as_untrusted(service, trust, responses, csr, proto):
    """Whatever breaks while an answer is checked, the answer to SignNewCertificate is kept (its RetrievalId is
    the way to a certificate whose credentials are spent), not lost with an unexpected exception."""
    client = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path, timeout=2,
                                         signer_pattern='CN=(unclosed')
    service.respond(responses.retrieval_id('RID-77'))
    with pytest.raises(ResponseRejected, match='could not be checked: error: missing \\)') as caught:
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)
    assert b'RID-77' in caught.value.answer


def test_dtd_in_a_response_is_refused(client, service, proto):
    service.respond(b'<?xml version="1.0"?><!DOCTYPE S [<!ENTITY e SYSTEM "file:///etc/passwd">]><S>&e;</S>')
    with pytest.raises(ResponseRejected, match='DOCTYPE'):
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')


def test_a_tampered_response_is_refused(client, service, responses, csr, proto):
    service.respond(responses.retrieval_id('RID-1').replace(b'RID-1', b'RID-6'))
    with pytest.raises(ResponseRejected, match='signature of the response is not valid'):
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)


def test_a_response_signed_by_a_customer_is_refused(client, service, responses, pki, csr, proto):
    service.respond(responses.signed('SignNewCertificateResponse', ('RetrievalId', 'RID-1'), key=pki.customer_key,
                                     certs=[pki.customer_cert]))
    with pytest.raises(ResponseRejected, match='looks like the certificate of customer'):
        client.sign_new_certificate(proto.CUSTOMER_ID, None, 'TID-1', PASSWORD, csr)


def test_environment_proxies_are_ignored(client, service, responses, proto, monkeypatch):
    monkeypatch.setenv('HTTPS_PROXY', 'http://127.0.0.1:%d' % _closed_port())
    monkeypatch.setenv('https_proxy', 'http://127.0.0.1:%d' % _closed_port())
    service.respond(responses.certificate(b'\x30\x00'))
    assert client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1') == b'\x30\x00'


def test_an_explicit_proxy_is_used_and_its_password_hidden(service, trust, proto):
    proxy = 'http://user:proxy-secret-pw@127.0.0.1:%d' % _closed_port()
    client = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path, proxy=proxy,
                                         timeout=2)
    with pytest.raises(TransportError, match='through the proxy') as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.request_may_have_been_processed is False
    assert 'proxy-secret-pw' not in str(caught.value)
    assert service.received == []


def test_a_request_that_requests_refuses_to_send_is_not_taken_as_sent(service, trust, responses, proto):
    """A timeout of 0 fails inside requests before a connection exists: the credentials are not spent."""
    client = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path, timeout=0)
    with pytest.raises(TransportError) as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.request_may_have_been_processed is False
    assert not service.received


def test_a_deadline_that_expires_before_the_request_goes_out_says_nothing_was_sent(service, trust, proto,
                                                                                   monkeypatch):
    """A name lookup that hangs is not bounded by requests' timeout; the deadline is, and nothing was sent."""
    import socket
    import time
    real_getaddrinfo = socket.getaddrinfo

    def slow_lookup(*args, **kwargs):
        time.sleep(5)
        return real_getaddrinfo(*args, **kwargs)
    monkeypatch.setattr(socket, 'getaddrinfo', slow_lookup)
    client = sc.CertificateServiceClient(service.url, 'TEST', trust, tls_ca_bundle=service.tls_ca_path, timeout=1)
    started = time.monotonic()
    with pytest.raises(TransportError, match='so nothing was sent') as caught:
        client.get_certificate(proto.CUSTOMER_ID, None, 'RID-1')
    assert caught.value.request_may_have_been_processed is False
    assert time.monotonic() - started < 4
    assert not service.received


@pytest.mark.parametrize('reason', [
    '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Missing Authority Key Identifier (_ssl.c:1028)',
    '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Missing Subject Key Identifier (_ssl.c:1028)',
    '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: CA cert does not include key usage extension',
    '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Basic Constraints of CA cert not marked critical',
])
def test_a_chain_only_the_strict_profile_refuses_is_not_told_to_change_tls_ca_path(reason):
    advice = sc._tls_advice(reason)
    assert 'strict X.509 checks' in advice and 'Another tls_ca_path does not lift that' in advice


def test_an_unknown_issuer_is_told_to_give_tls_ca_path():
    advice = sc._tls_advice('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer '
                            'certificate (_ssl.c:1006)')
    assert 'give the PEM bundle of the CA that issued it in the tls_ca_path option' in advice
    assert 'strict' not in advice
