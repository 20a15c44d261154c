"""Fixtures for the protocol client tests: a small PKI, signed service responses, a local HTTPS service.

The PKI uses the real current time, because verify_signed_response checks validity against now.
"""
import base64
import collections
import datetime
import http.server
import ipaddress
import ssl
import threading
import types

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods

SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/'
APP_NS = 'http://certificates.vero.fi/2017/10/certificateservices'
DS_NS = 'http://www.w3.org/2000/09/xmldsig#'
CUSTOMER_ID = '1234567-8'
SERVICE_PATH = '/2017/10/CertificateServices'
DAY = datetime.timedelta(days=1)

_KEYS = {}


def rsa_key(label, size=2048):
    """One key per role; RSA generation is the slow part of these tests."""
    if (label, size) not in _KEYS:
        _KEYS[(label, size)] = rsa.generate_private_key(public_exponent=65537, key_size=size)
    return _KEYS[(label, size)]


def cert(subject_cn, key, issuer=None, issuer_key=None, ca=False, path_length=None, days=(-30, 700),
         key_usage=None, san_ip=None, basic_constraints=True):
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, 'FI'),
                         x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer.subject if issuer is not None else subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now + days[0] * DAY)
               .not_valid_after(now + days[1] * DAY))
    if basic_constraints:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    if key_usage == 'sign':
        builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                                        critical=True)
    elif key_usage == 'ca':
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                        critical=True)
    elif key_usage == 'encipher':
        builder = builder.add_extension(x509.KeyUsage(False, False, True, False, False, False, False, False, False),
                                        critical=True)
    if san_ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san_ip))]),
                                        critical=False)
    # Key identifiers as RFC 5280 asks: Python 3.13's TLS verification (VERIFY_X509_STRICT) refuses a chain
    # without them, and every real CA sets them.
    signer = issuer_key if issuer_key is not None else key
    builder = (builder
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False))
    return builder.sign(signer, hashes.SHA256())


def pem(certificate):
    return certificate.public_bytes(serialization.Encoding.PEM)


def csr_der(key, common_name=CUSTOMER_ID):
    request = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, 'FI'),
                                        x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
               .sign(key, hashes.SHA256()))
    return request.public_bytes(serialization.Encoding.DER)


PKI = collections.namedtuple('PKI', [
    'service_root', 'service_ca', 'signer', 'signer_key', 'issuing_ca', 'customer_cert', 'customer_key',
    'tls_ca', 'tls_server', 'tls_server_key', 'other_tls_ca'])


@pytest.fixture(scope='session')
def pki():
    root_key, ca_key, signer_key = rsa_key('service-root'), rsa_key('service-ca'), rsa_key('signer')
    service_root = cert('Test Service Root CA', root_key, ca=True, key_usage='ca', days=(-400, 3000))
    service_ca = cert('Test Service Signing CA', ca_key, service_root, root_key, ca=True, path_length=0,
                      key_usage='ca', days=(-300, 2000))
    signer = cert('pkiws-test signer', signer_key, service_ca, ca_key, key_usage='sign')
    issuing_key, customer_key = rsa_key('issuing'), rsa_key('customer')
    issuing_ca = cert('Data Providers Test Issuing CA v1', issuing_key, ca=True, key_usage='ca')
    customer_cert = cert(CUSTOMER_ID, customer_key, issuing_ca, issuing_key, key_usage='sign')
    tls_ca_key, tls_key = rsa_key('tls-ca'), rsa_key('tls-server')
    tls_ca = cert('Test TLS CA', tls_ca_key, ca=True, key_usage='ca')
    tls_server = cert('127.0.0.1', tls_key, tls_ca, tls_ca_key, san_ip='127.0.0.1')
    other_tls_ca = cert('Other TLS CA', rsa_key('other-tls-ca'), ca=True, key_usage='ca')
    return PKI(service_root, service_ca, signer, signer_key, issuing_ca, customer_cert, customer_key,
               tls_ca, tls_server, tls_key, other_tls_ca)


@pytest.fixture(scope='session')
def trust(pki):
    """The service trust bundle as module_support would load it from service_ca_path."""
    return [pki.service_ca, pki.service_root]


# ---- service responses -------------------------------------------------------------------------------------

def response_element(name, payload=None, status='OK', errors=()):
    """An unsigned <ns2:NameResponse> with an optional (tag, text) payload before Result."""
    element = etree.Element('{%s}%s' % (APP_NS, name), nsmap={'ns2': APP_NS})
    if payload is not None:
        etree.SubElement(element, payload[0]).text = payload[1]
    result = etree.SubElement(element, 'Result')
    etree.SubElement(result, 'Status').text = status
    for code, message in errors:
        info = etree.SubElement(result, 'ErrorInfo')
        etree.SubElement(info, 'ErrorCode').text = code
        etree.SubElement(info, 'ErrorMessage').text = message
    return element


def sign_element(element, key, certs, c14n=CanonicalizationMethod.CANONICAL_XML_1_0, **kwargs):
    """Sign the element as a standalone document, as the service does (contract recipe)."""
    signer = XMLSigner(method=methods.enveloped, signature_algorithm=SignatureMethod.RSA_SHA256,
                       digest_algorithm=DigestAlgorithm.SHA256, c14n_algorithm=c14n)
    return signer.sign(element, key=key, cert=list(certs), **kwargs)


def envelope(signed_element):
    """Wrap the signed element into S:Body like a JAX-WS server: the envelope declares xmlns:S."""
    env = etree.Element('{%s}Envelope' % SOAP_NS, nsmap={'S': SOAP_NS})
    etree.SubElement(env, '{%s}Body' % SOAP_NS).append(signed_element)
    return etree.tostring(env, xml_declaration=True, encoding='UTF-8')


def body_element(envelope_bytes):
    """The response element inside a freshly parsed envelope (in place, with the envelope as ancestor)."""
    return etree.fromstring(envelope_bytes).find('{%s}Body' % SOAP_NS)[0]


class Responses(object):
    """Signed response envelopes made with the test service signer."""

    def __init__(self, pki):
        self.pki = pki

    def signed(self, name, payload=None, status='OK', errors=(), key=None, certs=None, **kwargs):
        element = response_element(name, payload, status, errors)
        signed = sign_element(element, key or self.pki.signer_key, certs or [self.pki.signer], **kwargs)
        return envelope(signed)

    def retrieval_id(self, value='RID-0001', name='SignNewCertificateResponse'):
        return self.signed(name, ('RetrievalId', value))

    def certificate(self, der):
        return self.signed('GetCertificateResponse', ('Certificate', base64.b64encode(der).decode('ascii')))

    def fail(self, name, *errors):
        return self.signed(name, status='FAIL', errors=errors)


@pytest.fixture(scope='session')
def responses(pki):
    return Responses(pki)


def soap_fault(text, code='S:Client'):
    return ('<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="%s"><S:Body><S:Fault>'
            '<faultcode>%s</faultcode><faultstring>%s</faultstring></S:Fault></S:Body></S:Envelope>'
            % (SOAP_NS, code, text)).encode('utf-8')


# ---- a local HTTPS service ---------------------------------------------------------------------------------

Received = collections.namedtuple('Received', ['path', 'headers', 'body'])


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        self.server.received.append(Received(self.path, self.headers, body))
        behaviours = self.server.behaviours
        behaviour = behaviours.pop(0) if len(behaviours) > 1 else behaviours[0]
        behaviour(self, body)

    def log_message(self, *args):
        pass


def reply(body, status=200, headers=None, content_length=None):
    """A behaviour: answer with body; content_length overrides the header (to announce more than is sent)."""
    def behaviour(handler, request_body):
        handler.send_response(status)
        handler.send_header('Content-Type', 'text/xml; charset=utf-8')
        handler.send_header('Content-Length', str(len(body) if content_length is None else content_length))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
        if content_length is not None:
            handler.close_connection = True
    return behaviour


def close_without_answer(handler, request_body):
    """A behaviour: the request was read in full, then the connection is closed."""
    handler.close_connection = True


def reply_without_length(body):
    """A behaviour: an HTTP/1.0-style body delimited by closing the connection."""
    def behaviour(handler, request_body):
        handler.send_response(200)
        handler.send_header('Content-Type', 'text/xml')
        handler.send_header('Connection', 'close')
        handler.end_headers()
        handler.wfile.write(body)
        handler.close_connection = True
    return behaviour


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class LocalService(object):
    def __init__(self, server, tls_ca_path, other_ca_path):
        self.server = server
        self.url = 'https://127.0.0.1:%d%s' % (server.server_address[1], SERVICE_PATH)
        self.tls_ca_path = tls_ca_path
        self.other_ca_path = other_ca_path
        self.stopping = threading.Event()

    @property
    def received(self):
        return self.server.received

    def behave(self, *behaviours):
        """Answer the requests in turn with these behaviours; the last one answers all that follow."""
        self.server.behaviours[:] = list(behaviours)

    def respond(self, body, status=200, **kwargs):
        self.behave(reply(body, status, **kwargs))

    def stall(self, seconds, body=b''):
        """A behaviour: read the request, then answer only after seconds (or when the test ends)."""
        def behaviour(handler, request_body):
            self.stopping.wait(seconds)
            reply(body)(handler, request_body)
        return behaviour


@pytest.fixture(scope='session')
def tls_files(pki, tmp_path_factory):
    folder = tmp_path_factory.mktemp('tls')
    paths = dict((name, folder / ('%s.pem' % name)) for name in ('ca', 'other-ca', 'server', 'server-key'))
    paths['ca'].write_bytes(pem(pki.tls_ca))
    paths['other-ca'].write_bytes(pem(pki.other_tls_ca))
    paths['server'].write_bytes(pem(pki.tls_server))
    paths['server-key'].write_bytes(pki.tls_server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return dict((name, str(path)) for name, path in paths.items())


@pytest.fixture
def service(tls_files):
    server = _Server(('127.0.0.1', 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files['server'], tls_files['server-key'])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.received = []
    server.behaviours = [reply(b'no behaviour configured', status=599)]
    local = LocalService(server, tls_files['ca'], tls_files['other-ca'])
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
    thread.start()
    yield local
    local.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(scope='session')
def proto():
    """The helpers above, for test modules (with --import-mode=importlib a conftest cannot be imported)."""
    return types.SimpleNamespace(
        SOAP_NS=SOAP_NS, APP_NS=APP_NS, DS_NS=DS_NS, CUSTOMER_ID=CUSTOMER_ID,
        rsa_key=rsa_key, cert=cert, pem=pem, csr_der=csr_der,
        response_element=response_element, sign_element=sign_element, envelope=envelope,
        body_element=body_element, soap_fault=soap_fault,
        reply=reply, close_without_answer=close_without_answer, reply_without_length=reply_without_length)
