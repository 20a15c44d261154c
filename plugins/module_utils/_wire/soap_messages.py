# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The certificate service's SOAP messages: request envelopes out, response fields in.

Requests are validated against the service schema before they are built, so that a one-time transfer
credential is never spent on a request the service would refuse as malformed. Response fields are only
read from the element that xml_security.verify_signed_response returned.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import collections
import re
import unicodedata

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    RequestValidationError, ResponseRejected, TransportError)
from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import service_facts, xml_security

try:
    from lxml import etree
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/'
APP_NS = 'http://certificates.vero.fi/2017/10/certificateservices'
MIN_RSA_BITS = 2048

Operation = collections.namedtuple('Operation', ['name', 'soap_action', 'request', 'response', 'payload'])

# payload is the optional element before Result in the response.
SIGN_NEW = Operation('SignNewCertificate', 'signNewCertificate', 'SignNewCertificateRequest',
                     'SignNewCertificateResponse', 'RetrievalId')
GET = Operation('GetCertificate', 'getCertificate', 'GetCertificateRequest', 'GetCertificateResponse',
                'Certificate')
RENEW = Operation('RenewCertificate', 'renewCertificate', 'RenewCertificateRequest', 'RenewCertificateResponse',
                  'RetrievalId')
OPERATIONS = dict((op.soap_action, op) for op in (SIGN_NEW, GET, RENEW))

ResponseFields = collections.namedtuple('ResponseFields', ['status', 'errors', 'retrieval_id', 'certificate'])

# XML 1.0 cannot carry these at all, and normalizedString forbids tab, CR and LF.
_FORBIDDEN_CHARACTERS = re.compile(u'[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]')
_FAULT_TEXT_LIMIT = 300
# The schema's ErrorInfo lengths (String16, String255, certificate-service.md).
ERROR_CODE_LIMIT = 16
ERROR_MESSAGE_LIMIT = 255


def _check_string(option, value, limit, secret=False):
    if not isinstance(value, str):
        raise RequestValidationError('%s must be a string.' % option)
    if not value.strip():
        raise RequestValidationError('%s must not be empty.' % option)
    if len(value) > limit:
        if secret:
            raise RequestValidationError('%s is longer than the %d characters the service accepts.' % (option, limit))
        raise RequestValidationError('%s is %d characters long; the service accepts at most %d.'
                                     % (option, len(value), limit))
    if _FORBIDDEN_CHARACTERS.search(value):
        raise RequestValidationError('%s contains a tab, a line break or another control character.' % option)


def _check_common(environment, customer_id, customer_name):
    if environment not in service_facts.ENVIRONMENTS:
        raise RequestValidationError('environment must be one of %s.' % ', '.join(service_facts.ENVIRONMENTS))
    _check_string('customer_id', customer_id, 30)
    if customer_name:
        _check_string('customer_name', customer_name, 100)


def _public_key_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_csr(csr_der, customer_id):
    if not isinstance(csr_der, bytes) or not csr_der:
        raise RequestValidationError('The certificate signing request must be DER bytes.')
    try:
        csr = x509.load_der_x509_csr(csr_der)
    except ValueError:
        raise RequestValidationError('The certificate signing request is not a DER-encoded PKCS#10 request.')
    if not csr.is_signature_valid:
        raise RequestValidationError('The self-signature of the certificate signing request is not valid.')
    common_names = [attribute.value for attribute in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if common_names != [customer_id]:
        raise RequestValidationError('The subject CN of the certificate signing request must be the customer_id %s.'
                                     % customer_id)
    key = csr.public_key()
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
        raise RequestValidationError('The certificate signing request must hold an RSA key of at least %d bits.'
                                     % MIN_RSA_BITS)
    return csr


def _request_element(operation, fields):
    element = etree.Element('{%s}%s' % (APP_NS, operation.request), nsmap={'cer': APP_NS})
    for name, text in fields:
        if text is not None:
            etree.SubElement(element, name).text = text
    return element


def _envelope(request_element):
    envelope = etree.Element('{%s}Envelope' % SOAP_NS, nsmap={'soapenv': SOAP_NS})
    etree.SubElement(envelope, '{%s}Body' % SOAP_NS).append(request_element)
    return etree.tostring(envelope, xml_declaration=True, encoding='UTF-8')


def _base64(der):
    return base64.b64encode(der).decode('ascii')


def build_sign_new_certificate_request(environment, customer_id, customer_name, transfer_id, transfer_password,
                                       csr_der):
    """SignNewCertificateRequest envelope bytes; RequestValidationError names the offending option."""
    _check_common(environment, customer_id, customer_name)
    for option, value, limit in (('transfer_id', transfer_id, 32), ('transfer_password', transfer_password, 16)):
        _check_string(option, value, limit, secret=option == 'transfer_password')
        if value != value.strip():
            # Pasted from the e-mail with a space: the guard against resending a TransferID compares it as given,
            # while the service may well trim it.
            raise RequestValidationError('%s must not start or end with a space.' % option)
    _check_csr(csr_der, customer_id)
    return _envelope(_request_element(SIGN_NEW, [
        ('Environment', environment),
        ('CustomerId', customer_id),
        ('CustomerName', customer_name or None),
        ('TransferId', transfer_id),
        ('TransferPassword', transfer_password),
        ('CertificateRequest', _base64(csr_der)),
    ]))


def build_get_certificate_request(environment, customer_id, customer_name, retrieval_id):
    """GetCertificateRequest envelope bytes."""
    _check_common(environment, customer_id, customer_name)
    _check_string('retrieval_id', retrieval_id, 32)
    return _envelope(_request_element(GET, [
        ('Environment', environment),
        ('CustomerId', customer_id),
        ('CustomerName', customer_name or None),
        ('RetrievalId', retrieval_id),
    ]))


def build_renew_certificate_request(environment, customer_id, customer_name, csr_der, current_private_key,
                                    current_certificate):
    """RenewCertificateRequest envelope bytes, signed with the current key and certificate."""
    _check_common(environment, customer_id, customer_name)
    csr = _check_csr(csr_der, customer_id)
    if _public_key_der(csr.public_key()) == _public_key_der(current_certificate.public_key()):
        raise RequestValidationError('The new certificate signing request reuses the key of the current '
                                     'certificate; a renewal needs a new key.')
    element = _request_element(RENEW, [
        ('Environment', environment),
        ('CustomerId', customer_id),
        ('CustomerName', customer_name or None),
        ('CertificateRequest', _base64(csr_der)),
    ])
    return _envelope(xml_security.sign_renew_request(element, current_private_key, current_certificate))


def _element_children(element):
    return [child for child in element if isinstance(child.tag, str)]


def _clean_text(text, limit=_FAULT_TEXT_LIMIT):
    """Service text as it may be shown to a person: one line, no control or bidirectional formatting
    characters (which could make a terminal or report show something other than what was sent), at most
    limit characters."""
    printable = ''.join(char if unicodedata.category(char)[0] != 'C' else ' ' for char in (text or ''))
    return ' '.join(printable.split())[:limit]


# The SOAP 1.1 fault classes (SOAP 1.1, 4.4.1) that say the message itself was refused as sent: the service never got
# as far as acting on it. certificate-service.md says nothing of this service's faults, and a Server fault (or one
# without a standard code) may come after the service acted (a stack that faults while it signs its answer), so
# those count as "may have been processed": after SignNewCertificate the credentials count as spent. Only the
# sandbox promises that its Server faults come before processing, and the client does not take its word.
REFUSED_AS_SENT = ('Client', 'VersionMismatch', 'MustUnderstand')


def fault_class(fault):
    """The class of a SOAP 1.1 fault's faultcode (Server.Busy is of class Server), or '' when the code is not one of
    SOAP's: a QName whose prefix (any) must stand for the envelope's namespace, since a Client of an application's
    own namespace says nothing of whether the request was acted on."""
    code = fault.find('faultcode')
    if code is None or not code.text:
        return ''
    prefix, sep, local = code.text.strip().rpartition(':')
    if code.nsmap.get(prefix if sep else None) != SOAP_NS:
        return ''
    return local.split('.', 1)[0]


def find_response_element(envelope_root, operation, http_status=None):
    """The response element in S:Body, still unverified.

    A SOAP Fault raises TransportError with soap_fault True and fault_class set; request_may_have_been_processed is
    False only for a fault of REFUSED_AS_SENT. Anything else unexpected raises ResponseRejected.
    """
    if envelope_root.tag != '{%s}Envelope' % SOAP_NS:
        raise ResponseRejected('The response is not a SOAP 1.1 envelope.')
    bodies = envelope_root.findall('{%s}Body' % SOAP_NS)
    if len(bodies) != 1:
        raise ResponseRejected('The response envelope has %d Body elements; exactly one is expected.' % len(bodies))
    children = _element_children(bodies[0])
    if len(children) == 1 and children[0].tag == '{%s}Fault' % SOAP_NS:
        fault = children[0]
        kind = fault_class(fault)
        refused = kind in REFUSED_AS_SENT
        text = 'SOAP fault %s: %s' % (_clean_text(fault.findtext('faultcode')) or 'without a code',
                                      _clean_text(fault.findtext('faultstring')) or 'without a message')
        if refused:
            message = ('The certificate service refused the %s request as it was sent and did not act on it (%s).'
                       % (operation.name, text))
        elif operation is GET:
            # It only reads: what it may have done first changes nothing.
            message = 'The certificate service answered the %s request with a fault (%s).' % (operation.name, text)
        else:
            message = ('The certificate service answered the %s request with a fault (%s), and whether it acted on '
                       'the request before it failed is not known.' % (operation.name, text))
        error = TransportError(message, request_may_have_been_processed=not refused, status_code=http_status)
        # The preflight tells a SOAP service that faulted from an HTTP error of something else at the URL.
        error.soap_fault = True
        error.fault_class = kind
        error.fault_text = text
        raise error
    expected = '{%s}%s' % (APP_NS, operation.response)
    if len(children) != 1 or children[0].tag != expected:
        raise ResponseRejected('The response Body holds %s instead of %s.'
                               % (', '.join(child.tag for child in children) or 'nothing', operation.response))
    return children[0]


def _result(result, what):
    children = _element_children(result)
    if not children or children[0].tag != 'Status':
        raise ResponseRejected('Result in the %s does not start with Status.' % what)
    status = (children[0].text or '').strip()
    if status not in ('OK', 'FAIL'):
        raise ResponseRejected('Result/Status in the %s is neither OK nor FAIL.' % what)
    errors = []
    for info in children[1:]:
        if info.tag != 'ErrorInfo':
            raise ResponseRejected('Result in the %s holds an unexpected %s element.' % (what, info.tag))
        code = _clean_text(info.findtext('ErrorCode'), ERROR_CODE_LIMIT) or None
        message = _clean_text(info.findtext('ErrorMessage'), ERROR_MESSAGE_LIMIT) or None
        errors.append((code, message))
    return status, errors


def read_verified_response(verified_element, operation):
    """ResponseFields from the element returned by verify_signed_response.

    certificate is DER bytes (GetCertificate), retrieval_id a string (SignNew/Renew); either is None when
    the response does not carry it, carries it empty, or answers FAIL. The element order is the schema's:
    the optional payload, then Result.
    """
    what = operation.response
    if verified_element.tag != '{%s}%s' % (APP_NS, operation.response):
        raise ResponseRejected('The signed response element is not %s.' % operation.response)
    children = _element_children(verified_element)
    tags = [child.tag for child in children]
    if tags not in (['Result'], [operation.payload, 'Result']):
        raise ResponseRejected('The %s holds %s; expected an optional %s followed by Result.'
                               % (what, ', '.join(tags) or 'nothing', operation.payload))
    # Status is read before the payload, and a FAIL never looks at it: what a refusal carries there is
    # unknown, and the service's error codes must not be lost to it (a SignNewCertificate refusal read as
    # an untrusted answer would leave the credentials looking possibly spent). An empty payload element is
    # taken as absent: certificate-service.md only says the element is optional, and an empty one carries
    # nothing to use either way. The callers then treat an OK without it as they treat a missing one.
    status, errors = _result(children[-1], what)
    text = ''.join((children[0].text or '').split()) if len(children) == 2 and status == 'OK' else ''
    retrieval_id = certificate = None
    if text and operation.payload == 'RetrievalId':
        retrieval_id = children[0].text.strip()
        if len(retrieval_id) > 32 or _FORBIDDEN_CHARACTERS.search(retrieval_id):
            raise ResponseRejected('The RetrievalId in the %s is not a string of at most 32 characters.' % what)
    elif text:
        try:
            certificate = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ResponseRejected('The Certificate in the %s is not valid base64.' % what)
    return ResponseFields(status, errors, retrieval_id, certificate)
