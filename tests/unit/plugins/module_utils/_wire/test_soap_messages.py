import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier

from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import soap_messages as sm
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    RequestValidationError, ResponseRejected, TransportError)

PASSWORD = 'Pw-0123456789abc'  # 16 characters, the most the schema allows
DS = '{http://www.w3.org/2000/09/xmldsig#}'


@pytest.fixture(scope='module')
def new_key(proto):
    return proto.rsa_key('new-customer')


@pytest.fixture(scope='module')
def csr(proto, new_key):
    return proto.csr_der(new_key)


def _request_element(proto, data, name):
    envelope = etree.fromstring(data)
    assert envelope.tag == '{%s}Envelope' % proto.SOAP_NS
    body = envelope.find('{%s}Body' % proto.SOAP_NS)
    assert len(body) == 1
    element = body[0]
    assert element.tag == '{%s}%s' % (proto.APP_NS, name)
    # The root must be prefixed: a default namespace would also qualify the children.
    assert element.prefix is not None
    return element


def test_sign_new_request_has_the_schema_order(proto, csr):
    data = sm.build_sign_new_certificate_request('TEST', proto.CUSTOMER_ID, 'Testi Oy', 'TID-1', PASSWORD, csr)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    element = _request_element(proto, data, 'SignNewCertificateRequest')
    assert [child.tag for child in element] == [
        'Environment', 'CustomerId', 'CustomerName', 'TransferId', 'TransferPassword', 'CertificateRequest']
    assert [child.text for child in element][:5] == ['TEST', proto.CUSTOMER_ID, 'Testi Oy', 'TID-1', PASSWORD]
    assert base64.b64decode(element.findtext('CertificateRequest')) == csr


def test_get_request_has_the_schema_order_and_omits_an_absent_name(proto):
    data = sm.build_get_certificate_request('PRODUCTION', proto.CUSTOMER_ID, None, 'RID-1')
    element = _request_element(proto, data, 'GetCertificateRequest')
    assert [child.tag for child in element] == ['Environment', 'CustomerId', 'RetrievalId']
    assert element.findtext('Environment') == 'PRODUCTION'


def test_renew_request_is_signed_with_the_current_key(pki, proto, csr):
    data = sm.build_renew_certificate_request('TEST', proto.CUSTOMER_ID, 'Testi Oy', csr, pki.customer_key,
                                              pki.customer_cert)
    element = _request_element(proto, data, 'RenewCertificateRequest')
    assert [child.tag for child in element] == [
        'Environment', 'CustomerId', 'CustomerName', 'CertificateRequest', DS + 'Signature']
    # Verified in place, inside the envelope, as a service using exclusive C14N would.
    config = SignatureConfiguration(location='./')
    result = XMLVerifier().verify(element, x509_cert=pki.customer_cert, expect_config=config)
    assert base64.b64decode(result.signed_xml.findtext('CertificateRequest')) == csr


def test_renew_request_needs_a_new_key(pki, proto):
    with pytest.raises(RequestValidationError, match='reuses the key'):
        sm.build_renew_certificate_request('TEST', proto.CUSTOMER_ID, None, proto.csr_der(pki.customer_key),
                                           pki.customer_key, pki.customer_cert)


LIMITS = [('customer_id', 30), ('customer_name', 100), ('transfer_id', 32), ('transfer_password', 16)]


def _sign_new(proto, csr, **overrides):
    values = dict(environment='TEST', customer_id=proto.CUSTOMER_ID, customer_name='Testi Oy', transfer_id='TID-1',
                  transfer_password=PASSWORD, csr_der=csr)
    values.update(overrides)
    return sm.build_sign_new_certificate_request(**values)


@pytest.mark.parametrize('field,limit', LIMITS)
def test_lengths_are_checked_before_building(proto, csr, new_key, field, limit):
    def build(value):
        # customer_id is also the CSR's CN, so the CSR follows it.
        extra = {'csr_der': proto.csr_der(new_key, value)} if field == 'customer_id' else {}
        extra[field] = value
        return _sign_new(proto, csr, **extra)
    assert build('x' * limit)
    too_long = 'y' * (limit + 1)
    with pytest.raises(RequestValidationError, match='^%s ' % field) as caught:
        build(too_long)
    assert too_long not in str(caught.value)


def test_retrieval_id_length_is_checked(proto):
    with pytest.raises(RequestValidationError, match='retrieval_id is 33 characters long; the service accepts at most'):
        sm.build_get_certificate_request('TEST', proto.CUSTOMER_ID, None, 'r' * 33)


def test_the_password_is_never_echoed(proto, csr):
    for bad in ('Secret-Password-17', 'Secret\tPassword'):
        with pytest.raises(RequestValidationError, match='^transfer_password') as caught:
            _sign_new(proto, csr, transfer_password=bad)
        assert bad not in str(caught.value) and 'Secret' not in str(caught.value)


@pytest.mark.parametrize('overrides,message', [
    ({'environment': 'DEV'}, 'environment must be one of PRODUCTION, TEST'),
    ({'customer_id': ''}, 'customer_id must not be empty'),
    ({'transfer_id': 'TID\n1'}, 'transfer_id contains a tab, a line break'),
    ({'customer_name': 'Testi\x00Oy'}, 'customer_name contains'),
    ({'transfer_id': 12345}, 'transfer_id must be a string'),
    ({'transfer_id': 'TID-1 '}, '^transfer_id must not start or end with a space'),
    ({'transfer_password': ' Pw-0123456789a'}, '^transfer_password must not start or end with a space.$'),
])
def test_values_are_checked_before_building(proto, csr, overrides, message):
    with pytest.raises(RequestValidationError, match=message):
        _sign_new(proto, csr, **overrides)


def test_csr_must_suit_the_service(proto, csr):
    with pytest.raises(RequestValidationError, match='not a DER-encoded PKCS#10'):
        _sign_new(proto, csr, csr_der=b'0\x03\x02\x01\x00')
    with pytest.raises(RequestValidationError, match='subject CN .* must be the customer_id 1234567-8'):
        _sign_new(proto, csr, csr_der=proto.csr_der(proto.rsa_key('new-customer'), '7654321-0'))
    with pytest.raises(RequestValidationError, match='RSA key of at least 2048 bits'):
        _sign_new(proto, csr, csr_der=proto.csr_der(proto.rsa_key('small', 1024)))
    with pytest.raises(RequestValidationError, match='RSA key of at least 2048 bits'):
        _sign_new(proto, csr, csr_der=proto.csr_der(ec.generate_private_key(ec.SECP256R1())))


def test_csr_with_a_broken_self_signature_is_refused(proto, csr):
    tampered = bytearray(csr)
    tampered[-5] ^= 0x01  # inside the signature BIT STRING at the end
    with pytest.raises(RequestValidationError, match='self-signature'):
        _sign_new(proto, csr, csr_der=bytes(tampered))


# ---- responses ---------------------------------------------------------------------------------------------

def test_the_response_element_is_found_in_the_body(responses):
    root = etree.fromstring(responses.retrieval_id('RID-7'))
    element = sm.find_response_element(root, sm.SIGN_NEW)
    assert element.tag == '{%s}SignNewCertificateResponse' % sm.APP_NS


def test_a_soap_fault_means_the_request_was_not_processed(proto):
    root = etree.fromstring(proto.soap_fault('Unknown operation   frobnicate'))
    with pytest.raises(TransportError, match=r'SOAP fault S:Client: Unknown operation frobnicate\)') as caught:
        sm.find_response_element(root, sm.GET, http_status=500)
    assert caught.value.request_may_have_been_processed is False
    assert caught.value.status_code == 500


@pytest.mark.parametrize('code, kind, processed', [
    ('S:Client', 'Client', False),
    (' S:Client.Validation ', 'Client', False),
    ('S:VersionMismatch', 'VersionMismatch', False),
    ('S:MustUnderstand', 'MustUnderstand', False),
    ('S:Server', 'Server', True),
    ('S:Server.Busy', 'Server', True),
    ('', '', True),
    ('S:Receiver', 'Receiver', True),
    # Not SOAP's own codes: a prefix that stands for no namespace, or none at all.
    ('app:Client', '', True),
    ('Client', '', True),
])
def test_only_a_fault_that_refuses_the_message_as_sent_says_it_was_not_processed(proto, code, kind, processed):
    """certificate-service.md says nothing of the service's faults: only SOAP 1.1's own meaning of a Client (and
    VersionMismatch, MustUnderstand) fault is taken; after any other the service may have acted."""
    root = etree.fromstring(proto.soap_fault('It went wrong', code=code))
    with pytest.raises(TransportError) as caught:
        sm.find_response_element(root, sm.SIGN_NEW, http_status=500)
    assert caught.value.request_may_have_been_processed is processed
    assert caught.value.fault_class == kind and caught.value.soap_fault is True
    if processed:
        assert caught.value.message.startswith('The certificate service answered the SignNewCertificate request with '
                                               'a fault (SOAP fault ')
        assert caught.value.message.endswith('and whether it acted on the request before it failed is not known.')
    else:
        assert 'refused the SignNewCertificate request as it was sent and did not act on it' in caught.value.message


def test_a_client_fault_of_another_namespace_is_no_soap_client_fault():
    root = etree.fromstring(('<soapenv:Envelope xmlns:soapenv="%s" xmlns:app="urn:example:app"><soapenv:Body>'
                             '<soapenv:Fault><faultcode>app:Client</faultcode><faultstring>x</faultstring>'
                             '</soapenv:Fault></soapenv:Body></soapenv:Envelope>' % sm.SOAP_NS).encode())
    with pytest.raises(TransportError) as caught:
        sm.find_response_element(root, sm.SIGN_NEW, http_status=500)
    assert caught.value.fault_class == '' and caught.value.request_may_have_been_processed is True
    # Any prefix that stands for SOAP's namespace where the code is, however it was declared.
    declared = etree.fromstring(('<s:Envelope xmlns:s="%s"><s:Body><s:Fault><faultcode xmlns:e="%s">e:Client'
                                 '</faultcode></s:Fault></s:Body></s:Envelope>' % (sm.SOAP_NS, sm.SOAP_NS)).encode())
    with pytest.raises(TransportError) as caught:
        sm.find_response_element(declared, sm.SIGN_NEW, http_status=500)
    assert caught.value.fault_class == 'Client' and caught.value.request_may_have_been_processed is False


def test_an_unexpected_element_is_rejected(responses, proto):
    with pytest.raises(ResponseRejected, match='instead of GetCertificateResponse'):
        sm.find_response_element(etree.fromstring(responses.retrieval_id()), sm.GET)
    with pytest.raises(ResponseRejected, match='not a SOAP 1.1 envelope'):
        sm.find_response_element(etree.fromstring(b'<Envelope/>'), sm.GET)


def test_fields_of_a_verified_response(proto):
    fields = sm.read_verified_response(
        proto.response_element('SignNewCertificateResponse', ('RetrievalId', ' RID-9 ')), sm.SIGN_NEW)
    assert fields == sm.ResponseFields('OK', [], 'RID-9', None)
    der = b'\x30\x03\x02\x01\x05'
    fields = sm.read_verified_response(
        proto.response_element('GetCertificateResponse', ('Certificate', base64.encodebytes(der).decode())), sm.GET)
    assert fields.certificate == der and fields.retrieval_id is None
    fields = sm.read_verified_response(
        proto.response_element('RenewCertificateResponse', status='FAIL',
                               errors=[('PKI012', 'too\n early'), ('PKI099', 'x')]), sm.RENEW)
    assert fields == sm.ResponseFields('FAIL', [('PKI012', 'too early'), ('PKI099', 'x')], None, None)


@pytest.mark.parametrize('operation,payload', [
    (sm.SIGN_NEW, ''), (sm.RENEW, ' '), (sm.GET, ''), (sm.GET, '\n'), (sm.SIGN_NEW, 'R' * 40), (sm.GET, 'not*base64'),
], ids=['sign-new-empty', 'renew-blank', 'get-empty', 'get-line-break', 'sign-new-too-long', 'get-garbage'])
def test_a_fail_answer_is_read_whatever_payload_element_it_carries(proto, operation, payload):
    """Status decides first: on FAIL the payload is not used, so it cannot hide the service's error codes."""
    element = proto.response_element(operation.response, (operation.payload, payload), status='FAIL',
                                     errors=[('PKI123', 'Refused')])
    expected = sm.ResponseFields('FAIL', [('PKI123', 'Refused')], None, None)
    assert sm.read_verified_response(element, operation) == expected


@pytest.mark.parametrize('operation', [sm.SIGN_NEW, sm.RENEW, sm.GET])
def test_an_empty_payload_element_is_read_as_absent(proto, operation):
    for text in ('', '  \r\n '):
        element = proto.response_element(operation.response, (operation.payload, text))
        assert sm.read_verified_response(element, operation) == sm.ResponseFields('OK', [], None, None)


def test_service_error_text_is_shown_without_control_or_bidi_characters_and_clipped(proto):
    # U+202E turns the rest of a terminal line around, U+200B hides, U+009B (CSI) starts a terminal
    # control sequence: all legal in XML 1.0.
    message = 'Refused \u202eseman\u202c\u200b\t\x9b31mred\n' + 'x' * 400
    fields = sm.read_verified_response(
        proto.response_element('GetCertificateResponse', status='FAIL',
                               errors=[('PKI\u2066123\u2069' + 'Z' * 20, message)]), sm.GET)
    (code, text), = fields.errors
    assert code == 'PKI 123 ZZZZZZZZ'
    assert text == ('Refused seman 31mred ' + 'x' * 400)[:sm.ERROR_MESSAGE_LIMIT]


@pytest.mark.parametrize('mutate,message', [
    (lambda e: e.append(e[0]), 'holds Result, RetrievalId'),
    (lambda e: setattr(e[0], 'text', 'R' * 33), 'at most 32 characters'),
    (lambda e: setattr(e.find('Result/Status'), 'text', 'MAYBE'), 'neither OK nor FAIL'),
    (lambda e: e.find('Result').insert(0, etree.Element('ErrorInfo')), 'does not start with Status'),
])
def test_malformed_verified_responses_are_rejected(proto, mutate, message):
    element = proto.response_element('SignNewCertificateResponse', ('RetrievalId', 'RID-1'))
    mutate(element)
    with pytest.raises(ResponseRejected, match=message):
        sm.read_verified_response(element, sm.SIGN_NEW)


def test_certificate_must_be_base64(proto):
    element = proto.response_element('GetCertificateResponse', ('Certificate', 'not*base64'))
    with pytest.raises(ResponseRejected, match='not valid base64'):
        sm.read_verified_response(element, sm.GET)


def test_response_of_another_operation_is_rejected(proto):
    with pytest.raises(ResponseRejected, match='not GetCertificateResponse'):
        sm.read_verified_response(proto.response_element('RenewCertificateResponse'), sm.GET)


def test_a_customer_name_with_spaces_around_it_is_still_sent(proto, csr):
    """Only the one-time credentials are refused for spaces: a name kept in an inventory as it always was works on."""
    data = _sign_new(proto, csr, customer_name='Testi Oy ')
    assert b'<CustomerName>Testi Oy </CustomerName>' in data
    assert sm.build_get_certificate_request('TEST', proto.CUSTOMER_ID, 'Testi Oy ', 'RID1')
