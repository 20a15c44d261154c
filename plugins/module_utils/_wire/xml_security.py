# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""XML parsing and XML signatures for the certificate service.

Everything read from a response goes through parse_xml (no DTD, no entities, bounded size) and then
through verify_signed_response, which returns the element as signxml verified it; nothing in the
unverified tree is used after that.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import datetime
import re

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import chains
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    RequestValidationError, ResponseRejected)

try:
    from lxml import etree
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

try:
    from signxml import (
        CanonicalizationMethod, DigestAlgorithm, SignatureConfiguration, SignatureConstructionMethod,
        SignatureMethod, XMLSigner, XMLVerifier)
    from signxml.exceptions import SignXMLException
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

DS_NS = 'http://www.w3.org/2000/09/xmldsig#'
C14N_INCLUSIVE = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315'
C14N_EXCLUSIVE = 'http://www.w3.org/2001/10/xml-exc-c14n#'
ENVELOPED_TRANSFORM = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature'
SOAP_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/'

# The service is documented to use inclusive C14N; exclusive is accepted in case it changes. Comment-preserving
# variants are refused: comments are not something the service has a reason to sign.
ACCEPTED_C14N = (C14N_INCLUSIVE, C14N_EXCLUSIVE)
ACCEPTED_TRANSFORMS = ACCEPTED_C14N + (ENVELOPED_TRANSFORM,)

TRUST_OPTION = 'service_ca_path'
SIGNER_PATTERN_OPTION = 'service_signer_pattern'
CUSTOMER_ISSUING_OPTION = 'issuing_ca_path'

# certificate-service.md: customers' certificates carry the CustomerId, the Business ID, as CN (its shape, 7
# digits, dash, check digit, is the Finnish Business ID's, not the reference's, which only says String30). It says
# nothing of the service signer's subject, which may carry the Tax Administration's own Business ID, so this shape
# only decides as a last resort (check_signer_identity).
_BUSINESS_ID = re.compile(r'^[0-9]{7}-[0-9]$')

# certificate-service.md: the response's signature is enveloped in the response element and signed standalone
# (Python, Haskell); it does not say how its Reference names that element, so both forms XML-DSig allows for an
# enveloped signature over it are accepted: URI "" (as the renewal request's, which the reference does give) or
# "#" + the Id of that same element.
_ID_ATTRIBUTES = ('Id', 'ID', 'id', '{http://www.w3.org/XML/1998/namespace}id')


def _ds(tag):
    return '{%s}%s' % (DS_NS, tag)


def _new_parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False)


def parse_xml(data, max_bytes):
    """Parse untrusted XML bytes into an element; ResponseRejected for anything a service has no reason to send."""
    if len(data) > max_bytes:
        raise ResponseRejected('The response is %d bytes, more than the accepted %d bytes.' % (len(data), max_bytes))
    # Refused before parsing, so that libxml2 never processes a DTD at all; the docinfo check below catches
    # declarations in encodings where these bytes do not appear literally.
    if b'<!DOCTYPE' in data or b'<!ENTITY' in data:
        raise ResponseRejected('The response contains a DOCTYPE or entity declaration, which the service never sends.')
    # White space before the XML declaration makes the document ill-formed, but it is outside everything signed, and
    # a server stack that writes a line break first (a template, a filter) would otherwise lose an answer whose
    # RetrievalId may be the only way to a certificate. Not seen from the real service; tolerated, as nothing else is.
    data = data.lstrip(b' \t\r\n')
    try:
        root = etree.fromstring(data, _new_parser())
    except etree.XMLSyntaxError as error:
        raise ResponseRejected('The response is not well-formed XML: %s' % error)
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise ResponseRejected('The response contains a DOCTYPE, which the service never sends.')
    if next(root.iter(etree.Entity), None) is not None:
        raise ResponseRejected('The response contains an entity reference, which the service never sends.')
    return root


def _public_key_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign_renew_request(element, private_key, certificate):
    """Return a copy of element with an enveloped signature made with the current key (contract recipe)."""
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise RequestValidationError('The current private key is not an RSA key; renewal requests are signed '
                                     'with RSA-SHA256.')
    if _public_key_der(private_key.public_key()) != _public_key_der(certificate.public_key()):
        raise RequestValidationError('The current private key does not belong to the current certificate, so the '
                                     'service would refuse the renewal signature.')
    signer = XMLSigner(method=SignatureConstructionMethod.enveloped,
                       signature_algorithm=SignatureMethod.RSA_SHA256,
                       digest_algorithm=DigestAlgorithm.SHA256,
                       c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    return signer.sign(element, key=private_key, cert=[certificate])


def _standalone_copies(element):
    """The element as the document the service signed before wrapping it in the envelope: one or two readings.

    certificate-service.md: the service signs the response on its own, with inclusive C14N, and then wraps it,
    so the namespace declarations the envelope brings in must go before verifying, and every declaration the
    signer saw must stay: inclusive C14N digests unused ones too, and an xmlns="" undeclaration changes what
    the children are. Only declarations on the copy's root are ever dropped; everything inside the element,
    its redundant declarations and undeclarations included, is copied as it is.

    The first reading is the public Python client's, which verifies real responses: of what the envelope
    declares, drop only the SOAP envelope namespace, and keep the rest, in case the service's wrapper moved a
    declaration of the signed root up to the envelope. The second, tried only when it differs, drops every
    unused declaration of the envelope, for an envelope that declares more than the signer saw (not seen from
    the real service, whose envelope declares only SOAP-ENV). Every reading holds the same elements,
    attributes and text as the element itself (_copy_without checks it), so trying two never lets other
    content verify. Should the real service wrap in yet another way, no reading verifies and the response
    is refused: loudly, never trusted.
    """
    parent = element.getparent()
    inherited = parent.nsmap if parent is not None else {}
    scope = element.nsmap
    unused = [(prefix, uri) for prefix, uri in inherited.items()
              if scope.get(prefix) == uri and not _uses(element, prefix, uri)]
    envelope_namespace = [(prefix, uri) for prefix, uri in unused if uri == SOAP_ENVELOPE_NS]
    readings = [envelope_namespace] + ([unused] if unused != envelope_namespace else [])
    copies = [copy for copy in (_copy_without(element, dropped) for dropped in readings) if copy is not None]
    if not copies:
        raise ResponseRejected('The response element cannot be taken out of the SOAP envelope unchanged.')
    return copies


def _uses(element, prefix, uri):
    """Whether anything in element is named through the declaration prefix=uri (attributes: through uri)."""
    attribute = '{%s}' % uri
    for node in element.iter(tag=etree.Element):
        if node.prefix == prefix and etree.QName(node).namespace == uri:
            return True
        if any(name.startswith(attribute) for name in node.attrib):
            return True
    return False


def _copy_without(element, dropped):
    """A standalone copy of element whose root lacks the declarations dropped; None if that changes anything.

    Serialising an element writes every declaration in scope on its start tag, and lxml has no way to remove
    one declaration without cleanup_namespaces, which would also remove the undeclarations and unused
    declarations the signer saw deeper down. So the declarations are cut out of the start tag, as the public
    Python client does: lxml writes ` xmlns:p="uri"` with `"` escaped inside attribute values, so the text
    is a declaration wherever it occurs in the start tag, which ends at the first `>` (escaped in values too).
    """
    data = etree.tostring(element, with_tail=False)
    end = data.index(b'>')
    start_tag = data[:end]
    for prefix, uri in dropped:
        declaration = (' xmlns:%s="%s"' % (prefix, uri) if prefix else ' xmlns="%s"' % uri).encode('utf-8')
        start_tag = start_tag.replace(declaration, b'', 1)
    try:
        standalone = etree.fromstring(start_tag + data[end:], _new_parser())
    except etree.XMLSyntaxError:
        return None
    # Exclusive C14N writes only the declarations something uses: equal output means the same elements,
    # prefixes, attributes and text, whatever unused declarations either one carries.
    if (set(standalone.nsmap.items()) != set(element.nsmap.items()) - set(dropped)
            or _visible(standalone) != _visible(element)):
        return None
    return standalone


def _visible(element):
    return etree.tostring(element, method='c14n', exclusive=True, with_comments=True)


def _only_signature(root):
    signatures = list(root.iter(_ds('Signature')))
    if len(signatures) != 1:
        raise ResponseRejected('The response holds %d XML signatures; exactly one is expected.' % len(signatures))
    children = [child for child in root if isinstance(child.tag, str)]
    if children[-1] is not signatures[0]:
        raise ResponseRejected('The XML signature is not the last child of the response element.')
    return signatures[0]


def _signs_whole_element(uri, element):
    if uri == '':
        return True
    ids = [element.get(name) for name in _ID_ATTRIBUTES if element.get(name)]
    if len(ids) != 1 or uri != '#' + ids[0]:
        return False
    # Another element with the same Id could be the one a verifier resolves: the wrapping attack.
    holders = [node for node in element.iter(tag=etree.Element)
               if any(node.get(name) == ids[0] for name in _ID_ATTRIBUTES)]
    return holders == [element]


def _check_signature_shape(signature, element):
    references = signature.findall('%s/%s' % (_ds('SignedInfo'), _ds('Reference')))
    if len(references) != 1:
        raise ResponseRejected('The response signature has %d references; exactly one is expected.' % len(references))
    if references[0].get('URI') is None or not _signs_whole_element(references[0].get('URI'), element):
        raise ResponseRejected('The response signature does not sign the whole response element (Reference URI '
                               'is neither empty nor the Id of the response element).')
    c14n = signature.find('%s/%s' % (_ds('SignedInfo'), _ds('CanonicalizationMethod')))
    if c14n is None or c14n.get('Algorithm') not in ACCEPTED_C14N:
        raise ResponseRejected('The response signature uses an unsupported canonicalization method.')
    for transform in references[0].iter(_ds('Transform')):
        if transform.get('Algorithm') not in ACCEPTED_TRANSFORMS:
            raise ResponseRejected('The response signature uses an unsupported transform.')


def _signer_certificate(signature):
    cert_element = signature.find('%s/%s/%s' % (_ds('KeyInfo'), _ds('X509Data'), _ds('X509Certificate')))
    if cert_element is None or not (cert_element.text or '').strip():
        raise ResponseRejected('The response signature carries no signer certificate (KeyInfo/X509Data).')
    try:
        der = base64.b64decode(''.join(cert_element.text.split()), validate=True)
        return x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        raise ResponseRejected('The signer certificate in the response signature cannot be parsed.')


def _common_name(cert):
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return names[0].value if names else ''


def _customer_issuer(signer, customer_issuing_certs):
    """The certificate of customer_issuing_certs that issued signer, or None."""
    for candidate in customer_issuing_certs or ():
        if candidate.subject == signer.issuer and chains.signed_by(signer, candidate):
            return candidate
    return None


def check_signer_identity(signer, signer_pattern=None, customer_issuing_certs=None):
    """Accept only a certificate that may sign as the service: not a CA, not a customer's certificate, and
    matching signer_pattern (a regular expression searched in the RFC 4514 subject) when one is given.

    A customer's certificate is told by its issuer when customer_issuing_certs (the certificates of
    issuing_ca_path) is given. Without it, and without signer_pattern, by a Business ID as CN: a guess, made
    only when nothing configured can tell, because a service_ca_path that holds the customers' issuing CA by
    mistake would otherwise trust a response signed by any customer. Should the real service signer have
    such a CN, the refusal says how to pin it with signer_pattern.
    """
    constraints = chains.extension(signer, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise ResponseRejected('The response was signed with the CA certificate %s, not with a service signing '
                               'certificate.' % chains.describe(signer))
    usage = chains.extension(signer, x509.KeyUsage)
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        raise ResponseRejected('The response signing certificate %s may not make signatures (keyUsage).'
                               % chains.describe(signer))
    fix = ("If %s holds the customers' issuing CA, replace it with the CA of the service's response signing "
           'certificate.' % TRUST_OPTION)
    issuer = _customer_issuer(signer, customer_issuing_certs)
    if issuer is not None:
        raise ResponseRejected('The response was signed with the certificate of customer %s, issued by %s from %s, '
                               'not by the certificate service. %s'
                               % (chains.describe(signer), chains.describe(issuer), CUSTOMER_ISSUING_OPTION, fix))
    if not customer_issuing_certs and not signer_pattern and _BUSINESS_ID.match(_common_name(signer)):
        raise ResponseRejected(
            'The response was signed with what looks like the certificate of customer %s (its CN is a Business '
            "ID) rather than the certificate service's. %s If it is the certificate service's own signing "
            'certificate, set %s to match its subject.'
            % (_common_name(signer), fix, SIGNER_PATTERN_OPTION))
    if signer_pattern and not re.search(signer_pattern, signer.subject.rfc4514_string()):
        raise ResponseRejected('The response signing certificate %s does not match %s %r.'
                               % (chains.describe(signer), SIGNER_PATTERN_OPTION, signer_pattern))


def check_signer_chain(signer, trust_anchor_certs, now):
    """Accept signer only if it is valid now and chains to the trust bundle through bundle certificates only."""
    try:
        chains.build_path(signer, trust_anchor_certs, now, pinned_leaf=True)
    except chains.ChainProblem as problem:
        if problem.missing_issuer is None:
            raise ResponseRejected('The response signing certificate cannot be trusted: %s (checked against %s).'
                                   % (problem.message, TRUST_OPTION)) from None
        # A trust file with the root but not the service's intermediate looks exactly like a forged signer
        # from here, so the message gives both readings and what the file holds.
        issuer = problem.missing_issuer.rfc4514_string()
        raise ResponseRejected(
            'The response was signed by %s, issued by %s, which is not in %s (it holds %s%s). If %s is the '
            "certificate service's intermediate CA, add its certificate, as the Tax Administration publishes it, "
            'to %s; otherwise the response does not come from the certificate service.'
            % (chains.describe(signer), issuer, TRUST_OPTION,
               chains.holdings(trust_anchor_certs),
               '; a CA of that name is there, but its key did not sign the signer certificate' if problem.namesake
               else '', issuer, TRUST_OPTION)) from None


def _verification_config(now):
    options = dict(
        location='./',
        expect_references=1,
        signature_methods=frozenset([SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384,
                                     SignatureMethod.RSA_SHA512]),
        digest_algorithms=frozenset([DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512]),
    )
    # Options of newer signxml releases, given where the installed one has them (signxml 4.0 on a Python 3.8
    # host has neither): default_reference_c14n_method (4.1; before it, Canonical XML 1.0 was the fixed
    # default, the value given here) and verification_time (5.1; signxml uses it only for a chain it builds
    # itself, and it builds none here: the signer is given as x509_cert, and check_signer_chain has already
    # checked its chain and validity at `now`).
    fields = getattr(SignatureConfiguration, '__dataclass_fields__', {})
    for name, value in (('default_reference_c14n_method', CanonicalizationMethod.CANONICAL_XML_1_0),
                        ('verification_time', now)):
        if name in fields:
            options[name] = value
    return SignatureConfiguration(**options)


def verify_signed_response(response_element, trust_anchor_certs, now=None, signer_pattern=None,
                           customer_issuing_certs=None):
    """Verify the response element's enveloped signature; return the element as signed (without ds:Signature).

    Raises ResponseRejected when the signature is missing, malformed, invalid, or made by a certificate
    that is not a service signer (check_signer_identity, helped by customer_issuing_certs, the certificates
    of issuing_ca_path, when the caller has them) or does not chain to trust_anchor_certs.
    """
    if not trust_anchor_certs:
        raise ResponseRejected('No trusted CA certificate was given (%s), so no response can be trusted.'
                               % TRUST_OPTION)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    documents = _standalone_copies(response_element)
    document = documents[0]
    signature = _only_signature(document)
    _check_signature_shape(signature, document)
    signer = _signer_certificate(signature)
    check_signer_identity(signer, signer_pattern, customer_issuing_certs)
    check_signer_chain(signer, trust_anchor_certs, now)
    result = problem = None
    for document in documents:
        try:
            result = XMLVerifier().verify(document, x509_cert=signer, parser=_new_parser(),
                                          expect_config=_verification_config(now))
            break
        except (SignXMLException, InvalidSignature, etree.DocumentInvalid, ValueError) as error:
            problem = problem or error
    if result is None:
        raise ResponseRejected('The XML signature of the response is not valid: %s' % problem)
    if result.signed_xml is None or result.signed_xml.tag != document.tag:
        raise ResponseRejected('The signed content of the response is not the response element.')
    return result.signed_xml
