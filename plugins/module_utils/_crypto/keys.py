# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private key files: loading one, writing one, and whether it is the key of a certificate; csr.py makes new
keys and the request the service signs.

Every error raised here is secret-free: no key bytes, no passphrase, and no message text from
the underlying library that could echo either.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import LocalFileError

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass


class PrivateKeyError(LocalFileError):
    """A private key could not be used: wrong or missing passphrase, not a key, not RSA."""


def _passphrase_bytes(passphrase, error_class):
    if passphrase is None:
        return None
    if isinstance(passphrase, str):
        passphrase = passphrase.encode('utf-8')
    if not passphrase:
        # An empty passphrase would silently mean "unencrypted" to some tools and an error to others.
        raise error_class('The private key passphrase must not be empty; omit it for an unencrypted key')
    return passphrase


def serialize_private_key(key, passphrase=None):
    """PKCS#8 PEM bytes, encrypted with the best scheme cryptography offers when a passphrase is given."""
    secret = _passphrase_bytes(passphrase, ValueError)
    if secret is None:
        encryption = serialization.NoEncryption()
    else:
        encryption = serialization.BestAvailableEncryption(secret)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def load_private_key(pem_bytes, passphrase=None, for_signing=True):
    """The RSA private key in pem_bytes; PrivateKeyError when it cannot be used.

    for_signing=False skips cryptography's RSA consistency check (~30 ms per key): that check guards
    signing and decryption with a damaged key, while a key loaded only to compare its public half
    with a certificate needs none of it.
    """
    if isinstance(pem_bytes, str):
        pem_bytes = pem_bytes.encode('utf-8')
    secret = _passphrase_bytes(passphrase, PrivateKeyError)
    encrypted = b'-----BEGIN ENCRYPTED PRIVATE KEY-----' in pem_bytes or b'Proc-Type: 4,ENCRYPTED' in pem_bytes
    if encrypted and secret is None:
        raise PrivateKeyError('The private key is encrypted: give its passphrase')
    if not encrypted and secret is not None and b'PRIVATE KEY-----' in pem_bytes:
        raise PrivateKeyError('A passphrase was given but the private key is not encrypted')
    # "from None" keeps the library's exception, and anything it quoted, out of Ansible's traceback.
    try:
        key = serialization.load_pem_private_key(pem_bytes, password=secret,
                                                 unsafe_skip_rsa_key_validation=not for_signing)
    except (ValueError, TypeError):
        if for_signing and _loads_unchecked(pem_bytes, secret):
            raise PrivateKeyError('The private key is damaged: it parses, but its RSA numbers are not '
                                  'consistent, so it must not sign. Restore it from a backup, or request '
                                  'a new certificate with new transfer credentials.') from None
        if encrypted:
            raise PrivateKeyError('Could not decrypt the private key: the passphrase is wrong '
                                  'or the key is damaged') from None
        raise PrivateKeyError('The data is not a PEM private key') from None
    except UnsupportedAlgorithm:
        raise PrivateKeyError('The private key uses an algorithm this host cannot load') from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PrivateKeyError('The private key is not an RSA key; the certificate service needs RSA')
    return key


def _loads_unchecked(pem_bytes, secret):
    try:
        serialization.load_pem_private_key(pem_bytes, password=secret, unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _spki_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_base64(public_key):
    """The SubjectPublicKeyInfo DER in base64: what certificate_info's host tells its controller of a private key,
    which public_key_matches then compares with the certificate."""
    return base64.b64encode(_spki_der(public_key)).decode('ascii')


def public_key_matches(public_key_b64, certificate):
    return public_key_b64 == public_key_base64(certificate.public_key())


def public_key_fingerprint(public_key):
    """SHA-256 of the SubjectPublicKeyInfo DER, as upper-case hex pairs joined by colons."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(_spki_der(public_key))
    return ':'.join('%02X' % b for b in digest.finalize())


def keys_match(private_key, certificate):
    return _spki_der(private_key.public_key()) == _spki_der(certificate.public_key())
