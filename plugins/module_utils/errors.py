# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exception hierarchy shared by the client, the crypto helpers and the modules.

Modules catch CertificateServiceError and turn it into fail_json(msg=str(err), **err.details()).
No exception message may ever contain a transfer password, a private key or a passphrase.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


# Why data is taken for no certificate at all; certificate_info says it from the host or from the controller.
NOT_A_CERTIFICATE = 'The data is not a PEM or DER X.509 certificate'


class CertificateServiceError(Exception):
    """Base class: something the user has to know about, with a message that says what to do."""

    def __init__(self, message, code=None, service_errors=None):
        super(CertificateServiceError, self).__init__(message)
        self.message = message
        self.code = code
        # (ErrorCode, ErrorMessage) pairs the service answered with, when they explain this error.
        self.service_errors = list(service_errors or [])

    def details(self):
        """Extra, secret-free facts for fail_json."""
        result = {'error_type': type(self).__name__}
        if self.code:
            result['error_code'] = self.code
        if self.service_errors:
            result['service_errors'] = [{'code': c, 'message': m} for c, m in self.service_errors]
        return result


class RequestValidationError(CertificateServiceError):
    """A request would break the service's schema (length, type); nothing was sent."""


class TransportError(CertificateServiceError):
    """HTTP or TLS failed. request_may_have_been_processed tells whether the service may have
    acted on the request (the bytes were sent, but no complete response arrived)."""

    def __init__(self, message, request_may_have_been_processed=False, status_code=None):
        super(TransportError, self).__init__(message)
        self.request_may_have_been_processed = request_may_have_been_processed
        self.status_code = status_code

    def details(self):
        result = super(TransportError, self).details()
        result['request_may_have_been_processed'] = self.request_may_have_been_processed
        if self.status_code is not None:
            result['http_status'] = self.status_code
        return result


class ResponseRejected(CertificateServiceError):
    """The response could not be trusted: too large, not XML, DTD/entities, bad or untrusted signature."""


class ServiceFault(CertificateServiceError):
    """The service answered Result/Status FAIL. errors is a list of (ErrorCode, ErrorMessage)."""

    def __init__(self, operation, errors):
        self.operation = operation
        errors = list(errors)
        text = '; '.join('%s: %s' % (code or 'no code', msg or 'no message') for code, msg in errors)
        super(ServiceFault, self).__init__(
            'The certificate service refused %s: %s' % (operation, text or 'FAIL without ErrorInfo'),
            code=errors[0][0] if errors else None, service_errors=errors)

    @property
    def errors(self):
        return self.service_errors

    @property
    def codes(self):
        return [code for code, dummy in self.errors]


class CertificateNotReady(ServiceFault):
    """GetCertificate answered FAIL with a code not listed as final: poll again later."""


class RetrievalPending(CertificateServiceError):
    """The wait for an issued certificate ran out while GetCertificate kept answering "not ready" (or
    failing transiently): nothing is wrong yet, the RetrievalId stays recorded and a rerun polls it.
    Its own type, so that the renewal role can poll in rounds and tell "not yet" from a failure."""


class CertificateRejected(CertificateServiceError):
    """A certificate failed validation: wrong key, wrong CN, bad chain, not currently valid.

    fixable: the same certificate may pass later without a new one from the service, once the host's clock or a
    trust file is put right (not yet valid, no chain to the trusted issuing CA); the certificate is then kept.
    """

    def __init__(self, message, fixable=False, **kwargs):
        super(CertificateRejected, self).__init__(message, **kwargs)
        self.fixable = fixable


class RenewalNotAllowed(CertificateServiceError):
    """The renewal rules forbid the call: outside the 60-day window, or the certificate expired."""


class CertificateExpired(RenewalNotAllowed):
    """The certificate has expired: it cannot be renewed, a new one must be applied for."""


class CertificateMissing(CertificateServiceError):
    """There is no certificate (or no key) where one was expected."""


class LocalFileError(CertificateServiceError):
    """A file on the managed host is unsafe or unusable: a symlink, loose permissions, disk full."""


class StateError(CertificateServiceError):
    """Saved state forbids or blocks the action (for example one-time credentials already sent)."""
