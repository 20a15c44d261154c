"""SOAP 1.1 on the wire: parsing and validating requests, building responses and faults."""
import copy
import os
import threading
from dataclasses import dataclass

from lxml import etree

from irsandbox import protocol

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), 'schema', 'certificateservices.xsd')
# Elements whose value must never be echoed back, even inside a schema error message.
SECRET_ELEMENTS = ('TransferPassword',)
MAX_REPORTED_SCHEMA_ERRORS = 5
# Response children holding base64 that the response signature covers.
BASE64_ELEMENTS = ('Certificate',)


class SoapFault(Exception):
    """A request that is not a parseable SOAP 1.1 call of a known operation."""

    def __init__(self, message, code='Client', http_status=500):
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status


def hardened_parser():
    # A new parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False)


_schema = etree.XMLSchema(etree.parse(SCHEMA_PATH, hardened_parser()))
# A validator keeps its error log on itself, so concurrent validations must not interleave.
_schema_lock = threading.Lock()


@dataclass
class Request:
    operation: str
    element: etree._Element  # the request element, detached from the envelope


def parse_request(body, soap_action):
    """Parse an HTTP body into a Request, or raise SoapFault."""
    try:
        root = etree.fromstring(body, hardened_parser())
    except etree.XMLSyntaxError:
        raise SoapFault('Request is not well-formed XML') from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise SoapFault('Document type declarations are not allowed')
    if root.tag == '{%s}Envelope' % protocol.SOAP12_ENV_NS:
        raise SoapFault('Only SOAP 1.1 is supported', code='VersionMismatch')
    if root.tag != '{%s}Envelope' % protocol.SOAP_ENV_NS:
        raise SoapFault('Request is not a SOAP 1.1 envelope')
    children = [child for child in root if isinstance(child.tag, str)]
    if children and children[0].tag == '{%s}Header' % protocol.SOAP_ENV_NS:
        for header in children[0]:
            if header.get('{%s}mustUnderstand' % protocol.SOAP_ENV_NS) in ('1', 'true'):
                raise SoapFault('MustUnderstand headers are not understood: %s' % header.tag,
                                code='MustUnderstand')
        children = children[1:]
    if len(children) != 1 or children[0].tag != '{%s}Body' % protocol.SOAP_ENV_NS:
        raise SoapFault('SOAP envelope must hold an optional Header followed by a Body')
    body_element = children[0]
    if (body_element.text or '').strip():
        raise SoapFault('SOAP Body must not contain text')
    payload = [child for child in body_element if isinstance(child.tag, str)]
    if len(payload) != 1:
        raise SoapFault('SOAP Body must contain exactly one request element')
    qname = etree.QName(payload[0])
    operation = protocol.REQUEST_ELEMENTS.get(qname.localname) if qname.namespace == protocol.APP_NS else None
    if operation is None:
        raise SoapFault('Cannot find dispatch method for {%s}%s' % (qname.namespace or '', qname.localname))
    # Quoted as the WSDL has it, or bare as some working clients send it; nothing else.
    if soap_action not in ('"%s"' % operation, operation):
        raise SoapFault('SOAPAction header must be "%s" for %s' % (operation, qname.localname))
    # deepcopy keeps only the namespace declarations the request element itself uses.
    return Request(operation, copy.deepcopy(payload[0]))


def schema_errors(element):
    """Schema violations of a request element, as messages safe to return and log."""
    with _schema_lock:
        if _schema.validate(element):
            return []
        errors = list(_schema.error_log)[:MAX_REPORTED_SCHEMA_ERRORS]
    messages = []
    for error in errors:
        element_name = error.path.rsplit('/', 1)[-1].split('[')[0].split(':')[-1]
        if element_name in SECRET_ELEMENTS:
            messages.append("Element '%s': invalid value (%s)" % (element_name, error.type_name))
        else:
            messages.append(error.message)
    return messages


def child_text(element, name):
    child = element.find(name)
    if child is None:
        return None
    return child.text or ''


def build_response(operation, payload, errors, profile):
    """The unsigned response element: payload [(name, text)] then Result; base64 as the profile writes it."""
    element = etree.Element('{%s}%s' % (protocol.APP_NS, protocol.RESPONSE_ELEMENTS[operation]),
                            nsmap={protocol.APP_PREFIX: protocol.APP_NS})
    for name, text in payload:
        etree.SubElement(element, name).text = profile.base64_text(text) if name in BASE64_ELEMENTS else text
    result = etree.SubElement(element, 'Result')
    etree.SubElement(result, 'Status').text = 'FAIL' if errors else 'OK'
    for code, message in errors:
        info = etree.SubElement(result, 'ErrorInfo')
        etree.SubElement(info, 'ErrorCode').text = code
        etree.SubElement(info, 'ErrorMessage').text = message[:protocol.MAX_ERROR_MESSAGE]
    return element


def _envelope_and_body(profile):
    env = etree.Element('{%s}Envelope' % protocol.SOAP_ENV_NS, nsmap={profile.soap_prefix: protocol.SOAP_ENV_NS})
    if profile.empty_header:
        etree.SubElement(env, '{%s}Header' % protocol.SOAP_ENV_NS)
    return env, etree.SubElement(env, '{%s}Body' % protocol.SOAP_ENV_NS)


def envelope(signed_element, profile, doctype=None):
    """Wrap an already signed element in a SOAP envelope, as the real service does."""
    env, body = _envelope_and_body(profile)
    body.append(signed_element)
    return etree.tostring(env, xml_declaration=True, encoding='UTF-8', doctype=doctype)


def fault(message, profile, code='Client'):
    env, body = _envelope_and_body(profile)
    fault_element = etree.SubElement(body, '{%s}Fault' % protocol.SOAP_ENV_NS)
    etree.SubElement(fault_element, 'faultcode').text = '%s:%s' % (profile.soap_prefix, code)
    etree.SubElement(fault_element, 'faultstring').text = message
    return etree.tostring(env, xml_declaration=True, encoding='UTF-8')
