"""Fault injection: every kind, scoping, counting down, and whether the request was processed."""
import base64
import copy
import time

import pytest
import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLVerifier
from signxml.exceptions import InvalidSignature as InvalidXMLSignature

from irsandbox.testing import SandboxError
from wire_client import (APP, SOAP, VERIFY_CONFIG, Reply, UntrustedChain, chain_to, load_pem_cert, make_csr, pem,
                         signer_certificate, soap_fault, spki)


@pytest.fixture
def retrieval(client, sandbox, keys, customer_id):
    """(customer_id, retrieval_id) of a certificate that is ready to be retrieved."""
    transfer_id, password = sandbox.subscribe(customer_id, 'Org Oy')
    signed = client.sign_new(customer_id, transfer_id, password, make_csr(keys[0], customer_id, 'Org Oy'),
                             name='Org Oy')
    return customer_id, signed.retrieval_id


def get_body(client, customer_id, retrieval_id):
    return client.envelope(client.get_element(customer_id, retrieval_id))


def sign_new_under_fault(client, faulty, keys, customer_id, kind):
    """SignNewCertificate once under fault kind; returns the HTTP answer and a retry with the same credentials."""
    transfer_id, password = faulty.subscribe(customer_id, None)
    faulty.set_fault('signNewCertificate', kind, times=1)
    csr = make_csr(keys[0], customer_id)
    http = client.post(client.envelope(client.sign_new_element(customer_id, transfer_id, password, csr)),
                       'signNewCertificate')
    return http, lambda: client.sign_new(customer_id, transfer_id, password, csr)


def test_http500_answers_a_soap_fault_without_processing(client, faulty, keys, customer_id):
    http, sign_again = sign_new_under_fault(client, faulty, keys, customer_id, 'http500')
    assert http.status_code == 500
    assert soap_fault(http)[0] == '{%s}Server' % SOAP
    # Not processed: the credentials still work, and the fault was used up.
    assert sign_again().status == 'OK'


def test_client_fault_answers_a_soap_client_fault_without_processing(client, faulty, keys, customer_id):
    http, sign_again = sign_new_under_fault(client, faulty, keys, customer_id, 'client-fault')
    assert http.status_code == 500
    assert soap_fault(http)[0] == '{%s}Client' % SOAP
    assert sign_again().status == 'OK'


def test_server_fault_after_processing_has_used_the_credentials(client, faulty, keys, customer_id):
    http, sign_again = sign_new_under_fault(client, faulty, keys, customer_id, 'server-fault-after-processing')
    assert http.status_code == 500
    assert soap_fault(http)[0] == '{%s}Server' % SOAP
    assert any(r['customer_id'] == customer_id for r in faulty.state()['retrievals'])
    assert sign_again().codes == ['PKI004']


def test_refused_answers_a_signed_fail_without_processing(client, faulty, keys, customer_id):
    http, sign_again = sign_new_under_fault(client, faulty, keys, customer_id, 'refused')
    assert http.status_code == 200
    reply = Reply(http, 'signNewCertificate', client.service_trust)
    assert (reply.status, reply.codes, reply.retrieval_id) == ('FAIL', ['PKI015'], None)
    assert sign_again().status == 'OK'


def test_gateway_503_answers_html_without_processing(client, faulty, keys, customer_id):
    http, sign_again = sign_new_under_fault(client, faulty, keys, customer_id, 'gateway-503')
    assert http.status_code == 503
    assert http.headers['Content-Type'].startswith('text/html')
    assert http.headers['Retry-After'] == '120'
    assert b'503 Service Temporarily Unavailable' in http.content
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(http.content)
    # Not processed: the credentials still work, and the fault was used up.
    assert sign_again().status == 'OK'


def test_fault_is_scoped_to_its_operation_and_counts_down(client, faulty, retrieval):
    customer_id, retrieval_id = retrieval
    faulty.set_fault('getCertificate', 'http500', times=2)
    assert 'remaining=2' in faulty.cli('fault', 'list')
    statuses = [client.post(get_body(client, customer_id, retrieval_id)).status_code for dummy in range(3)]
    assert statuses == [500, 500, 200]
    assert faulty.cli('fault', 'list').strip() == 'no faults set'


def test_fault_for_all_operations_until_cleared(client, faulty, retrieval, customer_id):
    faulty.set_fault('all', 'http500')
    assert client.post(get_body(client, customer_id, 'x')).status_code == 500
    assert client.post(get_body(client, customer_id, 'y')).status_code == 500
    faulty.clear_faults()
    assert client.post(get_body(client, customer_id, 'x')).status_code == 200


def test_delay_answers_late_after_processing(client, faulty, keys, customer_id):
    transfer_id, password = faulty.subscribe(customer_id, None)
    faulty.set_fault('signNewCertificate', 'delay', times=1, seconds=1.0)
    csr = make_csr(keys[0], customer_id)
    with pytest.raises(requests.Timeout):
        client.post(client.envelope(client.sign_new_element(customer_id, transfer_id, password, csr)),
                    'signNewCertificate', timeout=0.3)
    # Wait for the abandoned request to be processed rather than racing it.
    deadline = time.monotonic() + 20
    while not any(r['customer_id'] == customer_id for r in faulty.state()['retrievals']):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.sign_new(customer_id, transfer_id, password, csr).codes == ['PKI004']


def test_delay_then_normal_answer(client, faulty, retrieval):
    customer_id, retrieval_id = retrieval
    faulty.set_fault('getCertificate', 'delay', times=1, seconds=0.5)
    started = time.monotonic()
    reply = client.get(customer_id, retrieval_id)
    assert time.monotonic() - started >= 0.5
    assert reply.status == 'OK'


def test_malformed_is_not_well_formed_xml(client, faulty, retrieval):
    faulty.set_fault('getCertificate', 'malformed', times=1)
    http = client.post(get_body(client, *retrieval))
    assert http.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(http.content)


def test_bad_signature_response_fails_verification(client, faulty, retrieval):
    customer_id, retrieval_id = retrieval
    faulty.set_fault('getCertificate', 'bad-signature', times=1)
    http = client.post(get_body(client, customer_id, retrieval_id))
    element = etree.fromstring(http.content).find('{%s}Body/{%s}GetCertificateResponse' % (SOAP, APP))
    # The swapped-in certificate is otherwise plausible: only the signature gives it away.
    swapped = x509.load_der_x509_certificate(base64.b64decode(element.findtext('Certificate')))
    assert swapped.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == customer_id
    with pytest.raises(InvalidXMLSignature):
        Reply(http, 'getCertificate', client.service_trust)
    assert client.get(customer_id, retrieval_id).certificate != swapped


def test_bad_signature_on_sign_new_still_processes(client, faulty, keys, customer_id):
    transfer_id, password = faulty.subscribe(customer_id, None)
    faulty.set_fault('signNewCertificate', 'bad-signature', times=1)
    csr = make_csr(keys[0], customer_id)
    with pytest.raises(InvalidXMLSignature):
        client.sign_new(customer_id, transfer_id, password, csr)
    assert client.sign_new(customer_id, transfer_id, password, csr).codes == ['PKI004']


def test_untrusted_signer_has_the_genuine_name_but_not_the_chain(client, faulty, retrieval):
    faulty.set_fault('getCertificate', 'untrusted-signer', times=1)
    http = client.post(get_body(client, *retrieval))
    element = etree.fromstring(http.content).find('{%s}Body/{%s}GetCertificateResponse' % (SOAP, APP))
    signer = signer_certificate(element)
    genuine = Reply(client.post(get_body(client, *retrieval)), 'getCertificate', client.service_trust).signer
    assert (signer.subject, signer.issuer) == (genuine.subject, genuine.issuer)
    with pytest.raises(UntrustedChain):
        chain_to(signer, client.service_trust)
    # The signature itself is correct: a client that skips the chain check would accept it.
    XMLVerifier().verify(copy.deepcopy(element), x509_cert=pem(signer), expect_config=VERIFY_CONFIG)


def test_customer_signer_chains_to_the_issuing_ca_not_to_the_service_trust(client, faulty, retrieval, sandbox):
    faulty.set_fault('getCertificate', 'customer-signer', times=1)
    http = client.post(get_body(client, *retrieval))
    element = etree.fromstring(http.content).find('{%s}Body/{%s}GetCertificateResponse' % (SOAP, APP))
    signer = signer_certificate(element)
    assert signer.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == '7777777-7'
    with pytest.raises(UntrustedChain):
        chain_to(signer, client.service_trust)
    with open(sandbox.issuing_ca_pem, 'rb') as handle:
        chain_to(signer, x509.load_pem_x509_certificates(handle.read()))
    XMLVerifier().verify(copy.deepcopy(element), x509_cert=pem(signer), expect_config=VERIFY_CONFIG)


def test_drop_after_processing_closes_without_answer(client, faulty, keys, customer_id):
    transfer_id, password = faulty.subscribe(customer_id, None)
    faulty.set_fault('signNewCertificate', 'drop-after-processing', times=1)
    csr = make_csr(keys[0], customer_id)
    with pytest.raises(requests.ConnectionError):
        client.sign_new(customer_id, transfer_id, password, csr)
    assert client.sign_new(customer_id, transfer_id, password, csr).codes == ['PKI004']
    assert any(r['customer_id'] == customer_id for r in faulty.state()['retrievals'])


def test_oversized_response(client, faulty, retrieval):
    faulty.set_fault('getCertificate', 'oversized', times=1)
    http = client.post(get_body(client, *retrieval))
    assert http.status_code == 200
    assert int(http.headers['Content-Length']) == len(http.content) > 12 * 1024 * 1024


def test_dtd_response_declares_an_entity_used_in_the_body(client, faulty, retrieval):
    faulty.set_fault('getCertificate', 'dtd', times=1)
    http = client.post(get_body(client, *retrieval))
    root = etree.fromstring(http.content, etree.XMLParser(resolve_entities=False, load_dtd=False,
                                                          no_network=True))
    assert root.getroottree().docinfo.internalDTD is not None
    status = root.find('{%s}Body/{%s}GetCertificateResponse/Result/Status' % (SOAP, APP))
    assert [type(node) for node in status] == [etree._Entity]
    # With entities expanded the response even verifies: only refusing the DTD protects a client.
    expanded = etree.fromstring(http.content, etree.XMLParser(resolve_entities=True, no_network=True))
    element = expanded.find('{%s}Body/{%s}GetCertificateResponse' % (SOAP, APP))
    assert element.findtext('Result/Status') == 'OK'
    XMLVerifier().verify(copy.deepcopy(element), x509_cert=pem(signer_certificate(element)),
                         expect_config=VERIFY_CONFIG)


def test_wrong_cn_certificate(client, faulty, keys, retrieval):
    customer_id, retrieval_id = retrieval
    faulty.set_fault('getCertificate', 'wrong-cn', times=1)
    cert = client.get(customer_id, retrieval_id).certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value != customer_id
    assert spki(cert.public_key()) == spki(keys[0].public_key())
    cert.verify_directly_issued_by(load_pem_cert(faulty.issuing_ca_pem)[0])


def test_wrong_key_certificate(client, faulty, keys, retrieval):
    customer_id, retrieval_id = retrieval
    faulty.set_fault('getCertificate', 'wrong-key', times=1)
    cert = client.get(customer_id, retrieval_id).certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == customer_id
    assert spki(cert.public_key()) != spki(keys[0].public_key())


def test_tampered_certificate(client, faulty, keys, retrieval):
    customer_id, retrieval_id = retrieval
    faulty.set_fault('getCertificate', 'tampered-certificate', times=1)
    cert = client.get(customer_id, retrieval_id).certificate  # the response signature is fine
    assert spki(cert.public_key()) == spki(keys[0].public_key())
    with pytest.raises(InvalidSignature):
        cert.verify_directly_issued_by(load_pem_cert(faulty.issuing_ca_pem)[0])
    # The genuine certificate is still there on the next call.
    client.get(customer_id, retrieval_id).certificate.verify_directly_issued_by(
        load_pem_cert(faulty.issuing_ca_pem)[0])


def test_certificate_faults_wait_for_a_certificate(client, faulty, retrieval, customer_id):
    faulty.set_fault('all', 'wrong-key', times=1)
    assert client.get(customer_id, 'unknown').codes == ['PKI009']  # no certificate: fault not used
    cert = client.get(*retrieval).certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == customer_id
    assert faulty.cli('fault', 'list').strip() == 'no faults set'


@pytest.mark.parametrize('args', [
    ['--operation', 'signNewCertificate', '--kind', 'wrong-cn'],
    ['--operation', 'all', '--kind', 'delay'],
    ['--operation', 'all', '--kind', 'http500', '--times', '0'],
])
def test_invalid_fault_settings_are_refused(faulty, args):
    with pytest.raises(SandboxError):
        faulty.cli('fault', 'set', *args)
    assert faulty.cli('fault', 'list').strip() == 'no faults set'
