# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polling GetCertificate until the service has issued the certificate.

GetCertificate only reads, so repeating it is always safe: it is repeated while the service answers
"not ready" and, a bounded number of times in a row, after failures that may go away by themselves
(timeouts, dropped connections) and after any HTTP error or SOAP fault, which the public clients poll
through as well.

The cadence follows the public clients (certificate-service.md): they wait 15-45 s before the first
GetCertificate and poll every 45 s at most 10 times; the defaults wait 30 s, then poll from 10 s
growing to 60 s. If the real service is faster, the only cost is the wait; if it is slower, a rerun
or certificate_retrieve continues with the same RetrievalId.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateNotReady, CertificateServiceError, RetrievalPending, TransportError)

RESUME_HINT = ('The request stays recorded: run the task again, or incomes_register.certificates.certificate_retrieve '
               'with retrieval_id=%s, to continue waiting; nothing one-time is sent again.')
# However small the poll interval, one wait makes no more calls than this.
MAX_POLLS = 100


def _check_options(timeout, initial_delay, interval, backoff, max_transient_errors):
    if timeout < 0 or initial_delay < 0:
        raise CertificateServiceError('wait_timeout and initial_delay must not be negative.')
    if interval <= 0:
        raise CertificateServiceError('The poll interval must be positive.')
    if backoff < 1 or max_transient_errors < 0:
        raise CertificateServiceError('backoff must be at least 1 and max_transient_errors not negative.')


def _lower_first(sentence):
    return sentence[:1].lower() + sentence[1:]


def _gave_up(retrieval_id, attempts, seconds, last):
    """The error of a wait that ran out. A FAIL answer, or an OK without a certificate, may mean "not yet" or
    a final refusal (the real service's "not ready" answer is unknown), so the message gives both readings
    and the service's own words."""
    done = 'The certificate for RetrievalId %s was not ready after %d GetCertificate calls in %d seconds' % (
        retrieval_id, attempts, seconds)
    if isinstance(last, CertificateNotReady):
        # Only a code can be listed in final_error_codes; an OK without a certificate has none.
        final = ('; if this code never turns into a certificate, list it in final_error_codes to stop at once.'
                 if last.code else '.')
        return RetrievalPending(
            '%s: the service kept answering %s (last: %s). Either it is still issuing the certificate, and '
            '%s A longer wait_timeout waits longer in one run. Or the RetrievalId is wrong (check environment, '
            'customer_id and the RetrievalId) or the request was refused for good%s'
            % (done, 'OK without a certificate' if getattr(last, 'status', 'FAIL') == 'OK' else 'FAIL', last.message,
               _lower_first(RESUME_HINT % retrieval_id), final),
            code=last.code, service_errors=last.errors)
    return RetrievalPending('%s (last answer: %s). %s A longer wait_timeout waits longer in one run.'
                            % (done, last.message, RESUME_HINT % retrieval_id), code=last.code)


def answered_with_an_error(error):
    """Whether a failed GetCertificate was answered with an HTTP error or a SOAP fault, which polling takes as "not
    yet", bounded as transient failures are: the real "not ready" answer is unknown, and the public clients poll
    through any failure (certificate-service.md: Java retries any failure, Python treats any non-OK answer as not
    yet). A Client fault or a 4xx would end a submission at once; GetCertificate only reads, so asking again spends
    nothing. A redirect is not: it comes from how endpoint is set, and would only repeat."""
    status = error.status_code
    return getattr(error, 'soap_fault', False) or (status is not None and 400 <= status < 600)


def wait_for_certificate(client, customer_id, customer_name, retrieval_id, timeout=300, initial_delay=0, interval=5,
                         max_interval=60, backoff=1.5, sleep=time.sleep, clock=time.monotonic,
                         max_transient_errors=5):
    """Poll client.get_certificate until it returns; return (certificate DER, number of GetCertificate calls).

    The first poll happens after initial_delay; then the wait grows from interval by backoff up to
    max_interval. timeout counts from the call, initial delay included; one last poll is made at the
    deadline. Raises RetrievalPending (code of the last not-ready answer) when time or MAX_POLLS runs out,
    TransportError after more than max_transient_errors transient failures (an HTTP error or SOAP fault
    included) in a row, and anything else get_certificate raises (a refusal in final_error_codes, an untrusted
    response, a redirect) at once.
    """
    _check_options(timeout, initial_delay, interval, backoff, max_transient_errors)
    # A poll interval chosen above the default cap is the user's to choose.
    max_interval = max(max_interval, interval)
    started = clock()
    deadline = started + timeout
    if initial_delay:
        sleep(min(initial_delay, timeout))
    attempts = transient_in_a_row = 0
    delay = interval
    while True:
        attempts += 1
        try:
            return client.get_certificate(customer_id, customer_name, retrieval_id), attempts
        except CertificateNotReady as error:
            transient_in_a_row = 0
            last = error
        except TransportError as error:
            if not (getattr(error, 'retryable', False) or answered_with_an_error(error)):
                raise
            transient_in_a_row += 1
            if transient_in_a_row > max_transient_errors:
                raise TransportError(
                    'GetCertificate for RetrievalId %s failed %d times in a row; the last failure: %s %s'
                    % (retrieval_id, transient_in_a_row, error.message, RESUME_HINT % retrieval_id),
                    request_may_have_been_processed=error.request_may_have_been_processed,
                    status_code=error.status_code)
            last = error
        remaining = deadline - clock()
        if remaining <= 0 or attempts >= MAX_POLLS:
            raise _gave_up(retrieval_id, attempts, round(clock() - started), last)
        sleep(min(delay, remaining))
        delay = min(delay * backoff, max_interval)
