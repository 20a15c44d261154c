"""Factories for a small test PKI. Plain functions, not fixtures, so any test module can use them.

Keys are cached by label: RSA generation is the slow part, and a label names a role
('root', 'issuing', 'leaf', ...) so tests that need distinct keys ask for distinct labels.
"""
import datetime
import functools

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = datetime.datetime(2025, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
CUSTOMER_ID = '1234567-8'
TEST_ISSUING_CN = 'Data Providers Test Issuing CA v1'
SANDBOX_ISSUING_CN = 'Data Providers Sandbox Issuing CA v1'
PRODUCTION_ISSUING_CN = 'Data Providers Issuing CA v1'


@functools.lru_cache(maxsize=None)
def rsa_key(label='default', size=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def inconsistent_rsa_pem(key):
    """PEM of key with one CRT exponent wrong: it parses and keeps its public half, but fails RSA's check."""
    numbers = key.private_numbers()
    damaged = rsa.RSAPrivateNumbers(numbers.p, numbers.q, numbers.d, numbers.dmp1 ^ 2, numbers.dmq1,
                                    numbers.iqmp, numbers.public_numbers)
    return damaged.private_key(unsafe_skip_rsa_key_validation=True).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@functools.lru_cache(maxsize=None)
def ec_key(label='default'):
    return ec.generate_private_key(ec.SECP256R1())


def name(common_name, organisation=None, country='FI'):
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)]
    if organisation:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if common_name is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def make_cert(subject, public_key, issuer_name, issuer_key, not_before=None, not_after=None, ca=False,
              path_length=None, basic_constraints=True, key_cert_sign=None, serial=None):
    not_before = not_before or NOW - 30 * DAY
    not_after = not_after or NOW + 700 * DAY
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_name)
               .public_key(public_key)
               .serial_number(serial or x509.random_serial_number())
               .not_valid_before(not_before)
               .not_valid_after(not_after))
    if basic_constraints:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    if key_cert_sign is not None:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=not key_cert_sign, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=key_cert_sign, crl_sign=key_cert_sign,
            encipher_only=False, decipher_only=False), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def make_root(cn='Data Providers Test Root CA', key_label='root', **kwargs):
    key = rsa_key(key_label)
    subject = name(cn)
    kwargs.setdefault('ca', True)
    kwargs.setdefault('not_before', NOW - 400 * DAY)
    kwargs.setdefault('not_after', NOW + 3000 * DAY)
    return make_cert(subject, key.public_key(), subject, key, **kwargs), key


def make_intermediate(issuer_cert, issuer_key, cn=TEST_ISSUING_CN, key_label='issuing', **kwargs):
    key = rsa_key(key_label)
    kwargs.setdefault('ca', True)
    kwargs.setdefault('not_before', NOW - 300 * DAY)
    kwargs.setdefault('not_after', NOW + 2000 * DAY)
    return make_cert(name(cn), key.public_key(), issuer_cert.subject, issuer_key, **kwargs), key


def make_leaf(issuer_cert, issuer_key, customer_id=CUSTOMER_ID, organisation='Testi Oy', key=None,
              key_label='leaf', **kwargs):
    key = key or rsa_key(key_label)
    cert = make_cert(name(customer_id, organisation), key.public_key(), issuer_cert.subject, issuer_key, **kwargs)
    return cert, key


def make_pki(issuing_cn=TEST_ISSUING_CN):
    """dict with root, issuing, leaf certificates and their keys: the usual two-level hierarchy."""
    root, root_key = make_root()
    issuing, issuing_key = make_intermediate(root, root_key, cn=issuing_cn, key_label='issuing-' + issuing_cn)
    leaf, leaf_key = make_leaf(issuing, issuing_key)
    return dict(root=root, root_key=root_key, issuing=issuing, issuing_key=issuing_key, leaf=leaf, leaf_key=leaf_key)


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key, passphrase=None):
    """PKCS#8 PEM, encrypted under passphrase when one is given."""
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def write_private(path, data):
    """data at path (a pathlib.Path), mode 0600, as the collection keeps keys; returns the path as a string."""
    path.write_bytes(data)
    path.chmod(0o600)
    return str(path)
