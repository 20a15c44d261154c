# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_info's description of a certificate, made on the controller from what the module read on the host
(module_utils/_report/certificate_reads.py): who it is for, who issued it, when it expires, whether the key
belongs to it and whether it chains to the issuing CA. It never fails for a certificate: what is wrong is told in
the report's error, so that an audit gets an answer from every certificate of every host.

The action plugin imports this in the controller's process before the host workers are forked, so cryptography's
x509 is imported once per run, not once per host (docs/benchmarks.md)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import datetime

from ansible_collections.incomes_register.certificates.plugins.module_utils import errors
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates as certs
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys, verification
from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_reads
from ansible_collections.incomes_register.certificates.plugins.module_utils._report.certificate_reads import (
    LABELS, REQUEST_FIELDS)

try:
    import cryptography
    from cryptography import x509  # noqa: F401, pylint: disable=unused-import
    CRYPTOGRAPHY = cryptography.__version__
except ImportError:
    CRYPTOGRAPHY = None

# The oldest cryptography the collection is tested with (requirements.txt, docs/compatibility.md).
OLDEST = 43


def controller_problem(version=CRYPTOGRAPHY):
    """Why this controller cannot describe certificates (no cryptography, or one too old), or None."""
    if version is None:
        return ('certificate_info describes certificates on the controller, which needs the Python library '
                'cryptography (%d or later) in the Python that runs Ansible' % OLDEST)
    try:
        major = int(version.split('.')[0])
    except ValueError:
        return None
    if major < OLDEST:
        return ('certificate_info describes certificates on the controller, which needs cryptography %d or later '
                'in the Python that runs Ansible; it has %s' % (OLDEST, version))
    return None


# What the module returns beside its readings, for the description only.
READ_KEYS = ('readings', 'single', 'now', 'renew_before_days')


def task_result(module_result):
    """The task's result as certificate_info documents it, from the module's: the readings described, by the host's
    clock; a single certificate's report at the top, several in results."""
    result = dict((name, value) for name, value in module_result.items() if name not in READ_KEYS)
    # fromisoformat, not strptime: strptime's first call in a process compiles its patterns, ~4 ms of every host's
    # worker (docs/benchmarks.md).
    now = datetime.datetime.fromisoformat(module_result['now'])
    reports = [report(reading, module_result['renew_before_days'], now) for reading in module_result['readings']]
    if module_result['single']:
        result.update(reports[0])
    else:
        result['results'] = reports
    return result


def report(reading, renew_before_days=60, now=None):
    """What certificate_info returns for one certificate_reads.read result."""
    now = certs.utc_now(now)
    path = reading['path']
    result = dict(path=path, exists=reading['exists'], readable=False, error=reading['error'])
    if reading['certificate'] is not None:
        try:
            cert = certs.load_der_certificate(base64.b64decode(reading['certificate']))
        except (errors.CertificateServiceError, ValueError) as error:
            result['error'] = 'Cannot parse %s as a certificate: %s' % (path, error)
        else:
            result.update(_describe(cert, reading, renew_before_days, now))
    result['request'] = describe_request(reading.get('request'))
    result['set_aside_keys'] = describe_set_aside_keys(reading.get('set_aside_keys'))
    result['change_mark'] = reading['change_mark']
    result['replaced_at'] = reading['replaced_at']
    result['replaced_not_after'] = reading['replaced_not_after']
    # By the host's clock, as days_remaining is.
    replaced = file_reads.mark_time(reading['replaced_not_after']) if reading['replaced_not_after'] else None
    result['replaced_days_remaining'] = (replaced - now) // datetime.timedelta(days=1) if replaced else None
    for name in LABELS:
        if reading.get(name) and not result.get(name):
            result[name] = reading[name]
    return result


def describe_request(request):
    """A reading of a state file (certificate_reads) as certificate_info returns it, whatever a host or a hand-made
    result sent: each field a string or None, each flag a bool; only state_path and error when it could not be
    read; None for anything but a dict."""
    if not isinstance(request, dict):
        return None
    state_path = request.get('state_path') if isinstance(request.get('state_path'), str) else ''
    if request.get('error'):
        return dict(state_path=state_path, error=str(request['error']))
    described = dict((name, request.get(name) if isinstance(request.get(name), str) else None)
                     for name in REQUEST_FIELDS + ('refused',))
    described.update(state_path=state_path, error=None)
    for flag in ('answer_kept', 'certificate_kept', 'resubmit_refused'):
        described[flag] = request.get(flag) is True
    return described


def describe_set_aside_keys(keys):
    """The paths of a reading's set_aside_keys, whatever a host or a hand-made result sent."""
    return [key for key in keys if isinstance(key, str)] if isinstance(keys, list) else []


def _describe(cert, reading, renew_before_days, now):
    result = dict(readable=True)
    result.update(certs.describe_certificate(cert, now=now, renew_before_days=renew_before_days))
    if reading['key_error']:
        result.update(error=reading['key_error'], key_matches=False)
    elif reading['public_key']:
        result['key_matches'] = keys.public_key_matches(reading['public_key'], cert)
    result['chain_valid'] = None
    if reading['issuing_ca'] is not None:
        result['chain_valid'] = _chains(cert, reading['issuing_ca'], now)
    return result


def _chains(cert, bundle, now):
    try:
        verification.verify_chain(cert, [certs.load_der_certificate(base64.b64decode(der)) for der in bundle], now=now)
    except (errors.CertificateServiceError, ValueError):
        return False
    return True
