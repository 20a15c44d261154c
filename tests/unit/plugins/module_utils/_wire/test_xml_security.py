import copy
import datetime

import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import (CanonicalizationMethod, DigestAlgorithm, InvalidSignature, SignatureConfiguration, SignatureMethod,
                     XMLSigner, XMLVerifier, methods)

from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import xml_security
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    RequestValidationError, ResponseRejected)

DS = '{http://www.w3.org/2000/09/xmldsig#}'
INCLUSIVE = SignatureConfiguration(default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0)


def _status(verified):
    return verified.findtext('Result/Status')


# ---- parse_xml ---------------------------------------------------------------------------------------------

def test_parse_xml_returns_the_root():
    root = xml_security.parse_xml(b'<?xml version="1.0"?><a><b>text</b></a>', 100)
    assert root.tag == 'a' and root.findtext('b') == 'text'


@pytest.mark.parametrize('data', [
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "boom">]><a>&x;</a>',
    b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a/>',
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><a>&lol2;</a>',
], ids=['internal-entity', 'external-dtd', 'entity-expansion'])
def test_parse_xml_refuses_dtds_and_entities(data):
    with pytest.raises(ResponseRejected, match='DOCTYPE'):
        xml_security.parse_xml(data, 10000)


def test_parse_xml_refuses_a_doctype_hidden_by_another_encoding():
    data = u'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode('utf-16')
    assert b'<!DOCTYPE' not in data
    with pytest.raises(ResponseRejected, match='DOCTYPE'):
        xml_security.parse_xml(data, 10000)


def test_parse_xml_refuses_oversize_and_garbage():
    with pytest.raises(ResponseRejected, match='more than the accepted 10 bytes'):
        xml_security.parse_xml(b'<a>0123456789</a>', 10)
    with pytest.raises(ResponseRejected, match='not well-formed'):
        xml_security.parse_xml(b'<html><body>Bad gateway', 1000)


# ---- renewal request signatures ----------------------------------------------------------------------------

def _renew_element(proto):
    element = etree.Element('{%s}RenewCertificateRequest' % proto.APP_NS, nsmap={'cer': proto.APP_NS})
    etree.SubElement(element, 'Environment').text = 'TEST'
    etree.SubElement(element, 'CustomerId').text = proto.CUSTOMER_ID
    return element


def test_renew_signature_follows_the_contract_and_verifies(pki, proto):
    signed = xml_security.sign_renew_request(_renew_element(proto), pki.customer_key, pki.customer_cert)
    assert [child.tag for child in signed] == ['Environment', 'CustomerId', DS + 'Signature']
    signature = signed[-1]
    exclusive = 'http://www.w3.org/2001/10/xml-exc-c14n#'
    assert signature.find('%sSignedInfo/%sCanonicalizationMethod' % (DS, DS)).get('Algorithm') == exclusive
    assert signature.find('%sSignedInfo/%sSignatureMethod' % (DS, DS)).get('Algorithm') == \
        'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
    reference = signature.find('%sSignedInfo/%sReference' % (DS, DS))
    assert reference.get('URI') == ''
    assert [t.get('Algorithm') for t in reference.iter(DS + 'Transform')] == [
        'http://www.w3.org/2000/09/xmldsig#enveloped-signature', exclusive]
    assert reference.find(DS + 'DigestMethod').get('Algorithm') == 'http://www.w3.org/2001/04/xmlenc#sha256'
    certs = signature.findall('%sKeyInfo/%sX509Data/%sX509Certificate' % (DS, DS, DS))
    assert len(certs) == 1
    assert ''.join(certs[0].text.split()) == ''.join(proto.pem(pki.customer_cert).decode().splitlines()[1:-1])

    wrapped = etree.fromstring(proto.envelope(signed)).find('{%s}Body' % proto.SOAP_NS)[0]
    result = XMLVerifier().verify(wrapped, x509_cert=pki.customer_cert)
    assert result.signed_xml.findtext('CustomerId') == proto.CUSTOMER_ID


def test_renew_signature_needs_the_key_of_the_certificate(pki, proto):
    with pytest.raises(RequestValidationError, match='does not belong'):
        xml_security.sign_renew_request(_renew_element(proto), pki.signer_key, pki.customer_cert)
    with pytest.raises(RequestValidationError, match='not an RSA key'):
        xml_security.sign_renew_request(_renew_element(proto), ec.generate_private_key(ec.SECP256R1()),
                                        pki.customer_cert)


# ---- response verification ---------------------------------------------------------------------------------

def test_verification_needs_the_envelope_namespaces_dropped(pki, trust, responses, proto):
    element = proto.body_element(responses.retrieval_id('RID-42'))
    with pytest.raises(InvalidSignature):
        XMLVerifier().verify(element, x509_cert=pki.signer, expect_config=INCLUSIVE)
    assert XMLVerifier().verify(copy.deepcopy(element), x509_cert=pki.signer, expect_config=INCLUSIVE)

    verified = xml_security.verify_signed_response(element, trust)
    assert verified is not element
    assert verified.findtext('RetrievalId') == 'RID-42' and _status(verified) == 'OK'
    assert verified.find(DS + 'Signature') is None


def test_unused_namespace_declared_by_the_signed_element_is_kept(pki, trust, proto):
    element = etree.Element('{%s}GetCertificateResponse' % proto.APP_NS,
                            nsmap={'ns2': proto.APP_NS, 'unused': 'urn:example:unused'})
    result = etree.SubElement(element, 'Result')
    etree.SubElement(result, 'Status').text = 'OK'
    signed = proto.sign_element(element, pki.signer_key, [pki.signer])
    verified = xml_security.verify_signed_response(proto.body_element(proto.envelope(signed)), trust)
    assert _status(verified) == 'OK'


def test_exclusive_canonicalisation_is_accepted(trust, responses, proto):
    data = responses.signed('GetCertificateResponse', status='FAIL', errors=[('PKI008', 'not ready')],
                            c14n=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    verified = xml_security.verify_signed_response(proto.body_element(data), trust)
    assert verified.findtext('Result/ErrorInfo/ErrorCode') == 'PKI008'


def test_content_changed_after_signing_is_rejected(trust, responses, proto):
    data = responses.fail('GetCertificateResponse', ('PKI008', 'not ready'))
    element = proto.body_element(data)
    element.find('Result/Status').text = 'OK'
    with pytest.raises(ResponseRejected, match='signature of the response is not valid'):
        xml_security.verify_signed_response(element, trust)


def test_signature_value_from_another_key_is_rejected(pki, trust, responses, proto):
    data = responses.retrieval_id()
    element = proto.body_element(data)
    element.find('.//%sX509Certificate' % DS).text = ''.join(proto.pem(
        proto.cert('pkiws-test signer', proto.rsa_key('impostor'), pki.service_ca,
                   proto.rsa_key('service-ca'))).decode().splitlines()[1:-1])
    with pytest.raises(ResponseRejected, match='not valid'):
        xml_security.verify_signed_response(element, trust)


def test_signer_from_an_unknown_ca_is_rejected(trust, responses, proto):
    rogue_key = proto.rsa_key('rogue')
    rogue = proto.cert('pkiws-test signer', rogue_key)
    data = responses.retrieval_id()
    forged = responses.signed('SignNewCertificateResponse', ('RetrievalId', 'RID-X'), key=rogue_key, certs=[rogue])
    assert xml_security.verify_signed_response(proto.body_element(data), trust) is not None
    with pytest.raises(ResponseRejected, match='not in service_ca_path'):
        xml_security.verify_signed_response(proto.body_element(forged), trust)


def test_customer_certificate_cannot_sign_responses(pki, trust, responses, proto):
    data = responses.signed(
        'SignNewCertificateResponse', ('RetrievalId', 'RID-X'), key=pki.customer_key,
        certs=[pki.customer_cert, pki.issuing_ca])
    with pytest.raises(ResponseRejected, match='looks like the certificate of customer 1234567-8'):
        xml_security.verify_signed_response(proto.body_element(data), trust)


def test_a_trust_file_holding_the_customers_issuing_ca_does_not_trust_every_customer(pki, responses, proto):
    """service_ca_path given the issuing CA bundle by mistake: a customer's signature chains to it."""
    data = responses.signed('SignNewCertificateResponse', ('RetrievalId', 'RID-X'), key=pki.customer_key,
                            certs=[pki.customer_cert])
    with pytest.raises(ResponseRejected, match="holds the customers' issuing CA"):
        xml_security.verify_signed_response(proto.body_element(data), [pki.issuing_ca])


def _service_signer_with_a_business_id(proto, pki, responses):
    """certificate-service.md does not document the signer's subject: it may carry the Tax Administration's
    own Business ID (0245437-2) as CN, like a customer's certificate does."""
    key = proto.rsa_key('signer-with-business-id')
    signer = proto.cert('0245437-2', key, pki.service_ca, proto.rsa_key('service-ca'), key_usage='sign')
    return proto.body_element(responses.signed('SignNewCertificateResponse', ('RetrievalId', 'RID-X'), key=key,
                                               certs=[signer]))


def test_a_service_signer_with_a_business_id_is_accepted_when_the_configuration_tells_it_apart(
        pki, trust, responses, proto):
    verified = xml_security.verify_signed_response(_service_signer_with_a_business_id(proto, pki, responses), trust,
                                                   signer_pattern='^CN=0245437-2,C=FI$')
    assert verified.findtext('RetrievalId') == 'RID-X'
    verified = xml_security.verify_signed_response(_service_signer_with_a_business_id(proto, pki, responses), trust,
                                                   customer_issuing_certs=[pki.issuing_ca])
    assert verified.findtext('RetrievalId') == 'RID-X'


def test_without_the_customers_ca_or_a_pattern_a_business_id_signer_is_refused_with_the_way_out(
        pki, trust, responses, proto):
    with pytest.raises(ResponseRejected) as caught:
        xml_security.verify_signed_response(_service_signer_with_a_business_id(proto, pki, responses), trust)
    assert "holds the customers' issuing CA" in caught.value.message
    assert 'set service_signer_pattern' in caught.value.message


def test_a_signer_issued_by_the_customers_issuing_ca_is_refused_whatever_the_pattern(pki, responses, proto):
    """The misconfiguration, told from issuing_ca_path: a customer's signature chains to service_ca_path."""
    data = responses.signed('SignNewCertificateResponse', ('RetrievalId', 'RID-X'), key=pki.customer_key,
                            certs=[pki.customer_cert])
    with pytest.raises(ResponseRejected) as caught:
        xml_security.verify_signed_response(proto.body_element(data), [pki.issuing_ca], signer_pattern='CN=',
                                            customer_issuing_certs=[pki.issuing_ca])
    assert caught.value.message == (
        'The response was signed with the certificate of customer CN=1234567-8,C=FI, issued by '
        'CN=Data Providers Test Issuing CA v1,C=FI from issuing_ca_path, not by the certificate service. If '
        "service_ca_path holds the customers' issuing CA, replace it with the CA of the service's response "
        'signing certificate.')


def test_the_signer_subject_pattern_pins_the_service_signer(pki, trust, responses, proto):
    data = responses.signed('SignNewCertificateResponse', ('RetrievalId', 'RID-X'))
    element = xml_security.verify_signed_response(proto.body_element(data), trust,
                                                  signer_pattern=re.escape(pki.signer.subject.rfc4514_string()))
    assert element.findtext('RetrievalId') == 'RID-X'
    with pytest.raises(ResponseRejected, match='does not match service_signer_pattern'):
        xml_security.verify_signed_response(proto.body_element(data), trust, signer_pattern='CN=Someone else')


def test_a_ca_certificate_cannot_sign_responses(pki, responses, proto):
    data = responses.signed('SignNewCertificateResponse', ('RetrievalId', 'RID-X'), key=proto.rsa_key('service-ca'),
                            certs=[pki.service_ca])
    with pytest.raises(ResponseRejected, match='signed with the CA certificate'):
        xml_security.verify_signed_response(proto.body_element(data), [pki.service_ca])


def test_chain_is_built_from_the_trust_bundle_only(pki, responses, proto):
    data = responses.signed('SignNewCertificateResponse', ('RetrievalId', 'R'), certs=[pki.signer, pki.service_ca])
    with pytest.raises(ResponseRejected, match='not in service_ca_path'):
        xml_security.verify_signed_response(proto.body_element(data), [pki.service_root])
    assert xml_security.verify_signed_response(proto.body_element(data), [pki.service_ca]) is not None


def test_a_trust_file_without_the_signers_intermediate_names_it_and_the_option(pki, responses, proto):
    with pytest.raises(ResponseRejected) as caught:
        xml_security.verify_signed_response(proto.body_element(responses.retrieval_id()), [pki.service_root])
    assert caught.value.message == (
        'The response was signed by CN=pkiws-test signer,C=FI, issued by CN=Test Service Signing CA,C=FI, which is '
        'not in service_ca_path (it holds CN=Test Service Root CA,C=FI). If CN=Test Service Signing CA,C=FI is the '
        "certificate service's intermediate CA, add its certificate, as the Tax Administration publishes it, to "
        'service_ca_path; otherwise the response does not come from the certificate service.')


def test_a_pinned_signer_certificate_is_trusted(pki, responses, proto):
    element = proto.body_element(responses.retrieval_id())
    assert xml_security.verify_signed_response(element, [pki.signer]) is not None


def _signed_by(proto, responses, signer_cert, signer_key):
    return proto.body_element(responses.signed('SignNewCertificateResponse', ('RetrievalId', 'R'),
                                               key=signer_key, certs=[signer_cert]))


def test_issuer_must_be_a_ca(proto, responses):
    root_key, leaf_key = proto.rsa_key('not-ca-root'), proto.rsa_key('signer')
    not_ca = proto.cert('Not a CA', root_key, ca=False)
    signer = proto.cert('signer', leaf_key, not_ca, root_key, key_usage='sign')
    with pytest.raises(ResponseRejected, match='is not a CA'):
        xml_security.verify_signed_response(_signed_by(proto, responses, signer, leaf_key), [not_ca])


def test_path_length_of_the_root_is_enforced(proto, responses):
    root_key, ca_key, leaf_key = proto.rsa_key('service-root'), proto.rsa_key('service-ca'), proto.rsa_key('signer')
    root = proto.cert('Strict Root', root_key, ca=True, path_length=0)
    intermediate = proto.cert('Intermediate', ca_key, root, root_key, ca=True)
    signer = proto.cert('signer', leaf_key, intermediate, ca_key)
    with pytest.raises(ResponseRejected, match='pathLenConstraint'):
        xml_security.verify_signed_response(_signed_by(proto, responses, signer, leaf_key), [intermediate, root])


def test_issuer_without_cert_sign_usage_is_refused(proto, responses):
    root_key, leaf_key = proto.rsa_key('service-root'), proto.rsa_key('signer')
    root = proto.cert('Usage Root', root_key, ca=True, key_usage='sign')
    signer = proto.cert('signer', leaf_key, root, root_key)
    with pytest.raises(ResponseRejected, match='keyCertSign'):
        xml_security.verify_signed_response(_signed_by(proto, responses, signer, leaf_key), [root])


def test_signer_without_signature_usage_is_refused(pki, proto, responses):
    leaf_key = proto.rsa_key('signer')
    signer = proto.cert('signer', leaf_key, pki.service_ca, proto.rsa_key('service-ca'), key_usage='encipher')
    with pytest.raises(ResponseRejected, match='may not make signatures'):
        xml_security.verify_signed_response(_signed_by(proto, responses, signer, leaf_key), [pki.service_ca])


@pytest.mark.parametrize('expired', ['signer', 'intermediate', 'root'])
def test_every_certificate_of_the_chain_must_be_valid_now(proto, responses, expired):
    root_key, ca_key, leaf_key = proto.rsa_key('service-root'), proto.rsa_key('service-ca'), proto.rsa_key('signer')

    def days(name):
        return (-800, -1) if name == expired else (-30, 700)
    root = proto.cert('Root', root_key, ca=True, days=days('root'))
    intermediate = proto.cert('Intermediate', ca_key, root, root_key, ca=True, days=days('intermediate'))
    signer = proto.cert('signer', leaf_key, intermediate, ca_key, days=days('signer'))
    with pytest.raises(ResponseRejected, match='expired|not valid now'):
        xml_security.verify_signed_response(_signed_by(proto, responses, signer, leaf_key), [intermediate, root])


def test_verification_time_can_be_given(trust, responses, proto):
    element = proto.body_element(responses.retrieval_id())
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=800)
    with pytest.raises(ResponseRejected, match='expired'):
        xml_security.verify_signed_response(element, trust, now=later)


def test_two_signatures_are_refused(pki, trust, responses, proto):
    element = proto.body_element(responses.retrieval_id())
    element.find('Result').append(copy.deepcopy(element.find(DS + 'Signature')))
    with pytest.raises(ResponseRejected, match='2 XML signatures'):
        xml_security.verify_signed_response(element, trust)


def test_signature_must_be_the_last_child(trust, responses, proto):
    element = proto.body_element(responses.retrieval_id())
    element.append(element.find('Result'))
    with pytest.raises(ResponseRejected, match='last child'):
        xml_security.verify_signed_response(element, trust)


def test_a_reference_to_the_id_of_the_response_element_is_accepted(pki, trust, proto):
    element = proto.response_element('SignNewCertificateResponse', ('RetrievalId', 'R'))
    element.set('Id', 'response')
    signed = proto.sign_element(element, pki.signer_key, [pki.signer], reference_uri='#response')
    verified = xml_security.verify_signed_response(proto.body_element(proto.envelope(signed)), trust)
    assert verified.findtext('RetrievalId') == 'R'


def test_a_reference_to_another_element_is_refused(pki, trust, proto):
    element = proto.response_element('SignNewCertificateResponse', ('RetrievalId', 'R'))
    element.find('RetrievalId').set('Id', 'part')
    signed = proto.sign_element(element, pki.signer_key, [pki.signer], reference_uri='#part')
    with pytest.raises(ResponseRejected, match='neither empty nor the Id of the response element'):
        xml_security.verify_signed_response(proto.body_element(proto.envelope(signed)), trust)


def test_a_second_element_with_the_response_elements_id_is_refused(pki, trust, proto):
    element = proto.response_element('SignNewCertificateResponse', ('RetrievalId', 'R'))
    element.set('Id', 'response')
    signed = proto.sign_element(element, pki.signer_key, [pki.signer], reference_uri='#response')
    # Wrapping: a copy of the signed content with the same Id, placed where a naive verifier finds it first.
    decoy = etree.SubElement(signed, 'RetrievalId')
    decoy.set('Id', 'response')
    signed.insert(0, decoy)
    with pytest.raises(ResponseRejected):
        xml_security.verify_signed_response(proto.body_element(proto.envelope(signed)), trust)


def test_sha1_is_refused(pki, trust, proto):
    signer = XMLSigner(method=methods.enveloped, c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0)
    # signxml refuses to make SHA-1 signatures, which is exactly what an attacker would not care about.
    signer.sign_alg, signer.digest_alg = SignatureMethod.RSA_SHA1, DigestAlgorithm.SHA1
    signed = signer.sign(proto.response_element('SignNewCertificateResponse', ('RetrievalId', 'R')),
                         key=pki.signer_key, cert=[pki.signer])
    with pytest.raises(ResponseRejected, match='SHA1'):
        xml_security.verify_signed_response(proto.body_element(proto.envelope(signed)), trust)


def test_unsupported_canonicalisation_is_refused(pki, trust, proto):
    signed = proto.sign_element(proto.response_element('SignNewCertificateResponse', ('RetrievalId', 'R')),
                                pki.signer_key, [pki.signer], c14n=CanonicalizationMethod.CANONICAL_XML_1_1)
    with pytest.raises(ResponseRejected, match='canonicalization'):
        xml_security.verify_signed_response(proto.body_element(proto.envelope(signed)), trust)


def test_unsigned_response_and_missing_signer_certificate_are_refused(pki, trust, proto):
    unsigned = proto.response_element('GetCertificateResponse')
    with pytest.raises(ResponseRejected, match='0 XML signatures'):
        xml_security.verify_signed_response(proto.body_element(proto.envelope(unsigned)), trust)
    signed = proto.sign_element(proto.response_element('GetCertificateResponse'), pki.signer_key, [pki.signer])
    key_info = signed.find('%sSignature/%sKeyInfo' % (DS, DS))
    key_info.getparent().remove(key_info)
    with pytest.raises(ResponseRejected, match='no signer certificate'):
        xml_security.verify_signed_response(proto.body_element(proto.envelope(signed)), trust)


def test_an_empty_trust_bundle_trusts_nothing(responses, proto):
    with pytest.raises(ResponseRejected, match='No trusted CA'):
        xml_security.verify_signed_response(proto.body_element(responses.retrieval_id()), [])


# ---- namespace shapes of a response signed standalone, then wrapped ------------------------------------------

def _signed_standalone(pki, proto, response_xml):
    """Sign the response document on its own (inclusive C14N), as the service does before it wraps it."""
    signed = proto.sign_element(etree.fromstring(response_xml), pki.signer_key, [pki.signer])
    return etree.tostring(signed).decode('utf-8')


def _wrapped(signed_xml, envelope_declarations=''):
    """The signed bytes inside a SOAP-ENV envelope with an empty Header (certificate-service.md)."""
    return ('<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"%s><SOAP-ENV:Header/>'
            '<SOAP-ENV:Body>%s</SOAP-ENV:Body></SOAP-ENV:Envelope>' % (envelope_declarations, signed_xml)).encode()


XSI = ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def _namespace_shapes(app):
    """(signed document, declarations to move from its root to the envelope, extra envelope declarations)."""
    return {
        'default-namespace': ('<SignNewCertificateResponse xmlns="%s"><RetrievalId xmlns="">R-1</RetrievalId>'
                              '<Result xmlns=""><Status>OK</Status></Result></SignNewCertificateResponse>' % app,
                              '', ''),
        'jaxb-default-ds': ('<ns2:SignNewCertificateResponse xmlns="http://www.w3.org/2000/09/xmldsig#" '
                            'xmlns:ns2="%s"><RetrievalId xmlns="">R-1</RetrievalId><Result xmlns="">'
                            '<Status>OK</Status></Result></ns2:SignNewCertificateResponse>' % app, '', ''),
        'unused-on-envelope-and-element': ('<ns2:SignNewCertificateResponse xmlns:ns2="%s"%s><RetrievalId>R-1'
                                           '</RetrievalId><Result><Status>OK</Status></Result>'
                                           '</ns2:SignNewCertificateResponse>' % (app, XSI), '', XSI),
        'unused-moved-to-envelope': ('<ns2:SignNewCertificateResponse xmlns:ns2="%s"%s><RetrievalId>R-1'
                                     '</RetrievalId><Result><Status>OK</Status></Result>'
                                     '</ns2:SignNewCertificateResponse>' % (app, XSI), XSI, XSI),
        'used-prefix-moved-to-envelope': ('<ns2:SignNewCertificateResponse xmlns:ns2="%s"><RetrievalId>R-1'
                                          '</RetrievalId><Result><Status>OK</Status></Result>'
                                          '</ns2:SignNewCertificateResponse>' % app,
                                          ' xmlns:ns2="%s"' % app, ' xmlns:ns2="%s"' % app),
        'unused-only-on-envelope': ('<ns2:SignNewCertificateResponse xmlns:ns2="%s"><RetrievalId>R-1'
                                    '</RetrievalId><Result><Status>OK</Status></Result>'
                                    '</ns2:SignNewCertificateResponse>' % app,
                                    '', ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'),
        'envelope-namespace-used-inside': ('<ns2:SignNewCertificateResponse xmlns:ns2="%s" xmlns:SOAP-ENV='
                                           '"http://schemas.xmlsoap.org/soap/envelope/" SOAP-ENV:encodingStyle="x">'
                                           '<RetrievalId>R-1</RetrievalId><Result><Status>OK</Status></Result>'
                                           '</ns2:SignNewCertificateResponse>' % app, '', ''),
        'redundant-declaration-deeper-down': ('<ns2:SignNewCertificateResponse xmlns:ns2="%s"><RetrievalId>R-1'
                                              '</RetrievalId><Result><Status xmlns:ns2="%s">OK</Status></Result>'
                                              '</ns2:SignNewCertificateResponse>' % (app, app), '', ''),
    }


@pytest.mark.parametrize('shape', sorted(_namespace_shapes('APP')))
def test_responses_signed_standalone_verify_in_every_namespace_shape(pki, trust, proto, shape):
    response_xml, moved, envelope_declarations = _namespace_shapes(proto.APP_NS)[shape]
    signed = _signed_standalone(pki, proto, response_xml)
    if moved:
        signed = signed.replace(moved, '', 1)
    verified = xml_security.verify_signed_response(proto.body_element(_wrapped(signed, envelope_declarations)),
                                                   trust)
    assert verified.findtext('RetrievalId') == 'R-1' and _status(verified) == 'OK'


@pytest.mark.parametrize('shape', sorted(_namespace_shapes('APP')))
def test_tampering_is_refused_in_every_namespace_shape(pki, trust, proto, shape):
    response_xml, moved, envelope_declarations = _namespace_shapes(proto.APP_NS)[shape]
    signed = _signed_standalone(pki, proto, response_xml).replace('R-1', 'R-2')
    if moved:
        signed = signed.replace(moved, '', 1)
    with pytest.raises(ResponseRejected, match='signature of the response is not valid'):
        xml_security.verify_signed_response(proto.body_element(_wrapped(signed, envelope_declarations)), trust)


def test_a_namespace_declaration_the_signer_saw_cannot_be_dropped_or_added(pki, trust, proto):
    """Unused declarations are part of what inclusive C14N digests: moving one in or out is a change."""
    response_xml = ('<ns2:SignNewCertificateResponse xmlns:ns2="%s"><RetrievalId>R-1</RetrievalId><Result>'
                    '<Status>OK</Status></Result></ns2:SignNewCertificateResponse>' % proto.APP_NS)
    signed = _signed_standalone(pki, proto, response_xml)
    added = signed.replace('<RetrievalId>', '<RetrievalId%s>' % XSI, 1)
    with pytest.raises(ResponseRejected, match='signature of the response is not valid'):
        xml_security.verify_signed_response(proto.body_element(_wrapped(added)), trust)


def test_a_standalone_copy_that_would_change_the_content_is_not_offered(proto):
    envelope = etree.fromstring(('<S:Envelope xmlns:S="%s" xmlns:ns2="%s" xmlns="urn:default"><S:Body>'
                                 '<ns2:GetCertificateResponse><Result/></ns2:GetCertificateResponse></S:Body>'
                                 '</S:Envelope>' % (proto.SOAP_NS, proto.APP_NS)).encode())
    element = envelope.find('{%s}Body' % proto.SOAP_NS)[0]
    assert xml_security._copy_without(element, [('ns2', proto.APP_NS)]) is None
    assert xml_security._copy_without(element, [(None, 'urn:default')]) is None
    standalone = xml_security._copy_without(element, [('S', proto.SOAP_NS)])
    assert standalone.nsmap == {'ns2': proto.APP_NS, None: 'urn:default'}
    assert standalone.find('{urn:default}Result') is not None
