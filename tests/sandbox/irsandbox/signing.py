"""XML signatures: signing responses like the real service, verifying renewal requests."""
import base64
import copy
import datetime
from dataclasses import dataclass

from cryptography import x509
from lxml import etree
from signxml import (CanonicalizationMethod, DigestAlgorithm, SignatureConfiguration, SignatureMethod,
                     XMLSigner, XMLVerifier)
from signxml.exceptions import SignXMLException

from irsandbox import protocol

ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature'
EXCLUSIVE_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value
NS = {'ds': protocol.DS_NS}


def sign_response(element, signer, profile):
    """Sign the response element as a standalone document (inclusive C14N 1.0).

    The real service signs before it wraps the element in the SOAP envelope; once wrapped,
    inclusive canonicalisation pulls in the envelope's namespace declarations, so the
    signature only verifies after the element is taken out of the envelope again.
    """
    signing = XMLSigner(signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256,
                        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0)
    signed = signing.sign(element, key=signer.key, cert=[signer.cert_pem])
    if profile.java_base64:
        # Neither SignatureValue nor KeyInfo is covered by the signature (its one Reference is
        # the whole element minus the Signature), so rewrapping them afterwards keeps it valid.
        signature = signed.find('ds:Signature', NS)
        for path in ('ds:SignatureValue', 'ds:KeyInfo/ds:X509Data/ds:X509Certificate'):
            node = signature.find(path, NS)
            node.text = profile.base64_text(node.text)
    return signed


class RequestSignatureError(Exception):
    """The request's signature is missing, malformed, of the wrong profile or does not verify."""


@dataclass
class VerifiedRequest:
    signer_cert: x509.Certificate
    signed_element: etree._Element  # what the signature actually covers


def _profile_problem(signature):
    """Why the signature does not follow the renewal profile, or None."""
    method = signature.find('ds:SignedInfo/ds:CanonicalizationMethod', NS)
    if method is None or method.get('Algorithm') != EXCLUSIVE_C14N:
        return 'SignedInfo must use exclusive canonicalisation'
    references = signature.findall('ds:SignedInfo/ds:Reference', NS)
    if len(references) != 1 or references[0].get('URI') != '':
        return 'the signature must have exactly one Reference, with URI ""'
    transforms = [t.get('Algorithm') for t in references[0].findall('ds:Transforms/ds:Transform', NS)]
    if transforms != [ENVELOPED, EXCLUSIVE_C14N]:
        return 'the Reference must use the enveloped-signature and exclusive canonicalisation transforms'
    return None


def verify_request(element):
    """Verify the enveloped signature of a RenewCertificateRequest against its own KeyInfo certificate.

    Whether that certificate is acceptable is the caller's business (PKI011); here only the
    signature counts (PKI010). Raises RequestSignatureError.
    """
    signatures = element.findall('ds:Signature', NS)
    if not signatures:
        raise RequestSignatureError('the request is not signed')
    problem = _profile_problem(signatures[-1])
    if problem:
        raise RequestSignatureError(problem)
    encoded = signatures[-1].findtext('ds:KeyInfo/ds:X509Data/ds:X509Certificate', namespaces=NS)
    if not encoded:
        raise RequestSignatureError('the signature carries no X509Certificate')
    try:
        cert = x509.load_der_x509_certificate(_b64decode(encoded))
    except ValueError:
        raise RequestSignatureError('the X509Certificate in the signature cannot be parsed') from None
    # Certificate validity is judged separately (PKI011), so verify at a moment the
    # certificate was valid and let only the cryptography decide here.
    moment = min(max(_utcnow(), cert.not_valid_before_utc), cert.not_valid_after_utc)
    config = SignatureConfiguration(
        location='./',
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        verification_time=moment,
    )
    try:
        result = XMLVerifier().verify(copy.deepcopy(element), x509_cert=cert, expect_config=config)
    except (SignXMLException, etree.LxmlError, ValueError) as exc:
        raise RequestSignatureError('the signature does not verify: %s' % _first_line(exc)) from None
    return VerifiedRequest(cert, result.signed_xml)


def _b64decode(text):
    return base64.b64decode(''.join(text.split()), validate=True)


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _first_line(exc):
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
