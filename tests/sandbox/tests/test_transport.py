"""HTTP and SOAP framing, response signatures, call counting, logging and crash safety."""
import copy
import sqlite3
import threading

import pytest
from lxml import etree
from signxml import XMLVerifier
from signxml.exceptions import InvalidSignature as InvalidXMLSignature

from wire_client import (APP, DS, SOAP, VERIFY_CONFIG, UntrustedChain, chain_to, load_pem_cert, make_csr, pem,
                         signer_certificate, soap_fault)

CLIENT_FAULT = '{%s}Client' % SOAP


def get_body(client, customer_id='1234567-8', retrieval_id='r'):
    return client.envelope(client.get_element(customer_id, retrieval_id))


def test_response_layout_is_that_of_a_jax_ws_service(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, None)
    element = client.sign_new_element(customer_id, transfer_id, password, make_csr(keys[0], customer_id))
    http = client.post(client.envelope(element), 'signNewCertificate')
    assert http.headers['Content-Type'] == 'text/xml; charset=utf-8'
    root = etree.fromstring(http.content)
    assert root.tag == '{%s}Envelope' % SOAP
    element = root.find('{%s}Body/{%s}SignNewCertificateResponse' % (SOAP, APP))
    assert element.prefix == 'ns2'
    assert [child.tag for child in element] == ['RetrievalId', 'Result', '{%s}Signature' % DS]
    assert [child.tag for child in element.find('Result')] == ['Status']


def test_response_signature_verifies_detached_but_not_in_place(client):
    http = client.post(get_body(client, retrieval_id='does-not-exist'))
    element = etree.fromstring(http.content).find('{%s}Body/{%s}GetCertificateResponse' % (SOAP, APP))
    assert element.findtext('Result/ErrorInfo/ErrorCode') == 'PKI009'
    signer = chain_to(signer_certificate(element), client.service_trust)[0]
    x509_pem = pem(signer)
    XMLVerifier().verify(copy.deepcopy(element), x509_cert=x509_pem, expect_config=VERIFY_CONFIG)
    # The other recipe: drop the envelope's namespace declarations and reparse.
    detached = etree.fromstring(etree.tostring(element))
    etree.cleanup_namespaces(detached, keep_ns_prefixes=['ns2', 'ds'])
    XMLVerifier().verify(detached, x509_cert=x509_pem, expect_config=VERIFY_CONFIG)
    with pytest.raises(InvalidXMLSignature):
        XMLVerifier().verify(element, x509_cert=x509_pem, expect_config=VERIFY_CONFIG)
    signature = element.find('{%s}Signature' % DS)
    assert signature.find('{%s}SignedInfo/{%s}CanonicalizationMethod' % (DS, DS)).get('Algorithm') == \
        'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'
    assert len(signature.findall('{%s}KeyInfo/{%s}X509Data/{%s}X509Certificate' % (DS, DS, DS))) == 1


def test_service_signer_and_customer_certificates_have_separate_anchors(client, sandbox, keys, customer_id):
    http = client.post(get_body(client))
    signer = signer_certificate(etree.fromstring(http.content).find(
        '{%s}Body/{%s}GetCertificateResponse' % (SOAP, APP)))
    with pytest.raises(UntrustedChain):
        chain_to(signer, load_pem_cert(sandbox.issuing_ca_pem))
    customer_cert = client.enrol(customer_id, keys[0])
    with pytest.raises(UntrustedChain):
        chain_to(customer_cert, client.service_trust)


def test_oversized_request_is_413_and_not_parsed(client, sandbox):
    sandbox.reset_calls()
    body = get_body(client).replace(b'<soapenv:Header/>', b'<soapenv:Header>' + b' ' * (64 * 1024) +
                                    b'</soapenv:Header>')
    http = client.post(body)
    assert http.status_code == 413
    assert soap_fault(http)[0] == CLIENT_FAULT
    assert sandbox.calls()['total'] == 0


def test_request_of_exactly_64_kib_is_accepted(client):
    body = get_body(client)
    padding = 64 * 1024 - len(body) - len(b'<soapenv:Header></soapenv:Header>') + len(b'<soapenv:Header/>')
    body = body.replace(b'<soapenv:Header/>', b'<soapenv:Header>' + b' ' * padding + b'</soapenv:Header>')
    assert len(body) == 64 * 1024
    assert client.post(body).status_code == 200


def test_doctype_in_a_request_is_a_soap_fault(client, sandbox):
    sandbox.reset_calls()
    body = (b'<?xml version="1.0"?>\n<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>\n'
            + get_body(client, retrieval_id='&b;').split(b'?>', 1)[1].replace(b'&amp;b;', b'&b;'))
    http = client.post(body)
    assert http.status_code == 500
    code, message = soap_fault(http)
    assert code == CLIENT_FAULT and 'Document type' in message
    assert sandbox.calls()['total'] == 0


@pytest.mark.parametrize('body, action, fault_code', [
    (b'this is not xml', '"getCertificate"', 'Client'),
    (b'<a xmlns="urn:x"/>', '"getCertificate"', 'Client'),
    (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>', '"getCertificate"',
     'VersionMismatch'),
    (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><x:Foo xmlns:x="http://'
     b'certificates.vero.fi/2017/10/certificateservices"/></e:Body></e:Envelope>', '"getCertificate"', 'Client'),
    (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Header><w:Security xmlns:w="urn:w" '
     b'e:mustUnderstand="1"/></e:Header><e:Body/></e:Envelope>', '"getCertificate"', 'MustUnderstand'),
    (None, '"signNewCertificate"', 'Client'),   # SOAPAction of another operation
    (None, 'signNewCertificate', 'Client'),     # the same, unquoted
    (None, "'getCertificate'", 'Client'),       # quoted, but not as HTTP quotes
    (None, '" getCertificate"', 'Client'),
    (None, '', 'Client'),
], ids=['not-xml', 'not-soap', 'soap-1.2', 'unknown-operation', 'must-understand', 'mismatched-action',
        'mismatched-unquoted-action', 'single-quoted-action', 'padded-action', 'empty-action'])
def test_unusable_requests_get_a_soap_fault(client, body, action, fault_code):
    http = client.post(body or get_body(client), soap_action=action)
    assert http.status_code == 500
    assert soap_fault(http)[0] == '{%s}%s' % (SOAP, fault_code)


@pytest.mark.parametrize('action', ['"getCertificate"', 'getCertificate'])
def test_soap_action_quoted_or_bare_is_accepted(client, sandbox, action):
    """The WSDL quotes it; a working client (the Haskell one) sends it bare, and the real service answers."""
    sandbox.reset_calls()
    http = client.post(get_body(client, retrieval_id='unknown'), soap_action=action)
    assert http.status_code == 200
    element = etree.fromstring(http.content).find('{%s}Body/{%s}GetCertificateResponse' % (SOAP, APP))
    assert element.findtext('Result/ErrorInfo/ErrorCode') == 'PKI009'
    assert sandbox.calls()['getCertificate'] == 1


def test_http_framing(client, sandbox):
    assert client.post(get_body(client), headers={'Content-Type': 'application/json'}).status_code == 415
    wrong_path = client.session.post(sandbox.url.replace('CertificateServices', 'Other'), data=get_body(client),
                                     verify=sandbox.tls_ca_pem, timeout=10)
    assert wrong_path.status_code == 404
    assert client.session.get(sandbox.url, verify=sandbox.tls_ca_pem, timeout=10).status_code == 405


def test_calls_are_counted_per_operation_with_peak_concurrency(client, faulty, keys, customer_id):
    faulty.reset_calls()
    transfer_id, password = faulty.subscribe(customer_id, None)
    signed = client.sign_new(customer_id, transfer_id, password, make_csr(keys[0], customer_id))
    client.get(customer_id, signed.retrieval_id)
    faulty.set_fault('getCertificate', 'http500', times=1)
    client.post(get_body(client, customer_id, signed.retrieval_id))  # faulted calls count too
    client.post(b'not xml')                                           # never reaches an operation
    assert faulty.calls() == {'signNewCertificate': 1, 'getCertificate': 2, 'renewCertificate': 0,
                              'total': 3, 'peak_concurrent': 1}

    faulty.set_fault('getCertificate', 'delay', seconds=1.5)
    threads = [threading.Thread(target=client.get, args=(customer_id, signed.retrieval_id)) for dummy in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls = faulty.calls()
    assert calls['getCertificate'] == 5 and calls['peak_concurrent'] == 3
    faulty.reset_calls()
    assert faulty.calls()['total'] == 0 and faulty.calls()['peak_concurrent'] == 0


def test_log_has_a_line_per_request_and_no_secrets(client, sandbox, keys, customer_id):
    transfer_id, password = sandbox.subscribe(customer_id, None)
    wrong = password[:-1] + ('x' if password[-1] != 'x' else 'y')
    client.sign_new(customer_id, transfer_id, wrong, make_csr(keys[0], customer_id))
    client.sign_new(customer_id, transfer_id, password, make_csr(keys[0], customer_id))
    with open(sandbox.log_path, encoding='utf-8') as handle:
        log = handle.read()
    assert password not in log and wrong not in log
    lines = [line for line in log.splitlines() if 'customer=%s' % customer_id in line]
    assert len(lines) == 2
    assert 'codes=PKI003' in lines[0] and 'result=OK' in lines[1]


def test_unexpected_errors_become_a_signed_pki099(client, sandbox, customer_id):
    """A retrieval whose stored request is unusable must not crash the server."""
    with sqlite3.connect('%s/sandbox.sqlite' % sandbox.directory) as db:
        db.execute("INSERT INTO retrievals (retrieval_id, customer_id, environment, customer_name, csr_der, origin, "
                   "created_at, ready_at) VALUES ('broken', ?, 'TEST', NULL, x'00', 'test', "
                   "'2020-01-01T00:00:00+00:00', '2020-01-01T00:00:00+00:00')", (customer_id,))
    reply = client.get(customer_id, 'broken')
    assert (reply.status, reply.codes) == ('FAIL', ['PKI099'])
    assert client.get(customer_id, 'unknown').codes == ['PKI009']  # still serving
