# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loading, checking and describing X.509 certificates on the managed host.

Chains are verified against the certificates the caller gives and nothing else: the system
trust store has no say over which CA may issue Incomes Register certificates.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateRejected
from ansible_collections.incomes_register.certificates.plugins.module_utils import renewal_policy
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys
# _crypto/chains is imported by the functions that check a path, not here: certificate_info describes a
# certificate without one, and a module run compiles every file it imports from its payload, twice
# (docs/benchmarks.md).

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

# The option of every module that names the bundle verify_chain is given.
ISSUING_OPTION = 'issuing_ca_path'


_PEM_CERTIFICATE = re.compile(
    br'-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----', re.DOTALL)


def _utc_now(now):
    if now is None:
        return datetime.datetime.now(datetime.timezone.utc)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError('now must be a timezone-aware datetime')
    return now


def load_certificate(data):
    """One certificate from PEM (the first block) or DER bytes."""
    if isinstance(data, str):
        data = data.encode('ascii', 'replace')
    try:
        if b'-----BEGIN' in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateRejected('The data is not a PEM or DER X.509 certificate') from None


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


def certificate_to_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _names(name, oid):
    return [attribute.value for attribute in name.get_attributes_for_oid(oid)]


def _first(name, oid):
    values = _names(name, oid)
    return values[0] if values else None


def _check_validity(cert, now, role):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import chains
    problem = chains.validity_problem(cert, now)
    if problem:
        raise CertificateRejected('The %s %s %s' % (role, chains.describe(cert), problem))


def verify_chain(cert, trust_certs, now=None):
    """[cert, issuer, ..., top] built only from trust_certs (the issuing CA bundle); CertificateRejected when
    no acceptable path exists, naming a missing issuer and the option whose file should hold it."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import chains
    now = _utc_now(now)
    trust_certs = list(trust_certs)
    try:
        return chains.build_path(cert, trust_certs, now)
    except chains.ChainProblem as problem:
        if problem.missing_issuer is None:
            raise CertificateRejected('The certificate does not chain to the trusted issuing CA: %s'
                                      % problem.message) from None
        issuer = problem.missing_issuer.rfc4514_string()
        if problem.namesake:
            raise CertificateRejected(
                'The signature of the certificate %s does not verify with the key of %s in the trusted issuing CA '
                'bundle (%s): the certificate was altered, or another CA of the same name issued it'
                % (chains.describe(cert), issuer, ISSUING_OPTION)) from None
        raise CertificateRejected(
            'The certificate %s, which is not in the trusted issuing CA bundle (it holds %s). Add the certificate '
            'of %s, the CA that issued it, to %s'
            % (problem.message, chains.holdings(trust_certs), issuer, ISSUING_OPTION)) from None


# certificate-service.md says nothing of an issued certificate's notBefore; a CA may set it to the moment of
# issue, so a host clock a little behind the service's would refuse a certificate issued a moment ago.
ISSUED_NOT_BEFORE_LEEWAY = datetime.timedelta(minutes=5)


def validate_issued_certificate(cert, expected_public_key, customer_id, issuing_bundle_certs, now=None):
    """Check a certificate the service returned before it is used; returns its chain path.

    Checked in this order: the public key is the one we generated, the subject CN is our customer
    id, it is valid now (a notBefore up to ISSUED_NOT_BEFORE_LEEWAY ahead of this host's clock counts as
    now), it chains to the issuing bundle. A refusal for the last two is fixable: the clock or the trust
    file is put right, and the same certificate passes.
    """
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import chains
    now = _utc_now(now)
    if keys.public_key_fingerprint(cert.public_key()) != keys.public_key_fingerprint(expected_public_key):
        raise CertificateRejected(
            'Public key check failed: the certificate %s does not hold the public key of the request that was '
            'sent (its key %s, expected %s)' % (
                chains.describe(cert), keys.public_key_fingerprint(cert.public_key()),
                keys.public_key_fingerprint(expected_public_key)))
    common_names = _names(cert.subject, NameOID.COMMON_NAME)
    if common_names != [customer_id]:
        raise CertificateRejected('Subject check failed: the certificate subject CN is %s, expected exactly %r'
                                  % (', '.join(repr(n) for n in common_names) or 'missing', customer_id))
    if now < cert.not_valid_before_utc <= now + ISSUED_NOT_BEFORE_LEEWAY:
        now = cert.not_valid_before_utc
    try:
        _check_validity(cert, now, 'certificate')
    except CertificateRejected as error:
        raise CertificateRejected('Validity check failed: %s' % error.message,
                                  fixable=now < cert.not_valid_before_utc) from None
    try:
        return verify_chain(cert, issuing_bundle_certs, now)
    except CertificateRejected as error:
        raise CertificateRejected('Chain check failed: %s' % error.message, fixable=True) from None


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
    now = _utc_now(now)
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
