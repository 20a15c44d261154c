"""The business rules of the three operations: a parsed Request in, an Outcome (payload, errors) out."""
import base64
import datetime
import secrets
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from irsandbox import protocol, signing, soap
from irsandbox.pki import public_key_fingerprint
from irsandbox.store import now, parse_iso


@dataclass
class Outcome:
    payload: list = field(default_factory=list)   # [(element name, text)] before Result
    errors: list = field(default_factory=list)    # [(code, message)]; empty means OK
    customer_id: str = None
    certificate: x509.Certificate = None          # getCertificate: what is being returned
    retrieval: dict = None                        # getCertificate: the retrieval it came from


def new_retrieval_id():
    return secrets.token_hex(16)


def _csr_problem(der, customer_id, current_key=None):
    """The first (code, message) the CSR breaks, or None."""
    try:
        csr = x509.load_der_x509_csr(der)
    except ValueError:
        return protocol.BAD_CSR, 'CertificateRequest is not a DER PKCS#10 certificate request'
    try:
        self_signed = csr.is_signature_valid
    except Exception:  # unsupported signature algorithms raise various errors
        self_signed = False
    if not self_signed:
        return protocol.BAD_CSR, 'The signature of the certificate request does not verify'
    public_key = csr.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < protocol.MIN_RSA_BITS:
        return protocol.UNSUPPORTED_KEY, 'Only RSA keys of at least %d bits are accepted' % protocol.MIN_RSA_BITS
    if current_key is not None and public_key_fingerprint(public_key) == public_key_fingerprint(current_key):
        return protocol.KEY_REUSED, 'The new certificate request must use a new key pair'
    names = [attribute.value for attribute in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [customer_id]:
        return protocol.WRONG_CN, 'The subject CN of the certificate request must be the CustomerId'
    return None


def _decode_base64(text):
    return base64.b64decode(''.join(text.split()))


class Service:
    def __init__(self, store, pki):
        self.store = store
        self.pki = pki

    def handle(self, request):
        element = request.element
        outcome = Outcome(customer_id=soap.child_text(element, 'CustomerId'))
        problems = soap.schema_errors(element)
        if problems:
            outcome.errors = [(protocol.MALFORMED, message) for message in problems]
            return outcome
        handler = {protocol.SIGN_NEW: self._sign_new, protocol.GET: self._get,
                   protocol.RENEW: self._renew}[request.operation]
        handler(element, outcome)
        return outcome

    def _ready_at(self):
        return now() + datetime.timedelta(seconds=self.store.settings()['retrieval_delay'])

    def _sign_new(self, element, outcome):
        environment = soap.child_text(element, 'Environment')
        customer_id = outcome.customer_id
        transfer_id = soap.child_text(element, 'TransferId')
        transfer = self.store.find_transfer(transfer_id, customer_id, soap.child_text(element, 'TransferPassword'))
        errors = []
        if transfer is None:
            errors.append((protocol.BAD_CREDENTIALS,
                           'TransferId or TransferPassword is wrong or does not belong to this CustomerId'))
        else:
            if transfer['used_at']:
                errors.append((protocol.CREDENTIALS_USED, 'The transfer credentials have already been used'))
            elif parse_iso(transfer['expires_at']) <= now():
                errors.append((protocol.CREDENTIALS_EXPIRED, 'The transfer credentials have expired'))
            if transfer['environment'] != environment:
                errors.append((protocol.WRONG_ENVIRONMENT,
                               'The subscription is for the %s environment' % transfer['environment']))
        csr_der = _decode_base64(soap.child_text(element, 'CertificateRequest'))
        problem = _csr_problem(csr_der, customer_id)
        if problem:
            errors.append(problem)
        if errors:
            outcome.errors = errors
            return
        retrieval = {'retrieval_id': new_retrieval_id(), 'customer_id': customer_id, 'environment': environment,
                     'customer_name': soap.child_text(element, 'CustomerName'), 'csr_der': csr_der,
                     'origin': 'signNewCertificate', 'ready_at': self._ready_at()}
        if not self.store.consume_transfer(transfer_id, retrieval):
            outcome.errors = [(protocol.CREDENTIALS_USED, 'The transfer credentials have already been used')]
            return
        outcome.payload = [('RetrievalId', retrieval['retrieval_id'])]

    def _get(self, element, outcome):
        retrieval = self.store.find_retrieval(soap.child_text(element, 'RetrievalId'))
        if retrieval is None or retrieval['customer_id'] != outcome.customer_id:
            outcome.errors = [(protocol.UNKNOWN_RETRIEVAL, 'Unknown RetrievalId for this CustomerId')]
            return
        if retrieval['environment'] != soap.child_text(element, 'Environment'):
            outcome.errors = [(protocol.WRONG_ENVIRONMENT,
                               'The certificate was requested for the %s environment' % retrieval['environment'])]
            return
        if now() < parse_iso(retrieval['ready_at']):
            settings = self.store.settings()
            outcome.errors = [(settings['not_ready_code'], settings['not_ready_message'])]
            return
        cert = self.store.certificate_for_retrieval(retrieval['retrieval_id'], self._issue_for)
        outcome.certificate = cert
        outcome.retrieval = retrieval
        outcome.payload = [('Certificate', base64.b64encode(_der(cert)).decode('ascii'))]

    def _issue_for(self, retrieval):
        csr = x509.load_der_x509_csr(retrieval['csr_der'])
        not_before = now().replace(microsecond=0)
        not_after = not_before + datetime.timedelta(days=self.store.settings()['validity_days'])
        return self.pki.issue(csr.public_key(), retrieval['customer_id'], retrieval['customer_name'],
                              not_before, not_after)

    def _renew(self, element, outcome):
        try:
            verified = signing.verify_request(element)
        except signing.RequestSignatureError as exc:
            outcome.errors = [(protocol.BAD_SIGNATURE, 'Request signature missing or invalid: %s' % exc)]
            return
        # Only what the signature covers is trusted from here on.
        signed = verified.signed_element
        customer_id = soap.child_text(signed, 'CustomerId')
        environment = soap.child_text(signed, 'Environment')
        cert = verified.signer_cert
        record = self._accepted_signer_record(cert, customer_id, outcome)
        if record is None:
            return
        errors = []
        if record['environment'] != environment:
            errors.append((protocol.WRONG_ENVIRONMENT,
                           'The signing certificate belongs to the %s environment' % record['environment']))
        earliest = cert.not_valid_after_utc - datetime.timedelta(days=protocol.RENEWAL_WINDOW_DAYS)
        if now() < earliest:
            errors.append((protocol.RENEWAL_TOO_EARLY,
                           'Renewal is possible at the earliest %d days before expiry, from %s'
                           % (protocol.RENEWAL_WINDOW_DAYS, earliest.isoformat())))
        csr_der = _decode_base64(soap.child_text(signed, 'CertificateRequest'))
        problem = _csr_problem(csr_der, customer_id, current_key=cert.public_key())
        if problem:
            errors.append(problem)
        if errors:
            outcome.errors = errors
            return
        retrieval_id = new_retrieval_id()
        self.store.add_retrieval({'retrieval_id': retrieval_id, 'customer_id': customer_id,
                                  'environment': environment, 'csr_der': csr_der,
                                  'customer_name': soap.child_text(signed, 'CustomerName'),
                                  'origin': 'renewCertificate', 'ready_at': self._ready_at()})
        outcome.payload = [('RetrievalId', retrieval_id)]

    def _accepted_signer_record(self, cert, customer_id, outcome):
        """The store's record of the renewal signer, or None with PKI011 set on the outcome."""
        record = self.store.find_certificate(str(cert.serial_number))
        reason = None
        if not self.pki.issued_by_service(cert) or record is None or record['der'] != _der(cert):
            reason = 'it was not issued by this service'
        elif record['revoked_at']:
            reason = 'it has been revoked'
        elif now() > cert.not_valid_after_utc:
            reason = 'it has expired; apply for a new certificate in the e-service'
        elif now() < cert.not_valid_before_utc:
            reason = 'it is not valid yet'
        elif record['customer_id'] != customer_id or _common_names(cert) != [customer_id]:
            reason = 'it belongs to another customer'
        if reason:
            outcome.errors = [(protocol.SIGNER_NOT_ACCEPTED, 'The signing certificate is not accepted: ' + reason)]
            return None
        return record


def _common_names(cert):
    return [attribute.value for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def _der(cert):
    return cert.public_bytes(Encoding.DER)
