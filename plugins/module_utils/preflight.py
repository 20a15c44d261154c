# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight: what a renewal depends on, checked on the managed host without spending anything.

run() never raises for what it finds: every finding is a check {name, status, message}, so one run
reports every problem of a host at once. Only cryptography, lxml, signxml and requests are imported
lazily, after their check, so that a host without one of them still gets its report.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import email.utils
import secrets
import sys
from urllib.parse import urlsplit

from ansible_collections.incomes_register.certificates.plugins.module_utils import dependencies
from ansible_collections.incomes_register.certificates.plugins.module_utils.argspec import entry_params
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import chains
from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_reads
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateServiceError, RequestValidationError, ResponseRejected, ServiceFault, TransportError)

OK = 'ok'
WARN = 'warn'
FAIL = 'fail'
SKIPPED = 'skipped'
STATUSES = (FAIL, WARN, OK, SKIPPED)

# A CA that expires within this many days still works, but the trust file needs its successor soon.
CA_WARN_DAYS = 60
CLOCK_WARN_SECONDS = 60
DEFAULT_MAX_CLOCK_SKEW = 300

TRUST_OPTIONS = ('service_ca_path', 'issuing_ca_path', 'tls_ca_path')
# The trust files without which nothing is trusted; only tls_ca_path has a fallback (certifi).
REQUIRED_TRUST = dict(
    service_ca_path="every answer of the service is verified against it, so a renewal cannot trust any",
    issuing_ca_path='a certificate the service issues is accepted only when it chains to it',
)
SERVICE_CHECKS = ('reachability', 'clock_skew', 'signed_answer')


def check(name, status, message):
    return dict(name=name, status=status, message=message)


def _day(moment):
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%d')


def _first_line(traceback_text):
    lines = [line for line in traceback_text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else 'ImportError'


def check_libraries():
    """One check per library the service needs, and the names of the missing ones."""
    checks, missing = [], []
    for name in dependencies.SERVICE_LIBRARIES:
        error = dependencies.import_error(name)
        if error:
            missing.append(name)
            checks.append(check('python_' + name, FAIL, (
                'The Python library %s cannot be imported by %s (%s). Install it for that interpreter (pip install '
                '%s, or the distribution package python3-%s), or set ansible_python_interpreter to a Python that '
                'has it.' % (name, sys.executable, _first_line(error), name, name))))
        else:
            checks.append(check('python_' + name, OK, '%s imports in %s.' % (name, sys.executable)))
    return checks, missing


def _needs(missing, *names):
    lacking = [name for name in names if name in missing]
    if lacking:
        return 'Not checked: it needs %s, missing on this host (see %s).' % (
            ' and '.join(lacking), ', '.join('python_' + name for name in lacking))
    return None


def check_trust_file(option, path, now):
    """(check, certificates or None) for one trust file: present, PEM certificates, none expired."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates
    if not path and option in REQUIRED_TRUST:
        return check(option, FAIL, '%s is not set: %s.' % (option, REQUIRED_TRUST[option])), None
    if not path:
        return check(option, SKIPPED, '%s is not set: the HTTPS certificate of the service is verified with the CA '
                                      'bundle of the requests library (certifi).' % option), None
    try:
        data = file_reads.read_file(path)
        if data is None:
            return check(option, FAIL, 'No file at %s (%s).' % (path, option)), None
        certs = certificates.load_pem_bundle(data)
    except CertificateServiceError as error:
        return check(option, FAIL, '%s (%s): %s.' % (path, option, error.message)), None
    if not certs:
        return check(option, FAIL, '%s (%s) holds no PEM certificate.' % (path, option)), None
    failures, warnings, held = [], [], []
    for cert in certs:
        not_after = cert.not_valid_after_utc
        held.append('%s (until %s)' % (chains.describe(cert), _day(not_after)))
        if now < cert.not_valid_before_utc:
            failures.append('%s is not valid before %s' % (chains.describe(cert), _day(cert.not_valid_before_utc)))
        elif now > not_after:
            failures.append('%s expired on %s' % (chains.describe(cert), _day(not_after)))
        elif not_after - now < datetime.timedelta(days=CA_WARN_DAYS):
            warnings.append('%s expires on %s, in %d days' % (chains.describe(cert), _day(not_after),
                                                              (not_after - now).days))
    if failures:
        return check(option, FAIL, '%s (%s): %s. Replace it with the current CA certificates.'
                     % (path, option, '; '.join(failures))), None
    if warnings:
        return check(option, WARN, '%s (%s): %s. Get the successor CA certificate before then and add it to the '
                                   'file.' % (path, option, '; '.join(warnings))), certs
    return check(option, OK, '%s holds %s.' % (path, '; '.join(held))), certs


def _load_key(params):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys
    path = params['private_key_path']
    data = file_reads.read_file(path)
    if data is None:
        raise CertificateServiceError('No private key at %s (private_key_path)' % path)
    # for_signing: a renewal signs with this key, so a damaged key must show here and not in the renewal.
    return keys.load_private_key(data, params.get('private_key_passphrase') or None, for_signing=True)


def check_installed(params, issuing_certs, now):
    """The certificate and chain checks of the installed pair, when path is given."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates, keys
    path = params.get('path')
    if not path:
        reason = 'path is not set, so there is no installed certificate to check.'
        return [check('certificate', SKIPPED, reason),
                check('certificate_chain', SKIPPED, reason + ' issuing_ca_path was only read.')]
    try:
        data = file_reads.read_file(path)
        if data is None:
            raise CertificateServiceError('No certificate at %s (path): a renewal needs the installed certificate. '
                                          'For a host still to be enrolled, leave path unset' % path)
        cert = certificates.load_certificate(data)
        key = _load_key(params) if params.get('private_key_path') else None
    except CertificateServiceError as error:
        return [check('certificate', FAIL, error.message.rstrip('.') + '.'),
                check('certificate_chain', SKIPPED, 'No certificate to check the chain of.')]
    facts = certificates.describe_certificate(cert, now=now)
    problems = []
    if facts['customer_id'] != params['customer_id']:
        problems.append('it is for customer %s, not for customer_id %s' % (facts['customer_id'], params['customer_id']))
    if key is not None and not keys.keys_match(key, cert):
        problems.append('the private key at %s does not belong to it, so the service would refuse a renewal signed '
                        'with it' % params['private_key_path'])
    if facts['expired']:
        problems.append('it expired on %s and cannot be renewed: apply for a new certificate in the Incomes '
                        'Register e-service' % _day(cert.not_valid_after_utc))
    if problems:
        status, message = FAIL, 'The certificate at %s: %s.' % (path, '; '.join(problems))
    else:
        status = OK
        message = 'The certificate at %s is for customer %s, %s, %d days left (until %s)%s.' % (
            path, facts['customer_id'],
            'its private key matches' if key is not None else 'key not checked (private_key_path is not set)',
            facts['days_remaining'], _day(cert.not_valid_after_utc),
            '; the renewal window is open' if facts['in_renewal_window'] else '')
        if facts['environment'] in ('TEST', 'PRODUCTION') and facts['environment'] != params['environment']:
            status = WARN
            message += ' But its issuer %s looks like a %s CA, and environment is %s.' % (
                facts['issuer'], facts['environment'], params['environment'])
    return [check('certificate', status, message), _check_chain(cert, issuing_certs, now)]


def _check_chain(cert, issuing_certs, now):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import verification
    if issuing_certs is None:
        return check('certificate_chain', SKIPPED, 'issuing_ca_path is unusable (see issuing_ca_path).')
    try:
        path = verification.verify_chain(cert, issuing_certs, now)
    except CertificateServiceError as error:
        return check('certificate_chain', FAIL, error.message.rstrip('.') + '.')
    return check('certificate_chain', OK, 'The installed certificate chains to issuing_ca_path: %s.'
                 % ' <- '.join(chains.describe(link) for link in reversed(path)))


def _where(params):
    proxy = params.get('proxy')
    if not proxy:
        return 'directly'
    parts = urlsplit(proxy)
    # Only host and port: a password in the proxy URL must not reach the report.
    return 'through the proxy %s' % (parts.hostname if parts.port is None else '%s:%d' % (parts.hostname, parts.port))


def _transport_kind(error):
    """Which part of the path failed, from the requests exception the client raised its error from.

    The client raises its TransportError "from None", which hides the cause from tracebacks but keeps
    it as __context__; its message already says what was sent, this says where the path broke.
    """
    import requests
    cause = error.__context__
    text = str(cause)
    if isinstance(cause, requests.exceptions.SSLError):
        return 'tls-verify' if 'CERTIFICATE_VERIFY_FAILED' in text or 'certificate verify failed' in text else 'tls'
    if isinstance(cause, requests.exceptions.ProxyError):
        return 'proxy'
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return 'connect-timeout'
    if isinstance(cause, requests.exceptions.ConnectionError):
        if 'refused' in text.lower():
            return 'refused'
        if 'resolve' in text.lower() or 'name or service not known' in text.lower() or 'getaddrinfo' in text:
            return 'dns'
        if 'unreachable' in text.lower() or 'no route to host' in text.lower():
            return 'unreachable'
    return 'other'


def _reachability_failure(error, params, endpoint):
    parts = urlsplit(endpoint)
    address = '%s:%s' % (parts.hostname, parts.port or 443)
    kind = _transport_kind(error)
    tls_source = 'tls_ca_path %s' % params['tls_ca_path'] if params.get('tls_ca_path') else \
        'the CA bundle of the requests library (certifi)'
    messages = {
        'refused': 'The connection to %s (%s) was refused: nothing listens there, or a firewall rejects it. Check '
                   'endpoint, and set proxy if this host must reach the internet through one.' % (address, _where(params)),
        'dns': 'The name %s could not be resolved on this host. Check endpoint and the host\'s DNS, or set proxy if '
               'only the proxy resolves outside names.' % parts.hostname,
        'unreachable': 'The network has no route to %s. Check the host\'s routing and firewall, or set proxy.'
                       % address,
        'connect-timeout': 'Connecting to %s (%s) timed out after %s seconds: a firewall may drop the traffic. Check '
                           'the firewall, or set proxy if this host must go through one.'
                           % (address, _where(params), params['timeout']),
        'proxy': 'Could not reach %s through the proxy %s. Check the proxy option (host, port, credentials) and that '
                 'the proxy allows CONNECT to %s.' % (address, _where(params).split()[-1], address),
        'tls-verify': 'The HTTPS certificate of %s could not be verified with %s. Set tls_ca_path to the PEM bundle '
                      'of the CA that issued it (with a TLS-inspecting proxy, that proxy\'s CA).'
                      % (address, tls_source),
        'tls': 'The TLS handshake with %s failed. Check that endpoint is an HTTPS URL of the certificate service and '
               'that no proxy interferes.' % address,
    }
    detail = error.message.rstrip('.')
    return check('reachability', FAIL, '%s Detail: %s.' % (messages[kind], detail) if kind in messages
                 else detail + '.')


def _clock_check(date_header, received_at, max_skew):
    # Wire assumption: HTTP servers with a clock send Date (RFC 9110 section 6.6.1); the certificate-service
    # notes say nothing about it and only the sandbox is known to send it. Without it the clock cannot be
    # compared, which is a warning, not a failure.
    if date_header is None:
        return check('clock_skew', WARN, "The service's answer had no HTTP Date header, so this host's clock could "
                                         'not be compared with it. Check time synchronisation (chrony, '
                                         'systemd-timesyncd) by other means.')
    try:
        service_time = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        service_time = None
    if service_time is None or service_time.tzinfo is None:
        return check('clock_skew', WARN, "The service's HTTP Date header %r cannot be read, so this host's clock "
                                         'could not be compared with it.' % date_header[:80])
    skew = (received_at - service_time).total_seconds()
    direction = 'ahead of' if skew > 0 else 'behind'
    text = "This host's clock is %d seconds %s the service's (HTTP Date %s)" % (abs(skew), direction, date_header)
    advice = ('Certificate validity, response signatures and the renewal window are judged by this clock: fix time '
              'synchronisation (chrony, systemd-timesyncd, ntpd).')
    if abs(skew) > max_skew:
        return check('clock_skew', FAIL, '%s, more than max_clock_skew %d. %s' % (text, max_skew, advice))
    if abs(skew) > CLOCK_WARN_SECONDS:
        return check('clock_skew', WARN, '%s, more than %d. %s' % (text, CLOCK_WARN_SECONDS, advice))
    return check('clock_skew', OK, "This host's clock differs from the service's by %d seconds (at most %d "
                                   'allowed).' % (abs(skew), max_skew))


def _wrong_trust_file_hint(service_certs, issuing_certs):
    if service_certs and issuing_certs and set(service_certs) & set(issuing_certs):
        return (" service_ca_path holds the customers' issuing CA (a certificate also in issuing_ca_path): it must "
                "hold the CA of the service's response-signing certificate (its root and intermediate) instead.")
    return ''


def _unsendable(what, error):
    """The service checks when nothing could be sent. They fail: a renewal sets its client up and builds its
    requests from the same options, so it would stop at the same point."""
    reason = error.message.rstrip('.')
    if reason.endswith('. Nothing was sent'):
        reason = reason[:-len('. Nothing was sent')]
    return [check('reachability', FAIL, 'Nothing was sent: %s (%s). A renewal would stop there too: fix the option '
                                        'it names.' % (what, reason)),
            check('clock_skew', FAIL, 'Not compared: nothing could be sent to the service (see reachability).'),
            check('signed_answer', FAIL, 'No answer to verify: nothing could be sent to the service (see '
                                         'reachability).')]


def check_service(params, service_certs, issuing_certs, client_factory):
    """reachability, clock_skew and signed_answer from one GetCertificate with a RetrievalId nobody has.

    GetCertificate only reads, so nothing is spent. The client verifies the answer's signature before it
    looks at Result, so a ServiceFault (any FAIL) means the signed answer verified against service_ca_path.
    """
    try:
        client = client_factory(params, service_certs, issuing_certs or ())
    except CertificateServiceError as error:
        return _unsendable('the service client cannot be set up', error)
    endpoint = client.endpoint
    # certificate-service.md: RetrievalId is a String32; 32 random hex characters match no real request.
    retrieval_id = secrets.token_hex(16)
    answer = None
    try:
        client.get_certificate(params['customer_id'], params.get('customer_name'), retrieval_id)
        answer = check('signed_answer', OK, 'GetCertificate answered OK, and its XML signature verified against '
                                            'service_ca_path.')
    except ServiceFault as fault:
        answered = ('OK without a Certificate' if getattr(fault, 'status', 'FAIL') == 'OK' else
                    'FAIL (%s), as expected' % (', '.join(code for code in fault.codes if code) or 'no error code'))
        answer = check('signed_answer', OK, (
            'GetCertificate for an unknown RetrievalId answered %s, and the XML signature of the answer verified '
            'against service_ca_path: answers of the service are trusted. Nothing was spent.' % answered))
    except ResponseRejected as error:
        answer = check('signed_answer', FAIL, 'The answer of the service cannot be trusted: %s%s' % (
            error.message, _wrong_trust_file_hint(service_certs, issuing_certs)))
    except TransportError as error:
        if error.status_code is None:
            return [_reachability_failure(error, params, endpoint),
                    check('clock_skew', SKIPPED, 'No answer from the service to compare the clock with.'),
                    check('signed_answer', SKIPPED, 'No answer from the service to verify (see reachability).')]
        if getattr(error, 'soap_fault', False) and not 400 <= error.status_code < 500:
            # certificate-service.md does not say how the real service answers an unknown RetrievalId: a fault
            # shows a SOAP service at endpoint, not a wrong one, but nothing signed came back to verify.
            answer = check('signed_answer', WARN, (
                '%s GetCertificate for an unknown RetrievalId was answered with a SOAP fault: endpoint is a SOAP '
                'service and was reached, but a fault carries no signature, so the XML signature of the '
                "service's answers was not verified against service_ca_path by this check. Renewals verify "
                'every answer anyway, and stop at one that does not verify.' % error.message))
        else:
            # A 4xx, with or without a fault, is what a gateway at a wrong path answers too.
            answer = check('signed_answer', FAIL, '%s Check that endpoint is the URL of the certificate service.'
                           % error.message)
    except RequestValidationError as error:
        return _unsendable('the GetCertificate request cannot be built', error)
    reached = check('reachability', OK, 'Reached %s %s over verified HTTPS.' % (endpoint, _where(params))
                    if params.get('validate_certs', True) else
                    'Reached %s %s, without verifying its HTTPS certificate (validate_certs is false).'
                    % (endpoint, _where(params)))
    if not params.get('validate_certs', True):
        reached['status'] = WARN
    return [reached, _clock_check(client.last_response_date, client.last_response_at, params['max_clock_skew']),
            answer]


def _service_skip_reason(missing, trust_checks):
    reason = _needs(missing, *dependencies.SERVICE_LIBRARIES)
    if reason:
        return reason
    for item in trust_checks:
        if item['name'] in ('service_ca_path', 'tls_ca_path') and item['status'] == FAIL:
            return 'Not checked: %s must be fixed first, the client needs it (see %s).' % (item['name'], item['name'])
    return None


def run(params, client_factory=None, now=None):
    """Every check, in report order. client_factory(params, service_certs, issuing_certs) builds the service
    client (module_support.build_client) on the trust files' certificates this run read and checked."""
    checks, missing = check_libraries()
    names = ['service_ca_path', 'issuing_ca_path', 'tls_ca_path', 'certificate', 'certificate_chain']
    crypto_missing = _needs(missing, 'cryptography')
    if crypto_missing:
        checks.extend(check(name, SKIPPED, crypto_missing) for name in names)
        checks.extend(check(name, SKIPPED, crypto_missing) for name in SERVICE_CHECKS)
        return checks
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import utc_now
    moment = now() if now else utc_now(None)
    trust_checks, loaded = [], {}
    for option in TRUST_OPTIONS:
        item, certs = check_trust_file(option, params.get(option), moment)
        trust_checks.append(item)
        loaded[option] = certs
    checks.extend(trust_checks)
    checks.extend(check_installed(params, loaded['issuing_ca_path'], moment))
    skip = _service_skip_reason(missing, trust_checks)
    if skip:
        checks.extend(check(name, SKIPPED, skip) for name in SERVICE_CHECKS)
    else:
        checks.extend(check_service(params, loaded['service_ca_path'], loaded['issuing_ca_path'], client_factory))
    return checks


def summary(checks):
    """(passed, one-line message) of a list of checks."""
    failed = [item for item in checks if item['status'] == FAIL]
    warned = [item for item in checks if item['status'] == WARN]
    if failed:
        return False, 'Preflight failed %d of %d checks: %s' % (
            len(failed), len(checks), '; '.join('%s: %s' % (item['name'], item['message']) for item in failed))
    return True, 'Preflight passed: %d checks, %d ok, %d warning%s, %d skipped%s' % (
        len(checks), sum(1 for item in checks if item['status'] == OK), len(warned), '' if len(warned) == 1 else 's',
        sum(1 for item in checks if item['status'] == SKIPPED),
        (' (%s)' % ', '.join(item['name'] for item in warned)) if warned else '')


# The options a preflight cannot run without: those the service modules require.
REQUIRED = ('environment', 'customer_id', 'service_ca_path', 'issuing_ca_path')
# What each result repeats of the certificate it checked, so that the report can tell a host's certificates
# apart. Never a passphrase.
RESULT_FACTS = ('customer_id', 'environment', 'endpoint', 'path')


def result(params, client_factory=None, now=None):
    """The module's result for one certificate: its facts, every check, passed and the summary line."""
    checks = run(params, client_factory=client_factory, now=now)
    passed, msg = summary(checks)
    facts = dict((name, params.get(name)) for name in RESULT_FACTS)
    return dict(facts, checks=checks, passed=passed, failed=not passed, msg=msg)


def _entry_problem(params):
    missing = [name for name in REQUIRED if params.get(name) in (None, '')]
    if missing:
        return ("This certificate has no %s: give it in its entry of certificates or as the task's option (the "
                "preflight playbook: the entry's in renewal_certificates, or renewal_%s). Nothing was checked."
                % (', '.join(missing), missing[0]))
    if params.get('private_key_path') and not params.get('path'):
        return ('This certificate has private_key_path but no path: the key is checked against the installed '
                'certificate, so give path (certificate_path) too. Nothing was checked.')
    return None


def results(params, client_factory=None, now=None):
    """One result per entry of params['certificates'], in order, each entry's options over the task's.

    An entry that lacks a required option fails alone, with no checks; the others are still checked.
    """
    out = []
    for index, entry in enumerate(params['certificates']):
        merged = entry_params(params, entry, 'certificates')
        problem = _entry_problem(merged)
        if problem:
            item = dict(((name, merged.get(name)) for name in RESULT_FACTS), checks=[], passed=False, failed=True,
                        msg=problem)
        else:
            item = result(merged, client_factory=client_factory, now=now)
        item['index'] = index
        out.append(item)
    return out


# The options of the installed certificate, which a host still to be enrolled has none of (check_installed).
INSTALLED = ('path', 'private_key_path', 'private_key_passphrase')


def without_installed(params):
    """params without the installed certificate, the task's or any entry's: its checks are then skipped."""
    kept = dict((name, None if name in INSTALLED else value) for name, value in params.items())
    if kept.get('certificates') is not None:
        kept['certificates'] = [dict((name, value) for name, value in entry.items()
                                     if name not in INSTALLED and name != 'certificate_path')
                                for entry in kept['certificates']]
    return kept


def certificate_label(item):
    """How a result names its certificate: customer, environment, and the path, or else the endpoint."""
    parts = (item.get('customer_id'), item.get('environment'), item.get('path') or item.get('endpoint'))
    return ' '.join(str(part) for part in parts if part)


def summary_many(items):
    """(passed, one-line message) of the results of several certificates."""
    def said(item):
        return '%s: %s' % (certificate_label(item) or 'certificate %d' % (item['index'] + 1), item['msg'])

    failed = [item for item in items if item.get('failed')]
    if failed:
        return False, 'Preflight failed for %d of %d certificates: %s' % (
            len(failed), len(items), ' | '.join(said(item) for item in failed))
    return True, 'Preflight passed for %d certificate%s: %s' % (
        len(items), '' if len(items) == 1 else 's', ' | '.join(said(item) for item in items))
