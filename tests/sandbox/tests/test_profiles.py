"""Response profiles: `real` with the quirks public clients of the real service show, `minimal` without them."""
import copy
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLVerifier
from signxml.exceptions import InvalidSignature as InvalidXMLSignature

from irsandbox.testing import RunningSandbox
from wire_client import (APP, DS, SOAP, VERIFY_CONFIG, Client, Reply, UntrustedChain, chain_to, load_pem_cert,
                         make_csr, pem, signer_certificate, soap_fault, spki)

BASE64_LINE = re.compile(rb'^[A-Za-z0-9+/]+={0,2}$')
SIGNER_NAME = 'Incomes Register Sandbox Certificate Service'


@pytest.fixture(scope='module')
def minimal(tmp_path_factory):
    with RunningSandbox(tmp_path_factory.mktemp('minimal') / 'data', profile='minimal', not_ready_code='PKI901',
                        not_ready_message='Certificate processing is not finished') as running:
        yield running


@pytest.fixture
def minimal_client(minimal):
    return Client(minimal)


@pytest.fixture(params=['real', 'minimal'])
def profiled(request, sandbox):
    """The shared sandbox answering in each profile in turn; back to the default afterwards."""
    sandbox.configure(profile=request.param)
    yield sandbox
    sandbox.configure(profile='real')
    sandbox.clear_faults()


def get_body(client, customer_id='1234567-8', retrieval_id='unknown'):
    return client.envelope(client.get_element(customer_id, retrieval_id))


def wire_text(content, tag):
    """The text of the single element written as <tag>...</tag> in the raw response bytes."""
    (text,) = re.findall(rb'<%s>(.*?)</%s>' % (tag, tag), content, flags=re.DOTALL)
    return text


def common_name(name):
    return name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def assert_java_wrapped(text):
    """Lines of 76 base64 characters, the last one shorter or equal, separated by a CR written as &#13;."""
    lines = text.split(b'&#13;\n')
    assert len(lines) > 1
    assert all(len(line) == 76 for line in lines[:-1]) and 0 < len(lines[-1]) <= 76
    assert all(BASE64_LINE.match(line) for line in lines)


def enrolled_http(client, sandbox, key, customer_id):
    """The raw HTTP answer of a GetCertificate that returns the customer's new certificate."""
    transfer_id, password = sandbox.subscribe(customer_id, 'Org Oy')
    signed = client.sign_new(customer_id, transfer_id, password, make_csr(key, customer_id))
    return client.post(get_body(client, customer_id, signed.retrieval_id))


def test_real_is_the_default_and_answers_in_a_soap_env_envelope_with_an_empty_header(client):
    http = client.post(get_body(client))
    assert http.content.split(b'\n', 1)[1].startswith(
        b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Header/>'
        b'<SOAP-ENV:Body><ns2:GetCertificateResponse')
    root = etree.fromstring(http.content)
    header, body = root
    assert (root.prefix, header.tag, body.tag) == ('SOAP-ENV', '{%s}Header' % SOAP, '{%s}Body' % SOAP)
    assert len(header) == 0 and not header.text
    assert Reply(http, 'getCertificate', client.service_trust).codes == ['PKI009']
    # SOAP faults come in the same envelope.
    fault = client.post(b'not xml')
    assert b'<faultcode>SOAP-ENV:Client</faultcode>' in fault.content
    assert soap_fault(fault)[0] == '{%s}Client' % SOAP


def test_real_wraps_base64_as_java_does_and_the_signature_still_verifies(client, sandbox, keys, customer_id):
    http = enrolled_http(client, sandbox, keys[0], customer_id)
    for tag in (b'ds:SignatureValue', b'ds:X509Certificate', b'Certificate'):
        assert_java_wrapped(wire_text(http.content, tag))

    reply = Reply(http, 'getCertificate', client.service_trust)  # chain and detached signature check
    assert '\r\n' in reply.element.findtext('Certificate')
    assert spki(reply.certificate.public_key()) == spki(keys[0].public_key())
    # The other standalone recipe: serialise, drop the envelope's namespaces, reparse. The CRs
    # inside the signed Certificate must survive the round trip for the digest to match.
    detached = etree.fromstring(etree.tostring(reply.element))
    etree.cleanup_namespaces(detached, keep_ns_prefixes=['ns2', 'ds'])
    XMLVerifier().verify(detached, x509_cert=pem(reply.signer), expect_config=VERIFY_CONFIG)
    # Certificate is signed: stripping its line breaks breaks the signature.
    flattened = copy.deepcopy(reply.element)
    flattened.find('Certificate').text = ''.join(flattened.findtext('Certificate').split())
    with pytest.raises(InvalidXMLSignature):
        XMLVerifier().verify(flattened, x509_cert=pem(reply.signer), expect_config=VERIFY_CONFIG)


def test_real_signer_is_the_only_certificate_in_keyinfo_and_chains_through_the_issuing_ca(client, sandbox):
    http = client.post(get_body(client))
    element = etree.fromstring(http.content).find('{%s}Body/{%s}GetCertificateResponse' % (SOAP, APP))
    assert len(element.findall('{%s}Signature/{%s}KeyInfo/{%s}X509Data/*' % (DS, DS, DS))) == 1
    signer, issuing_ca, root_ca = chain_to(signer_certificate(element), client.service_trust)
    assert common_name(signer.subject) == SIGNER_NAME
    assert not signer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert common_name(issuing_ca.subject) == 'Incomes Register Sandbox Services Issuing CA v1'
    assert common_name(root_ca.subject) == 'Incomes Register Sandbox Services Root CA'
    assert load_pem_cert(sandbox.service_ca_pem) == [issuing_ca, root_ca]
    # The root alone does not do: a client must build the chain through the intermediate.
    with pytest.raises(UntrustedChain):
        chain_to(signer, [root_ca])


def test_minimal_keeps_the_plain_shapes(minimal_client, minimal, keys, customer_id):
    http = enrolled_http(minimal_client, minimal, keys[1], customer_id)
    root = etree.fromstring(http.content)
    assert root.prefix == 'S' and [child.tag for child in root] == ['{%s}Body' % SOAP]
    assert b'&#13;' not in http.content
    assert re.fullmatch(rb'[A-Za-z0-9+/]+={0,2}', wire_text(http.content, b'Certificate'))
    assert re.fullmatch(rb'[A-Za-z0-9+/]+={0,2}', wire_text(http.content, b'ds:SignatureValue'))
    reply = Reply(http, 'getCertificate', minimal_client.service_trust)
    assert spki(reply.certificate.public_key()) == spki(keys[1].public_key())
    # The signer sits directly below the services root; the same trust bundle covers it.
    signer, root_ca = reply.signer_chain
    assert common_name(signer.subject) == SIGNER_NAME
    assert common_name(root_ca.subject) == 'Incomes Register Sandbox Services Root CA'
    assert b'<faultcode>S:Client</faultcode>' in minimal_client.post(b'not xml').content


def test_profile_and_not_ready_answer_given_at_start_are_stored(minimal):
    settings = minimal.configure()
    assert (settings['profile'], settings['not_ready_code'], settings['not_ready_message']) == (
        'minimal', 'PKI901', 'Certificate processing is not finished')


@pytest.mark.parametrize('code, message', [('PKI901', 'Certificate processing is not finished'),
                                           ('X', 'M' * 255)])
def test_not_ready_answer_is_configurable(client, sandbox, keys, customer_id, code, message):
    transfer_id, password = sandbox.subscribe(customer_id, None)
    sandbox.configure(retrieval_delay=60, not_ready_code=code, not_ready_message=message)
    try:
        signed = client.sign_new(customer_id, transfer_id, password, make_csr(keys[0], customer_id))
        early = client.get(customer_id, signed.retrieval_id)
    finally:
        settings = sandbox.configure(retrieval_delay=0, not_ready_code='PKI008',
                                     not_ready_message='The certificate is not ready yet; retry later')
    assert (early.status, early.codes, early.messages, early.certificate) == ('FAIL', [code], [message], None)
    assert settings['not_ready_code'] == 'PKI008'
    # Only the not-ready answer changes: an unknown retrieval is still PKI009.
    assert client.get(customer_id, 'unknown').codes == ['PKI009']


def test_profile_switches_while_the_server_runs(client, profiled):
    prefix = etree.fromstring(client.post(get_body(client)).content).prefix
    assert prefix == {'real': 'SOAP-ENV', 'minimal': 'S'}[profiled.configure()['profile']]


def test_enrolment_and_renewal_verify_in_each_profile(client, profiled, keys, customer_id, tmp_path):
    cert = client.enrol(customer_id, keys[2])
    assert common_name(cert.subject) == customer_id
    key_path = tmp_path / 'current.pem'
    key_path.write_bytes(keys[2].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    current = x509.load_pem_x509_certificate(
        profiled.issue(customer_id, key_path=key_path, expires_in_days=30)['certificate_pem'].encode())
    renewed = client.renew(customer_id, make_csr(keys[3], customer_id), keys[2], current)
    assert renewed.status == 'OK', renewed.messages
    new = client.get(customer_id, renewed.retrieval_id).certificate
    assert spki(new.public_key()) == spki(keys[3].public_key())


def test_tampering_and_impostors_are_detectable_in_each_profile(client, profiled, keys, customer_id):
    http = enrolled_http(client, profiled, keys[0], customer_id)
    retrieval_body = http.request.body
    profiled.set_fault('getCertificate', 'bad-signature', times=1)
    tampered = client.post(retrieval_body)
    # The swapped certificate is written like the genuine one: only the signature tells.
    genuine_shape = [len(line) for line in wire_text(http.content, b'Certificate').split(b'&#13;\n')]
    assert [len(line) for line in wire_text(tampered.content, b'Certificate').split(b'&#13;\n')] == genuine_shape
    with pytest.raises(InvalidXMLSignature):
        Reply(tampered, 'getCertificate', client.service_trust)

    profiled.set_fault('getCertificate', 'untrusted-signer', times=1)
    impostor = client.post(retrieval_body)
    element = etree.fromstring(impostor.content).find('{%s}Body/{%s}GetCertificateResponse' % (SOAP, APP))
    signer = signer_certificate(element)
    genuine = Reply(http, 'getCertificate', client.service_trust).signer
    assert (signer.subject, signer.issuer) == (genuine.subject, genuine.issuer)
    with pytest.raises(UntrustedChain):
        chain_to(signer, client.service_trust)
    XMLVerifier().verify(copy.deepcopy(element), x509_cert=pem(signer), expect_config=VERIFY_CONFIG)
