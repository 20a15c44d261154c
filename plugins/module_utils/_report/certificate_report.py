# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_info's logic: describe a certificate on disk without ever failing the task."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates as certs
from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_reads
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError, LocalFileError


# What the inventory says a certificate is, shown when the file cannot tell (missing, unreadable).
LABELS = ('customer_id', 'environment')


def report(params, now=None):
    """What certificate_info returns for one certificate; params may carry LABELS, used only where the
    certificate itself gives none."""
    result = _describe(params, now)
    # A certificate replaced by the renewal role whose services its handlers have not restarted since: the files
    # are new, the services may still use the old pair.
    mark = file_reads.read_change_mark(params['path']) or {}
    result['change_mark'] = mark.get('path')
    result['replaced_at'] = mark.get('replaced_at')
    result['replaced_not_after'] = mark.get('replaced_not_after')
    # By the host's clock, as days_remaining is.
    replaced = file_reads.mark_time(mark['replaced_not_after']) if mark.get('replaced_not_after') else None
    result['replaced_days_remaining'] = (replaced - certs.utc_now(now)) // datetime.timedelta(days=1) \
        if replaced else None
    for name in LABELS:
        if params.get(name) and not result.get(name):
            result[name] = params[name]
    return result


def _describe(params, now):
    path = params['path']
    result = dict(path=path, exists=False, readable=False, error=None)
    try:
        data = file_reads.read_file(path)
    except LocalFileError as error:
        # A directory, a file the task may not read: reported, so the host's other certificates still are.
        result.update(exists=True, error=error.message)
        return result
    if data is None:
        result['error'] = 'No certificate at %s' % path
        return result
    result['exists'] = True
    try:
        cert = certs.load_certificate(data)
    except (CertificateServiceError, ValueError) as error:
        result['error'] = 'Cannot parse %s as a certificate: %s' % (path, error)
        return result
    key = None
    if params.get('private_key_path'):
        try:
            key_data = file_reads.read_file(params['private_key_path'])
            if key_data is None:
                result['error'] = 'No private key at %s' % params['private_key_path']
            else:
                key = keys.load_private_key(key_data, params.get('private_key_passphrase'), for_signing=False)
        except (CertificateServiceError, IOError, OSError, ValueError) as error:
            result['error'] = 'Cannot load the private key %s: %s' % (params['private_key_path'], error)
    result['readable'] = True
    result.update(certs.describe_certificate(cert, private_key=key, now=now,
                                             renew_before_days=params.get('renew_before_days', 60)))
    if params.get('private_key_path') and key is None:
        result['key_matches'] = False
    result['chain_valid'] = None
    if params.get('issuing_ca_path'):
        result['chain_valid'] = _chains(cert, params['issuing_ca_path'], now)
    return result


def _chains(cert, bundle_path, now):
    # Here, not at the top: the audit gives no issuing_ca_path, and a module run compiles every file it imports
    # from its payload, twice (docs/benchmarks.md).
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import verification
    try:
        bundle = file_reads.read_file(bundle_path)
    except LocalFileError:
        return False
    if bundle is None:
        return False
    try:
        verification.verify_chain(cert, certs.load_pem_bundle(bundle), now=now)
    except (CertificateServiceError, ValueError):
        return False
    return True
