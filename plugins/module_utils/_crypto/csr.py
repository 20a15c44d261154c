# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A new RSA key, and the PKCS#10 request with it that the certificate service signs.

Every error raised here is secret-free: no key bytes and no message text from the underlying library.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import RequestValidationError

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

# The sizes public clients of the service used (certificate-service.md); whether the real service takes
# another, and whether refusing one would spend the one-time credentials, is not known.
ALLOWED_KEY_SIZES = (2048, 3072)

# The service's schema types CustomerId as String30; X.509 caps O at 64 (ub-organization-name).
CUSTOMER_ID_MAX_LENGTH = 30
ORGANISATION_MAX_LENGTH = 64


def generate_private_key(size=2048):
    if isinstance(size, bool) or size not in ALLOWED_KEY_SIZES:
        raise ValueError('RSA key size must be one of %s, not %r'
                         % (', '.join(str(s) for s in ALLOWED_KEY_SIZES), size))
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def _check_text(value, what, max_length):
    if not isinstance(value, str) or not value.strip():
        raise RequestValidationError('%s must be a non-empty string' % what)
    if value != value.strip():
        raise RequestValidationError('%s must not start or end with whitespace' % what)
    if len(value) > max_length:
        raise RequestValidationError('%s is %d characters long; at most %d are allowed'
                                     % (what, len(value), max_length))


def build_csr(key, customer_id, organisation=None):
    """DER PKCS#10 request with subject C=FI[, O=organisation], CN=customer_id, signed with SHA-256."""
    _check_text(customer_id, 'customer_id', CUSTOMER_ID_MAX_LENGTH)
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, u'FI')]
    if organisation is not None:
        _check_text(organisation, 'organisation', ORGANISATION_MAX_LENGTH)
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, customer_id))
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes)).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)
