# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a certificate is one to use: it chains to the issuing CA bundle (verify_chain), and one the service
has just issued is the one that was asked for (validate_issued_certificate).

Chains are verified against the certificates the caller gives and nothing else: the system trust store has no
say over which CA may issue Incomes Register certificates. Apart from certificates.py, which only loads and
describes, so that certificate_info without issuing_ca_path does not compile this or chains.py: a module run
compiles every file it imports from its payload, twice (docs/benchmarks.md).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateRejected
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates, chains, keys

try:
    from cryptography.x509.oid import NameOID
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

# The option of every module that names the bundle verify_chain is given.
ISSUING_OPTION = 'issuing_ca_path'


def _check_validity(cert, now, role):
    problem = chains.validity_problem(cert, now)
    if problem:
        raise CertificateRejected('The %s %s %s' % (role, chains.describe(cert), problem))


def verify_chain(cert, trust_certs, now=None):
    """[cert, issuer, ..., top] built only from trust_certs (the issuing CA bundle); CertificateRejected when
    no acceptable path exists, naming a missing issuer and the option whose file should hold it."""
    now = certificates.utc_now(now)
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
    now = certificates.utc_now(now)
    held, expected = keys.public_key_fingerprint(cert.public_key()), keys.public_key_fingerprint(expected_public_key)
    if held != expected:
        raise CertificateRejected(
            'Public key check failed: the certificate %s does not hold the public key of the request that was '
            'sent (its key %s, expected %s)' % (chains.describe(cert), held, expected))
    common_names = certificates.names(cert.subject, NameOID.COMMON_NAME)
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
