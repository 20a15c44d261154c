"""An independent client of the certificate service, written from the wire contract.

It uses lxml, signxml and requests directly; it imports neither the collection's client
(the sandbox must be able to catch that client's bugs) nor the sandbox's own SOAP code
(the tests must be able to catch the sandbox's bugs).
"""
import base64
import copy
import datetime

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import (CanonicalizationMethod, DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLSigner,
                     XMLVerifier)

SOAP = 'http://schemas.xmlsoap.org/soap/envelope/'
APP = 'http://certificates.vero.fi/2017/10/certificateservices'
DS = 'http://www.w3.org/2000/09/xmldsig#'
REQUEST_ELEMENT = {'signNewCertificate': 'SignNewCertificateRequest', 'getCertificate': 'GetCertificateRequest',
                   'renewCertificate': 'RenewCertificateRequest'}
RESPONSE_ELEMENT = {'signNewCertificate': 'SignNewCertificateResponse', 'getCertificate': 'GetCertificateResponse',
                    'renewCertificate': 'RenewCertificateResponse'}
VERIFY_CONFIG = SignatureConfiguration(default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0)


def safe_parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def der(obj):
    return obj.public_bytes(serialization.Encoding.DER)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


def b64(data):
    return base64.b64encode(data).decode('ascii')


def spki(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def make_csr(key, common_name, organisation=None, algorithm=None):
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, 'FI')]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return (x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes))
            .sign(key, algorithm or hashes.SHA256()))


def self_signed(key, common_name, days=365):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))


def load_pem_cert(path):
    with open(path, 'rb') as handle:
        return x509.load_pem_x509_certificates(handle.read())


class UntrustedChain(Exception):
    """The certificate does not chain to a root in the trust bundle."""


class Reply:
    """A parsed, signature-checked service response."""

    def __init__(self, http, operation, service_trust):
        self.http = http
        self.root = etree.fromstring(http.content, safe_parser())
        body = self.root.find('{%s}Body' % SOAP)
        self.element = body.find('{%s}%s' % (APP, RESPONSE_ELEMENT[operation]))
        assert self.element is not None, http.text[:500]
        self.signer_chain = verify_response_element(self.element, service_trust)
        self.signer = self.signer_chain[0]

    @property
    def status(self):
        return self.element.findtext('Result/Status')

    @property
    def codes(self):
        return [info.findtext('ErrorCode') for info in self.element.findall('Result/ErrorInfo')]

    @property
    def messages(self):
        return [info.findtext('ErrorMessage') for info in self.element.findall('Result/ErrorInfo')]

    @property
    def retrieval_id(self):
        return self.element.findtext('RetrievalId')

    @property
    def certificate(self):
        text = self.element.findtext('Certificate')
        return x509.load_der_x509_certificate(base64.b64decode(text)) if text else None


def soap_fault(http):
    """(faultcode as a {namespace}name, faultstring): the faultcode's prefix is the response's own."""
    root = etree.fromstring(http.content, safe_parser())
    fault = root.find('{%s}Body/{%s}Fault' % (SOAP, SOAP))
    assert fault is not None, http.text[:300]
    code = fault.find('faultcode')
    prefix, name = code.text.split(':')
    return '{%s}%s' % (code.nsmap[prefix], name), fault.findtext('faultstring')


def signer_certificate(element):
    encoded = element.find('{%s}Signature/{%s}KeyInfo/{%s}X509Data/{%s}X509Certificate' % (DS, DS, DS, DS)).text
    return x509.load_der_x509_certificate(base64.b64decode(encoded))


def issued_by(cert, issuer):
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, InvalidSignature):
        return False
    return True


def chain_to(cert, trust):
    """[cert, issuer, ..., root]: every issuer taken from trust and checked by name and signature."""
    path = [cert]
    while True:
        issuer = next((candidate for candidate in trust
                       if candidate not in path[1:] and issued_by(path[-1], candidate)), None)
        if issuer is None:
            raise UntrustedChain('%s does not chain to the trust bundle' % path[-1].subject.rfc4514_string())
        path.append(issuer)
        if issued_by(issuer, issuer):
            return path


def verify_response_element(element, service_trust):
    """The contract's recipe: chain check of the KeyInfo signer, then verify a detached copy; returns the chain."""
    chain = chain_to(signer_certificate(element), service_trust)
    XMLVerifier().verify(copy.deepcopy(element), x509_cert=pem(chain[0]), expect_config=VERIFY_CONFIG)
    return chain


def sign_request(element, key, cert, c14n=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0):
    signer = XMLSigner(signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256,
                       c14n_algorithm=c14n)
    return signer.sign(element, key=key, cert=[pem(cert)])


class Client:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.service_trust = load_pem_cert(sandbox.service_ca_pem)
        self.session = requests.Session()

    @staticmethod
    def request_element(operation, fields):
        element = etree.Element('{%s}%s' % (APP, REQUEST_ELEMENT[operation]), nsmap={'cer': APP})
        for name, value in fields:
            if value is not None:
                etree.SubElement(element, name).text = value
        return element

    @staticmethod
    def envelope(element):
        env = etree.Element('{%s}Envelope' % SOAP, nsmap={'soapenv': SOAP})
        etree.SubElement(env, '{%s}Header' % SOAP)
        etree.SubElement(env, '{%s}Body' % SOAP).append(element)
        return etree.tostring(env, xml_declaration=True, encoding='UTF-8')

    def post(self, body, operation='getCertificate', soap_action=None, timeout=30, **kwargs):
        headers = {'Content-Type': 'text/xml; charset=utf-8',
                   'SOAPAction': soap_action if soap_action is not None else '"%s"' % operation}
        headers.update(kwargs.pop('headers', {}))
        # verify per call: a session-level verify loses against REQUESTS_CA_BUNDLE in the environment.
        return self.session.post(self.sandbox.url, data=body, headers=headers, timeout=timeout,
                                 verify=self.sandbox.tls_ca_pem, **kwargs)

    def call(self, operation, element, **kwargs):
        http = self.post(self.envelope(element), operation, **kwargs)
        assert http.status_code == 200, http.text[:500]
        return Reply(http, operation, self.service_trust)

    def sign_new_element(self, customer_id, transfer_id, password, csr, environment='TEST', name=None):
        return self.request_element('signNewCertificate', [
            ('Environment', environment), ('CustomerId', customer_id), ('CustomerName', name),
            ('TransferId', transfer_id), ('TransferPassword', password),
            ('CertificateRequest', b64(csr if isinstance(csr, bytes) else der(csr)))])

    def sign_new(self, customer_id, transfer_id, password, csr, environment='TEST', name=None):
        return self.call('signNewCertificate',
                         self.sign_new_element(customer_id, transfer_id, password, csr, environment, name))

    def get_element(self, customer_id, retrieval_id, environment='TEST'):
        return self.request_element('getCertificate', [
            ('Environment', environment), ('CustomerId', customer_id), ('RetrievalId', retrieval_id)])

    def get(self, customer_id, retrieval_id, environment='TEST'):
        return self.call('getCertificate', self.get_element(customer_id, retrieval_id, environment))

    def renew_element(self, customer_id, csr, key, cert, environment='TEST', **sign_options):
        element = self.request_element('renewCertificate', [
            ('Environment', environment), ('CustomerId', customer_id),
            ('CertificateRequest', b64(der(csr)))])
        return sign_request(element, key, cert, **sign_options)

    def renew(self, customer_id, csr, key, cert, environment='TEST', **sign_options):
        return self.call('renewCertificate', self.renew_element(customer_id, csr, key, cert, environment,
                                                                **sign_options))

    def enrol(self, customer_id, key, name='Org Oy', environment='TEST'):
        """Subscribe, sign and retrieve: returns the issued certificate."""
        transfer_id, password = self.sandbox.subscribe(customer_id, name, environment)
        signed = self.sign_new(customer_id, transfer_id, password, make_csr(key, customer_id, name), environment,
                               name)
        assert signed.status == 'OK', signed.messages
        got = self.get(customer_id, signed.retrieval_id, environment)
        assert got.status == 'OK', got.messages
        return got.certificate
