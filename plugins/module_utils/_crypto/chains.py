# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one X.509 path builder of the collection: for an issued certificate (against issuing_ca_path) and
for the response signer (against service_ca_path).

Paths are built from the given bundle only; the system trust store has no say. Every certificate in the
bundle is trusted, so a path may end at an intermediate without its root. cryptography's
x509.verification is not used: it applies the Web PKI profile (required extensions, EKU rules) to
certificates whose profile is not published for the real service, and would refuse them for that alone.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# certificates imports this module only inside the functions that check a path, so no import cycle.
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import iso

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

# CA certificates allowed above the leaf. The real hierarchies have two (an issuing CA, its root); the
# cap stops a hostile or looping bundle from making path building run long.
MAX_CAS = 5


class ChainProblem(Exception):
    """No acceptable path, in words that name no bundle: callers say which file they checked.

    missing_issuer is the issuer name of the leaf when the bundle holds no certificate that issued it
    (what a missing intermediate produces, worth its own advice); message is then "<leaf> was issued by
    <issuer>". namesake says that the bundle does hold a CA of that name whose key did not sign the leaf:
    the leaf was altered, or another CA of the same name (an impostor, or an older or newer one) issued it.
    """

    def __init__(self, message, missing_issuer=None, namesake=False):
        super(ChainProblem, self).__init__(message)
        self.message = message
        self.missing_issuer = missing_issuer
        self.namesake = namesake


def describe(cert):
    return cert.subject.rfc4514_string() or '(empty subject)'


def holdings(bundle):
    """What a bundle holds, for a message that says where a missing CA belongs."""
    return '; '.join(describe(cert) for cert in bundle) or 'no certificate'


def validity_problem(cert, now):
    """Why cert is not valid at now, or None."""
    if now < cert.not_valid_before_utc:
        return 'is not valid before %s' % iso(cert.not_valid_before_utc)
    if now > cert.not_valid_after_utc:
        return 'expired on %s' % iso(cert.not_valid_after_utc)
    return None


def extension(cert, kind):
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _ca_problem(candidate, now, cas_below):
    """Why candidate may not act as an issuer with cas_below CA certificates under it, or None."""
    constraints = extension(candidate, x509.BasicConstraints)
    if constraints is None:
        # A self-signed root from the bundle is a trust anchor, taken as given (RFC 5280 6.1.1): an old (v1) root
        # has no extensions, and OpenSSL, which the public Python client verifies with, accepts one. A CA below it
        # must say it is one.
        if is_self_signed(candidate):
            return _usage_or_validity_problem(candidate, now)
        return 'has no basicConstraints extension, so it is not a CA'
    if not constraints.ca:
        return 'is not a CA (basicConstraints CA is false)'
    if constraints.path_length is not None and cas_below > constraints.path_length:
        return 'allows at most %d CA certificates below it (pathLenConstraint)' % constraints.path_length
    return _usage_or_validity_problem(candidate, now)


def _usage_or_validity_problem(candidate, now):
    usage = extension(candidate, x509.KeyUsage)
    if usage is not None and not usage.key_cert_sign:
        return 'may not sign certificates (keyUsage lacks keyCertSign)'
    return validity_problem(candidate, now)


def signed_by(cert, issuer):
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def is_self_signed(cert):
    return cert.subject == cert.issuer and signed_by(cert, cert)


def _find_issuer(cert, bundle, path, now):
    """The bundle certificate that issued cert and may do so, None when the bundle holds none that signed
    it (a same-named CA with another key is no issuer: that is what an impostor looks like), or
    ChainProblem when the ones that did sign it may not act as its CA."""
    problems = []
    for candidate in bundle:
        if candidate in path or candidate.subject != cert.issuer or not signed_by(cert, candidate):
            continue
        problem = _ca_problem(candidate, now, len(path) - 1)
        if problem is None:
            return candidate
        problems.append('the issuer %s %s' % (describe(candidate), problem))
    if problems:
        raise ChainProblem('%s cannot be used: %s' % (describe(cert), '; '.join(problems)))
    return None


def build_path(cert, bundle, now, pinned_leaf=False):
    """[cert, issuer, ..., top], every issuer from bundle; ChainProblem when there is no acceptable path.

    cert itself must be valid at now, and so must every CA on the path. With pinned_leaf, cert is also
    accepted by being in the bundle itself (a response signer certificate given as the trust anchor);
    an issued certificate always needs a CA from the bundle.
    """
    bundle = list(bundle)
    problem = validity_problem(cert, now)
    if problem:
        raise ChainProblem('%s %s' % (describe(cert), problem))
    if pinned_leaf and cert in bundle:
        return [cert]
    path = [cert]
    # The leaf needs an issuer from the bundle even when it signed itself: a self-signed certificate is
    # trusted only by being in the bundle.
    while len(path) == 1 or not is_self_signed(path[-1]):
        issuer = _find_issuer(path[-1], bundle, path, now)
        if issuer is None:
            if len(path) == 1:
                raise ChainProblem('%s was issued by %s' % (describe(cert), cert.issuer.rfc4514_string()),
                                   missing_issuer=cert.issuer,
                                   namesake=any(candidate.subject == cert.issuer for candidate in bundle))
            break
        if len(path) > MAX_CAS:
            raise ChainProblem('The chain of %s is longer than %d CA certificates' % (describe(cert), MAX_CAS))
        path.append(issuer)
    return path
