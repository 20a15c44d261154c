# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loading and describing X.509 certificates on the managed host; verification.py checks them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateRejected, NOT_A_CERTIFICATE
from ansible_collections.incomes_register.certificates.plugins.module_utils import renewal_policy
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass


_PEM_CERTIFICATE = re.compile(
    br'-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----', re.DOTALL)


def utc_now(now):
    """now (timezone-aware), or the current moment when None."""
    if now is None:
        return datetime.datetime.now(datetime.timezone.utc)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError('now must be a timezone-aware datetime')
    return now


def load_certificate(data):
    """One certificate from PEM (the first block) or DER bytes."""
    if isinstance(data, str):
        data = data.encode('ascii', 'replace')
    if b'-----BEGIN' not in data:
        return load_der_certificate(data)
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise CertificateRejected(NOT_A_CERTIFICATE) from None


def load_pem_bundle(data):
    """Every CERTIFICATE block in data, in file order; other PEM blocks (keys) are skipped."""
    if isinstance(data, str):
        data = data.encode('ascii', 'replace')
    result = []
    for index, block in enumerate(_PEM_CERTIFICATE.findall(data), start=1):
        try:
            result.append(x509.load_pem_x509_certificate(block))
        except ValueError:
            raise CertificateRejected('PEM certificate number %d in the bundle is damaged' % index) from None
    return result


def load_der_certificate(data):
    """One certificate from DER bytes (which may hold "-----BEGIN" by chance, so load_certificate would not do)."""
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateRejected(NOT_A_CERTIFICATE) from None


def certificate_to_der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def certificate_to_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def names(name, oid):
    return [attribute.value for attribute in name.get_attributes_for_oid(oid)]


def _first(name, oid):
    values = names(name, oid)
    return values[0] if values else None


def iso(value):
    """A moment as the modules return it: 2026-01-31T12:00:00Z (UTC)."""
    return value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _fingerprint(cert, algorithm):
    return ':'.join('%02X' % b for b in cert.fingerprint(algorithm))


def guess_environment(cert):
    """'TEST', 'SANDBOX', 'PRODUCTION' or 'UNKNOWN', from the issuer's CN."""
    issuer_cn = _first(cert.issuer, NameOID.COMMON_NAME) or ''
    if 'Test' in issuer_cn:
        return 'TEST'
    if 'Sandbox' in issuer_cn:
        return 'SANDBOX'
    if 'Data Providers' in issuer_cn:
        return 'PRODUCTION'
    return 'UNKNOWN'


def describe_certificate(cert, private_key=None, renew_before_days=renewal_policy.MAX_RENEW_BEFORE_DAYS, now=None):
    """Facts about cert for module results; see the module docs for the meaning of each key."""
    now = utc_now(now)
    not_after = cert.not_valid_after_utc
    decision = renewal_policy.decide(not_after, now, renew_before_days)
    return {
        'subject': cert.subject.rfc4514_string(),
        'customer_id': _first(cert.subject, NameOID.COMMON_NAME),
        'organisation': _first(cert.subject, NameOID.ORGANIZATION_NAME),
        'issuer': cert.issuer.rfc4514_string(),
        'serial': '%X' % cert.serial_number,
        'fingerprint_sha256': _fingerprint(cert, hashes.SHA256()),
        'fingerprint_sha1': _fingerprint(cert, hashes.SHA1()),
        'not_before': iso(cert.not_valid_before_utc),
        'not_after': iso(not_after),
        'days_remaining': (not_after - now) // datetime.timedelta(days=1),
        'expired': decision.action == renewal_policy.EXPIRED,
        'in_renewal_window': decision.action == renewal_policy.RENEW,
        'key_matches': None if private_key is None else keys.keys_match(private_key, cert),
        'environment': guess_environment(cert),
    }
