"""The sandbox's own PKI: creation at init, loading at run time, and certificate issuance.

Hierarchy (only the keys the running service needs are kept, in pki/ with mode 0600):
  Incomes Register Sandbox Root CA
    +- Data Providers Sandbox Issuing CA v1   (issues customer certificates)
    +- localhost TLS server certificate
  Incomes Register Sandbox Services Root CA   (separate root: trusting it must not make
    +- Incomes Register Sandbox Services         customer certificates acceptable as
    |  Issuing CA v1                             response signers)
    |  +- Incomes Register Sandbox Certificate Service   (response signer, profile real)
    +- Incomes Register Sandbox Certificate Service      (response signer, profile minimal)
  The same tree of services CAs and signers once more, with the same names and other keys:
  the impostor of the untrusted-signer fault; only a cryptographic chain check tells it apart.
  A customer certificate (CN 7777777-7) under the Data Providers issuing CA signs the responses of the
  customer-signer fault: a client whose service trust file holds the issuing CA by mistake must still
  refuse it.
"""
import datetime
import ipaddress
import os
import shutil
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_CA_NAME = 'Incomes Register Sandbox Root CA'
ISSUING_CA_NAME = 'Data Providers Sandbox Issuing CA v1'
SERVICE_ROOT_CA_NAME = 'Incomes Register Sandbox Services Root CA'
SERVICE_ISSUING_CA_NAME = 'Incomes Register Sandbox Services Issuing CA v1'
CUSTOMER_SIGNER_ID = '7777777-7'
SERVICE_SIGNER_NAME = 'Incomes Register Sandbox Certificate Service'
ORGANISATION = 'Incomes Register Sandbox'
INFRASTRUCTURE_VALIDITY = datetime.timedelta(days=3650)
# Backdating absorbs small clock differences between the sandbox and its clients.
BACKDATE = datetime.timedelta(minutes=5)


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def new_rsa_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def write_private_key(path, key):
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'wb') as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)


def load_private_key(path):
    with open(path, 'rb') as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


def write_certs(path, *certs):
    with open(path, 'w', encoding='ascii') as handle:
        handle.write(''.join(cert_pem(cert) for cert in certs))


def load_cert(path):
    with open(path, 'rb') as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _name(common_name, organisation=ORGANISATION):
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, 'FI')]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _builder(subject, public_key, issuer_name, issuer_key, not_before, not_after):
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_name)
               .public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before)
               .not_valid_after(not_after)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)


def _ca_usage():
    return x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                         crl_sign=True, encipher_only=False, decipher_only=False)


def _self_signed_ca(common_name):
    key = new_rsa_key()
    now = utcnow()
    name = _name(common_name)
    cert = (_builder(name, key.public_key(), name, key, now - BACKDATE, now + INFRASTRUCTURE_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _sub_ca(common_name, issuer_key, issuer_cert):
    key = new_rsa_key()
    now = utcnow()
    cert = (_builder(_name(common_name), key.public_key(), issuer_cert.subject, issuer_key,
                     now - BACKDATE, now + INFRASTRUCTURE_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .sign(issuer_key, hashes.SHA256()))
    return key, cert


def _signer(issuer_key, issuer_cert):
    key = new_rsa_key()
    now = utcnow()
    cert = (_builder(_name(SERVICE_SIGNER_NAME), key.public_key(), issuer_cert.subject, issuer_key,
                     now - BACKDATE, now + INFRASTRUCTURE_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(issuer_key, hashes.SHA256()))
    return key, cert


def _tls_server(issuer_key, issuer_cert):
    key = new_rsa_key()
    now = utcnow()
    san = x509.SubjectAlternativeName([
        x509.DNSName('localhost'),
        x509.IPAddress(ipaddress.ip_address('127.0.0.1')),
        x509.IPAddress(ipaddress.ip_address('::1')),
    ])
    cert = (_builder(_name('localhost'), key.public_key(), issuer_cert.subject, issuer_key,
                     now - BACKDATE, now + INFRASTRUCTURE_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=True, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(san, critical=False)
            .sign(issuer_key, hashes.SHA256()))
    return key, cert


def create(layout):
    """Create the whole PKI and the trust files; replaces an existing one."""
    for directory in (layout.pki_dir, layout.trust_dir):
        if os.path.isdir(directory):
            shutil.rmtree(directory)
    os.makedirs(layout.pki_dir, mode=0o700)
    os.makedirs(layout.trust_dir, mode=0o755)
    os.chmod(layout.pki_dir, 0o700)

    root_key, root_cert = _self_signed_ca(ROOT_CA_NAME)
    issuing_key, issuing_cert = _sub_ca(ISSUING_CA_NAME, root_key, root_cert)
    tls_key, tls_cert = _tls_server(root_key, root_cert)
    write_certs(layout.pki('root-ca.pem'), root_cert)
    for name, key, cert in (('issuing-ca', issuing_key, issuing_cert), ('tls', tls_key, tls_cert)):
        write_private_key(layout.pki(name + '.key'), key)
        write_certs(layout.pki(name + '.pem'), cert)
    service_root, service_issuing = _service_signers(layout, 'service')
    _service_signers(layout, 'untrusted')
    customer_key = new_rsa_key()
    write_private_key(layout.pki('customer-signer.key'), customer_key)
    write_certs(layout.pki('customer-signer.pem'), _customer_certificate(
        customer_key.public_key(), CUSTOMER_SIGNER_ID, 'Asiakas Oy', issuing_key, issuing_cert,
        utcnow() - BACKDATE, utcnow() + INFRASTRUCTURE_VALIDITY))

    # Leaf to root, as in a certificate chain file: the issuing CA first, its root last.
    write_certs(layout.service_ca_pem, service_issuing, service_root)
    write_certs(layout.issuing_ca_pem, issuing_cert, root_cert)
    write_certs(layout.tls_ca_pem, root_cert)


def _customer_certificate(public_key, customer_id, customer_name, issuer_key, issuer_cert, not_before, not_after):
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                          crl_sign=False, encipher_only=False, decipher_only=False)
    return (_builder(_name(customer_id, customer_name or None), public_key,
                     issuer_cert.subject, issuer_key, not_before, not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(issuer_key, hashes.SHA256()))


def _service_signers(layout, prefix):
    """A services root, its issuing CA and the two response signers; returns (root, issuing CA)."""
    root_key, root_cert = _self_signed_ca(SERVICE_ROOT_CA_NAME)
    issuing_key, issuing_cert = _sub_ca(SERVICE_ISSUING_CA_NAME, root_key, root_cert)
    write_certs(layout.pki(prefix + '-root-ca.pem'), root_cert)
    write_certs(layout.pki(prefix + '-issuing-ca.pem'), issuing_cert)
    for name, (key, cert) in ((prefix + '-signer', _signer(issuing_key, issuing_cert)),
                              (prefix + '-signer-direct', _signer(root_key, root_cert))):
        write_private_key(layout.pki(name + '.key'), key)
        write_certs(layout.pki(name + '.pem'), cert)
    return root_cert, issuing_cert


@dataclass(frozen=True)
class Signer:
    key: object
    cert: x509.Certificate

    @property
    def cert_pem(self):
        return cert_pem(self.cert)


@dataclass(frozen=True)
class Pki:
    issuing: Signer
    service: Signer              # response signer below the services issuing CA
    service_direct: Signer       # response signer directly below the services root
    untrusted: Signer
    untrusted_direct: Signer
    customer: Signer              # a customer's certificate, for the customer-signer fault

    @classmethod
    def load(cls, layout):
        def signer(name):
            return Signer(load_private_key(layout.pki(name + '.key')), load_cert(layout.pki(name + '.pem')))
        return cls(issuing=signer('issuing-ca'), service=signer('service-signer'),
                   service_direct=signer('service-signer-direct'), untrusted=signer('untrusted-signer'),
                   untrusted_direct=signer('untrusted-signer-direct'), customer=signer('customer-signer'))

    def response_signer(self, profile, impostor=False):
        if profile.signer_under_intermediate:
            return self.untrusted if impostor else self.service
        return self.untrusted_direct if impostor else self.service_direct

    def issue(self, public_key, customer_id, customer_name, not_before, not_after):
        """A customer certificate as the service issues it: C=FI, O=name (if any), CN=CustomerId."""
        return _customer_certificate(public_key, customer_id, customer_name, self.issuing.key, self.issuing.cert,
                                     not_before, not_after)

    def issued_by_service(self, cert):
        """True when cert carries a valid signature of the sandbox issuing CA."""
        try:
            cert.verify_directly_issued_by(self.issuing.cert)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True


def public_key_fingerprint(public_key):
    """SHA-256 over the SubjectPublicKeyInfo: identifies a key independent of its encoding."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(public_key.public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return digest.finalize().hex()
