"""Fault kinds that can be injected at run time, and how each one bends a response."""
import base64
import secrets

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree

from irsandbox import protocol, soap

# kind -> what it does; whether the request is processed matters to clients that retry.
KINDS = {
    'http500': 'SOAP Server fault with HTTP 500; the request is not processed',
    'client-fault': 'SOAP Client fault with HTTP 500, as for a request refused as sent; the request is not processed',
    'server-fault-after-processing': 'process the request fully, then answer a SOAP Server fault with HTTP 500, as '
                                     'a service that fails while it signs its answer would',
    'gateway-503': 'HTTP 503 with an HTML page and Retry-After, as a load balancer in front of the service '
                   'answers; the request is not processed',
    'delay': 'process the request, then wait --seconds before answering',
    'malformed': 'HTTP 200 with a body that is not well-formed XML; the request is not processed',
    'bad-signature': 'a signed response whose content is altered after signing',
    'untrusted-signer': 'a response signed correctly, by a signer from an untrusted CA with the genuine name',
    'customer-signer': "a response signed correctly, with a customer's certificate from the Data Providers "
                       'issuing CA',
    'refused': 'a signed answer Result FAIL (PKI015) without processing the request, as the real service may '
               'answer for reasons this sandbox does not model (a renewal for a key it was asked to certify '
               'before, a renewal while one is waiting)',
    'drop-after-processing': 'process the request fully, then close the connection without a response',
    'oversized': 'HTTP 200 with a body larger than 12 MiB; the request is not processed',
    'dtd': 'a signed response with a DOCTYPE declaring an entity that the body uses',
    'wrong-cn': 'getCertificate: a properly signed certificate for the right key but another CustomerId',
    'wrong-key': 'getCertificate: a properly signed certificate for the customer but another public key',
    'tampered-certificate': 'getCertificate: the certificate with its signature bytes altered',
}
CERTIFICATE_KINDS = ('wrong-cn', 'wrong-key', 'tampered-certificate')
REQUEST_KINDS = tuple(kind for kind in KINDS if kind not in CERTIFICATE_KINDS)
FAULT_OPERATIONS = protocol.OPERATIONS + ('all',)
OVERSIZED_BYTES = 12 * 1024 * 1024 + 64 * 1024
OTHER_CUSTOMER_IDS = ('0000000-0', '1111111-1')


def validate(operation, kind, times, seconds):
    """Why this fault cannot be set, or None (operation and kind are known names)."""
    if kind in CERTIFICATE_KINDS and operation not in (protocol.GET, 'all'):
        return '%s only applies to getCertificate' % kind
    if kind == 'delay' and (seconds is None or seconds < 0):
        return 'delay needs --seconds (zero or more)'
    if times is not None and times < 1:
        return '--times must be at least 1'
    return None


# What a load balancer says while the service behind it is down: not SOAP, not XML.
GATEWAY_PAGE = (b'<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n'
                b'<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>gateway</center>\r\n'
                b'</body>\r\n</html>\r\n')
GATEWAY_RETRY_AFTER = '120'


def malformed_body(operation, profile):
    # A response cut short, as a broken proxy or a dropped connection would leave it.
    return soap.envelope(soap.build_response(operation, [], [], profile), profile)[:-40]


def oversized_body(operation, profile):
    payload_name = 'Certificate' if operation == protocol.GET else 'RetrievalId'
    element = soap.build_response(operation, [(payload_name, 'A' * OVERSIZED_BYTES)], [], profile)
    return soap.envelope(element, profile)


def tamper_after_signing(signed, pki, profile):
    """Change what the response says without touching its signature."""
    retrieval = signed.find('RetrievalId')
    certificate = signed.find('Certificate')
    if retrieval is not None:
        retrieval.text = secrets.token_hex(16)
    elif certificate is not None:
        # Another genuine certificate for the same key and customer: only the signature shows the swap.
        cert = x509.load_der_x509_certificate(base64.b64decode(certificate.text))
        twin = pki.issue(cert.public_key(), _cn(cert), _organisation(cert), cert.not_valid_before_utc,
                         cert.not_valid_after_utc)
        certificate.text = profile.base64_text(_b64(twin))
    else:
        message = signed.find('Result/ErrorInfo/ErrorMessage')
        if message is not None:
            message.text = (message.text or '') + ' (altered)'
        else:
            signed.find('Result/Status').text = 'FAIL'


def entity_doctype(signed, profile):
    """Move the Status value into an internal entity; returns the DOCTYPE to serialise with."""
    status = signed.find('Result/Status')
    value = status.text
    status.text = None
    status.append(etree.Entity('status'))
    return '<!DOCTYPE %s:Envelope [<!ENTITY status "%s">]>' % (profile.soap_prefix, value)


def certificate_fault(kind, cert, retrieval, pki):
    """The base64 Certificate text to return instead of cert."""
    if kind == 'tampered-certificate':
        der = bytearray(cert.public_bytes(Encoding.DER))
        # The DER ends inside the signature BIT STRING, so this alters only signature bytes.
        der[-1] ^= 0xFF
        return base64.b64encode(bytes(der)).decode('ascii')
    if kind == 'wrong-cn':
        other = next(cid for cid in OTHER_CUSTOMER_IDS if cid != retrieval['customer_id'])
        fake = pki.issue(cert.public_key(), other, retrieval['customer_name'], cert.not_valid_before_utc,
                         cert.not_valid_after_utc)
    else:
        # Any key that is not the customer's will do; the untrusted signer's is at hand.
        fake = pki.issue(pki.untrusted.key.public_key(), retrieval['customer_id'], retrieval['customer_name'],
                         cert.not_valid_before_utc, cert.not_valid_after_utc)
    return _b64(fake)


def _b64(cert):
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode('ascii')


def _cn(cert):
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _organisation(cert):
    names = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return names[0].value if names else None
