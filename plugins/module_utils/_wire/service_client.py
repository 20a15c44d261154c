# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client of the Incomes Register certificate service (SignNewCertificate, GetCertificate, RenewCertificate).

Every TransportError this client raises carries request_may_have_been_processed (could the service have
acted on the request?) and a retryable attribute (is the failure one that may go away by itself?), which
retrieval.wait_for_certificate uses to decide whether to poll again.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import ipaddress
import os
import signal
import threading
from urllib.parse import urlsplit

from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import error_codes, service_facts
from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import soap_messages
from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import xml_security
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateNotReady, CertificateServiceError, LocalFileError, RequestValidationError, ResponseRejected,
    ServiceFault, TransportError)

try:
    import requests
    import requests.adapters
    import urllib3
    import urllib3.connection
    import urllib3.connectionpool
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

DEFAULT_TIMEOUT = 30
# A whole request (connect, send, every read) must end within this many times its read timeout.
DEADLINE_FACTOR = 2
# The answer to a submission (SignNewCertificate, RenewCertificate) is waited for at least this long. Giving up
# on it loses the RetrievalId of whatever the service may have started: after SignNewCertificate the one-time
# credentials count as spent, after RenewCertificate the next run asks again, and nothing documents that the real
# service renews one certificate more than once. Waiting costs seconds. How long the real service takes is not
# documented (certificate-service.md says nothing of it, nor of its clients' read timeouts), so this is a generous
# guess, not a measurement. The sandbox answers at once, so nothing here was tuned on it.
SUBMISSION_READ_TIMEOUT = 120
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
REDACTED = '********'
_CHUNK_BYTES = 64 * 1024


class _DeadlineExpired(BaseException):
    """Raised inside a request whose deadline passed; a BaseException so no library handler swallows it."""


class _Deadline(object):
    """Interrupt a request that takes longer than seconds in all.

    requests' timeout bounds each read, so a server that sends a byte now and then holds a request for
    ever. A module runs in its process's main thread, where SIGALRM can interrupt a blocking read;
    elsewhere (a caller's thread) only the per-read timeout applies.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self._previous = None
        self._armed = False

    def __enter__(self):
        self._armed = (hasattr(signal, 'setitimer') and threading.current_thread() is threading.main_thread()
                       and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
        if self._armed:
            self._previous = signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    @staticmethod
    def _expire(signum, frame):
        raise _DeadlineExpired()

    def disarm(self):
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def __exit__(self, *exc_info):
        if self._armed:
            self.disarm()
            signal.signal(signal.SIGALRM, self._previous)
        return False


class _Progress(object):
    """Whether the current request got as far as sending: set when urllib3 starts writing the request on a
    connection that is established (TCP, TLS and any proxy tunnel), so that a deadline that expires
    before then can say that nothing was sent."""

    def __init__(self):
        self.started = False


def _tracking_adapter(progress):
    """A requests adapter whose HTTPS connections report to progress when the request starts to go out."""
    class Connection(urllib3.connection.HTTPSConnection):
        def request(self, *args, **kwargs):  # pylint: disable=arguments-differ
            progress.started = True
            return super(Connection, self).request(*args, **kwargs)

    class Pool(urllib3.connectionpool.HTTPSConnectionPool):
        ConnectionCls = Connection

    class Adapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super(Adapter, self).init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = dict(self.poolmanager.pool_classes_by_scheme, https=Pool)

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            manager = super(Adapter, self).proxy_manager_for(proxy, **proxy_kwargs)
            manager.pool_classes_by_scheme = dict(manager.pool_classes_by_scheme, https=Pool)
            return manager

    return Adapter()


def _transport_error(message, processed, status_code=None, retryable=False):
    error = TransportError(message, request_may_have_been_processed=processed, status_code=status_code)
    error.retryable = retryable
    return error


def _reason(error):
    """The innermost readable cause of a requests exception (urllib3 wraps it in MaxRetryError)."""
    reason = error.args[0] if error.args else error
    return str(getattr(reason, 'reason', reason))


# OpenSSL's verify errors for a chain that only the strict X.509 profile refuses (x509_txt.c), which
# Python 3.13 and later turn on by default (ssl.VERIFY_X509_STRICT). Seen with a CA made without key
# identifiers (this project's test PKI, before it set them); what an intercepting proxy's CA may lack.
_STRICT_PROFILE_ERRORS = ('key identifier', 'key usage extension', 'not marked critical')


def _tls_advice(reason):
    """What to do about a failed TLS handshake, from OpenSSL's reason."""
    if any(marker in reason.lower() for marker in _STRICT_PROFILE_ERRORS):
        return ('The chain was refused by the strict X.509 checks that Python 3.13 and later make by default: '
                'a certificate of the chain (typically a private or an intercepting proxy\'s CA) lacks what the '
                'reason names. Another tls_ca_path does not lift that; the CA certificate must be made with it.')
    return ('If the server certificate could not be verified, give the PEM bundle of the CA that issued it in the '
            'tls_ca_path option (client argument tls_ca_bundle).')


def on_this_machine(endpoint):
    """Whether endpoint is on a loopback address, where the collection's sandbox runs (tests/sandbox/README.md). Only
    there does a FAIL get the sandbox's meaning of its code: the real service's codes are not published, and one
    reached through a proxy or under another channel's name (certificate-service.md) may use them otherwise."""
    host = (urlsplit(endpoint or '').hostname or '').rstrip('.')
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _never_connected(error):
    reason = error.args[0] if error.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    # NewConnectionError (refused, unreachable, DNS) is a subclass of ConnectTimeoutError.
    return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)


def _set_message(error, message):
    error.message = message
    error.args = (message,)


def _scrub(error, secrets):
    """Remove every secret from an error's text, whatever the service or a library put in it."""
    def clean(text):
        for secret in secrets:
            if secret and text:
                text = text.replace(secret, REDACTED)
        return text
    _set_message(error, clean(error.message))
    error.service_errors = [(clean(code), clean(message)) for code, message in error.service_errors]


class CertificateServiceClient(object):
    """One endpoint, one environment, one trust bundle; calls_made counts the requests sent per SOAPAction.

    last_response_date is the HTTP Date header of the last answer (any status, a FAIL or a fault included),
    None when the last request got no answer or the answer had no Date header; last_response_at is when that
    answer's headers arrived by this host's clock, taken before the body is read and verified, so that the
    two compare the clocks and not the time spent on the answer.
    """

    def __init__(self, endpoint, environment, service_trust_anchors, tls_verify=True, tls_ca_bundle=None,
                 proxy=None, timeout=DEFAULT_TIMEOUT, max_response_bytes=DEFAULT_MAX_RESPONSE_BYTES,
                 final_codes=(), signer_pattern=None, session=None, customer_issuing_certs=None):
        if environment not in service_facts.ENVIRONMENTS:
            raise RequestValidationError('environment must be one of %s.' % ', '.join(service_facts.ENVIRONMENTS))
        self.service_trust_anchors = list(service_trust_anchors or [])
        if not self.service_trust_anchors:
            raise CertificateServiceError('No CA certificate to verify the service responses with (service_ca_path).')
        if tls_verify and tls_ca_bundle and not os.path.exists(tls_ca_bundle):
            raise LocalFileError('The TLS CA bundle %s (tls_ca_path) does not exist.' % tls_ca_bundle)
        self.endpoint = service_facts.checked_endpoint(endpoint)
        self.environment = environment
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.final_codes = frozenset(final_codes or ())
        self.signer_pattern = signer_pattern
        # The customers' issuing CA (issuing_ca_path): a response signed by a certificate it issued is a
        # customer's, never the service's, whatever service_ca_path trusts by mistake.
        self.customer_issuing_certs = list(customer_issuing_certs or [])
        self.calls_made = dict((action, 0) for action in soap_messages.OPERATIONS)
        self.last_response_date = self.last_response_at = None
        self._verify = (tls_ca_bundle or True) if tls_verify else False
        self._proxies = {'http': proxy, 'https': proxy} if proxy else {}
        self._secrets = [urlsplit(proxy).password] if proxy else []
        self._session = session or requests.Session()
        self._progress = _Progress()
        self._session.mount('https://', _tracking_adapter(self._progress))
        # Proxy variables, netrc and REQUESTS_CA_BUNDLE would otherwise change where requests go and whom
        # they trust without the playbook saying so.
        self._session.trust_env = False
        self._session.proxies = dict(self._proxies)

    def sign_new_certificate(self, customer_id, customer_name, transfer_id, transfer_password, csr_der):
        """Spend the one-time transfer credentials on csr_der; return the RetrievalId."""
        body = soap_messages.build_sign_new_certificate_request(
            self.environment, customer_id, customer_name, transfer_id, transfer_password, csr_der)
        fields = self._call(soap_messages.SIGN_NEW, body, secrets=[transfer_password])
        return self._retrieval_id(soap_messages.SIGN_NEW, fields)

    def get_certificate(self, customer_id, customer_name, retrieval_id):
        """The issued certificate (DER); CertificateNotReady while the service is still issuing it."""
        body = soap_messages.build_get_certificate_request(self.environment, customer_id, customer_name, retrieval_id)
        fields = self._call(soap_messages.GET, body)
        if fields.certificate is None:
            # certificate-service.md: the real "not ready" answer is unknown, and the schema makes Certificate
            # optional in an OK answer too; the public Java client retries any failure, the Python one treats any
            # answer that is not OK as not yet. So this is "not yet", not an untrusted answer, and polling goes on
            # until wait_timeout. If the real service never sends this shape, nothing changes; if it means "never"
            # by it, the wait ends at wait_timeout with the RetrievalId kept and this message as the last answer.
            not_ready = CertificateNotReady(soap_messages.GET.name, fields.errors)
            _set_message(not_ready, 'The certificate service answered GetCertificate OK, but without a '
                                    'Certificate: taken as not issued yet.')
            not_ready.status = 'OK'
            raise not_ready
        return fields.certificate

    def renew_certificate(self, customer_id, customer_name, csr_der, current_private_key, current_certificate):
        """Request a new certificate for csr_der, signed with the current key; return the RetrievalId."""
        body = soap_messages.build_renew_certificate_request(
            self.environment, customer_id, customer_name, csr_der, current_private_key, current_certificate)
        fields = self._call(soap_messages.RENEW, body)
        return self._retrieval_id(soap_messages.RENEW, fields)

    @staticmethod
    def _retrieval_id(operation, fields):
        if fields.retrieval_id is None:
            raise ResponseRejected('The service answered %s OK without a RetrievalId.' % operation.name)
        return fields.retrieval_id

    def retrieval_id_from_kept_answer(self, content, operation_name='SignNewCertificate'):
        """The RetrievalId of a SignNewCertificate (or RenewCertificate) answer an earlier run received and could not
        accept (kept with the request): checked as if it had just arrived, with today's trust files."""
        operation = soap_messages.RENEW if operation_name == soap_messages.RENEW.name else soap_messages.SIGN_NEW
        try:
            return self._retrieval_id(operation, self._accept(operation, content, 200))
        except CertificateServiceError as error:
            _scrub(error, self._secrets)
            raise

    def _call(self, operation, body, secrets=()):
        secrets = list(secrets) + self._secrets
        try:
            self.calls_made[operation.soap_action] += 1
            content, status = self._post(operation, body)
            return self._accept(operation, content, status)
        except CertificateServiceError as error:
            _scrub(error, secrets)
            raise

    def _accept(self, operation, content, status):
        """The fields of a verified answer; ServiceFault for a verified FAIL. An answer to a submission that cannot be
        accepted carries its bytes (error.answer), for the caller to keep: its RetrievalId is the only way to a
        certificate whose credentials may now be spent, or that a renewal asked for (and nothing documents that the
        service renews a certificate twice)."""
        try:
            root = xml_security.parse_xml(content, self.max_response_bytes)
            element = soap_messages.find_response_element(root, operation, http_status=status)
            verified = xml_security.verify_signed_response(element, self.service_trust_anchors,
                                                           signer_pattern=self.signer_pattern,
                                                           customer_issuing_certs=self.customer_issuing_certs)
            fields = soap_messages.read_verified_response(verified, operation)
            if fields.status != 'FAIL' and operation is not soap_messages.GET:
                self._retrieval_id(operation, fields)
        except ResponseRejected as error:
            if operation is not soap_messages.GET:
                error.answer = content
            raise
        except CertificateServiceError:
            raise
        except Exception as error:
            # A check that broke on this answer (a library's own error) says nothing of the service: the answer is
            # kept all the same, for a rerun with the cause fixed to accept.
            rejected = ResponseRejected('The answer of the service could not be checked: %s: %s.'
                                        % (type(error).__name__, error))
            if operation is not soap_messages.GET:
                rejected.answer = content
            raise rejected from None
        if fields.status == 'FAIL':
            raise self._service_fault(operation, fields.errors)
        return fields

    def _service_fault(self, operation, errors):
        codes = [code for code, dummy in errors]
        # The real service's "not ready yet" code is unknown (certificate-service.md): a FAIL to
        # GetCertificate is taken as "not yet", as the public clients do, unless the user named its code final.
        not_ready = operation is soap_messages.GET and not self.final_codes.intersection(codes)
        fault = (CertificateNotReady if not_ready else ServiceFault)(operation.name, errors)
        if not_ready:
            return fault
        hint = error_codes.advice(operation.name, codes, sandbox_meanings=on_this_machine(self.endpoint))
        if hint:
            stop = '' if fault.message.endswith(('.', '!', '?')) else '.'
            _set_message(fault, '%s%s %s' % (fault.message, stop, hint))
        return fault

    def _read_timeout(self, operation):
        if operation in (soap_messages.SIGN_NEW, soap_messages.RENEW):
            return max(self.timeout, SUBMISSION_READ_TIMEOUT)
        return self.timeout

    def _post(self, operation, body):
        """(body bytes, status) of an HTTP 200 answer; every other outcome raises."""
        self._progress.started = False
        read_timeout = self._read_timeout(operation)
        limit = read_timeout * DEADLINE_FACTOR
        deadline = _Deadline(limit)
        answer = None
        try:
            with deadline:
                answer = self._exchange(operation, body, deadline, read_timeout)
        except _DeadlineExpired:
            # An answer read in full stands, even if the alarm rang on the way out.
            if answer is not None:
                return answer
            if not self._progress.started:
                raise _transport_error(
                    'Could not reach the certificate service at %s within %s seconds (name lookup, connection and '
                    'TLS), so nothing was sent.' % (self.endpoint, limit), processed=False, retryable=True) from None
            raise _transport_error(
                'The certificate service at %s did not complete its answer within %s seconds in all. The request '
                'was sent and may have been processed.' % (self.endpoint, limit),
                processed=True, retryable=True) from None
        return answer

    def _exchange(self, operation, body, deadline, read_timeout):
        headers = {
            'Content-Type': 'text/xml; charset=utf-8',
            'SOAPAction': '"%s"' % operation.soap_action,
            'Accept': 'text/xml',
            # A compressed body could expand far beyond max_response_bytes before it is counted.
            'Accept-Encoding': 'identity',
        }
        where = self.endpoint
        self.last_response_date = self.last_response_at = None
        try:
            response = self._session.post(where, data=body, headers=headers, timeout=(self.timeout, read_timeout),
                                          verify=self._verify, proxies=self._proxies, allow_redirects=False,
                                          stream=True)
        except requests.exceptions.SSLError as error:
            reason = _reason(error)
            if self._progress.started:
                # The handshake had succeeded and the request was going out: whatever broke the TLS stream
                # then (a middlebox, a corrupted record) may have broken it after the service read the request.
                raise _transport_error(
                    'The TLS connection to %s broke after the request was sent (%s). The request may have been '
                    'processed.' % (where, reason), processed=True, retryable=True) from None
            raise _transport_error('The TLS connection to %s failed, so nothing was sent: %s. %s'
                                   % (where, reason, _tls_advice(reason)), processed=False) from None
        except requests.exceptions.ProxyError as error:
            raise _transport_error('Could not connect through the proxy to %s, so nothing was sent: %s'
                                   % (where, _reason(error)), processed=False, retryable=True) from None
        except requests.exceptions.ConnectTimeout as error:
            raise _transport_error('Connecting to %s timed out, so nothing was sent: %s' % (where, _reason(error)),
                                   processed=False, retryable=True) from None
        except requests.exceptions.ReadTimeout:
            raise _transport_error(
                'The certificate service at %s did not answer within %s seconds. The request was sent and may have '
                'been processed.' % (where, read_timeout), processed=True, retryable=True) from None
        except requests.exceptions.ConnectionError as error:
            if _never_connected(error):
                raise _transport_error('Could not connect to %s, so nothing was sent: %s' % (where, _reason(error)),
                                       processed=False, retryable=True) from None
            raise _transport_error(
                'The connection to %s broke before a response arrived (%s). The request may have been processed.'
                % (where, _reason(error)), processed=True, retryable=True) from None
        except requests.exceptions.RequestException as error:
            if isinstance(error, ValueError):
                # InvalidURL, InvalidSchema, InvalidHeader...: refused before anything was sent.
                raise _transport_error('Cannot send the request to %s: %s' % (where, error), processed=False) from None
            raise _transport_error('The request to %s failed (%s). It may have been processed.' % (where, error),
                                   processed=True, retryable=True) from None
        except ValueError as error:
            # requests and urllib3 check their arguments (a timeout, a proxy URL) before they open a connection;
            # one raised once the request was going out is about the answer.
            if self._progress.started:
                raise _transport_error('The request to %s failed after it was sent (%s). It may have been processed.'
                                       % (where, error), processed=True, retryable=True) from None
            raise _transport_error('Cannot send the request to %s: %s' % (where, error), processed=False) from None
        self.last_response_at = datetime.datetime.now(datetime.timezone.utc)
        self.last_response_date = response.headers.get('Date')
        try:
            answer = self._answer(operation, response), response.status_code
            deadline.disarm()
            return answer
        finally:
            response.close()

    def _answer(self, operation, response):
        status = response.status_code
        if 300 <= status < 400:
            # A redirect names where the resource is, before anything is done, but 303 See Other is what an HTTP
            # server answers once it has acted on a POST (RFC 9110 15.4.4); certificate-service.md names none.
            after = status == 303
            raise _transport_error(
                'The service at %s answered HTTP %d (redirect to %s); redirects are not followed. Set endpoint to the '
                'service URL itself.%s' % (self.endpoint, status, response.headers.get('Location', 'nowhere')[:200],
                                           ' The request may have been processed.' if after else ''),
                processed=after, status_code=status)
        # SOAP 1.1 over HTTP answers 200, and 500 with a fault; certificate-service.md says nothing of other
        # statuses. A body is read wherever an answer may be in it, and the answer's signature, not the status,
        # decides whether it is trusted: a signed answer that came with 202 or 500 still holds the RetrievalId.
        if 400 <= status < 500:
            fault = self._fault_in(operation, response, status)
            if fault is not None:
                raise fault
        if not (200 <= status < 300 or status == 500):
            # A 4xx is refused before processing; a 5xx other than a SOAP fault may come from a gateway that
            # did forward the request.
            raise _transport_error(
                'The service at %s answered HTTP %d %s.' % (self.endpoint, status, (response.reason or '')[:100]),
                processed=status >= 500, status_code=status, retryable=status >= 500)
        content = self._read_body(response)
        if status == 500:
            try:
                envelope = xml_security.parse_xml(content, self.max_response_bytes)
                soap_messages.find_response_element(envelope, operation, http_status=status)
            except ResponseRejected:
                raise _transport_error('The service at %s answered HTTP 500 without a SOAP fault. The request may '
                                       'have been processed.' % self.endpoint, processed=True, status_code=status,
                                       retryable=True) from None
            except TransportError as fault:
                # A Server fault is the service's own trouble and may pass; a Client fault would only repeat, by SOAP's
                # meaning, although GetCertificate polling tries again after either (retrieval.answered_with_an_error).
                fault.retryable = fault.fault_class == 'Server'
                raise
        return content

    def _fault_in(self, operation, response, status):
        """A TransportError naming the SOAP fault a 4xx answer holds, or None.

        SOAP 1.1 answers a fault with 500, but some SOAP stacks and gateways answer a Client fault with 400
        (certificate-service.md names no status but 200 and 500): its faultstring is the one account of what the
        service refused. The status decides, not the fault: a 4xx is refused as sent, whatever class an unsigned
        fault claims, so that a gateway's page can never mark one-time credentials as spent. A body that does
        not arrive in time, or holds anything else, leaves the status alone to speak.
        """
        try:
            envelope = xml_security.parse_xml(self._read_body(response), self.max_response_bytes)
            soap_messages.find_response_element(envelope, operation, http_status=status)
        except _DeadlineExpired:
            return None
        except TransportError as error:
            if not getattr(error, 'soap_fault', False):
                return None
            fault = _transport_error('The service at %s answered HTTP %d %s with a %s. A 4xx status says the request '
                                     'was refused as sent.' % (self.endpoint, status, (response.reason or '')[:100],
                                                               error.fault_text), processed=False, status_code=status)
            fault.soap_fault, fault.fault_class = True, error.fault_class
            return fault
        except CertificateServiceError:
            return None
        return None

    def _read_body(self, response):
        declared = response.headers.get('Content-Length', '')
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise ResponseRejected('The service announced a %s-byte response, more than the accepted %d bytes.'
                                   % (declared, self.max_response_bytes))
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(chunk_size=_CHUNK_BYTES):
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise ResponseRejected('The response is longer than the accepted %d bytes.'
                                           % self.max_response_bytes)
                chunks.append(chunk)
        except requests.exceptions.RequestException as error:
            raise _transport_error('The response from %s broke off before it was complete (%s). The request may '
                                   'have been processed.' % (self.endpoint, _reason(error)),
                                   processed=True, retryable=True) from None
        return b''.join(chunks)
