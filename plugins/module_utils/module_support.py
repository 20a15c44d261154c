# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lifecycle modules (request, renew, retrieve) share: client and store construction, and the
run under the host lock. Their options are argspec's.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import service_facts
from ansible_collections.incomes_register.certificates.plugins.module_utils.argspec import entry_params, fail_from_error
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError
from ansible_collections.incomes_register.certificates.plugins.module_utils.renewal_policy import (
    MAX_RENEW_BEFORE_DAYS)


def load_trust(path, what):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import load_pem_bundle
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.file_reads import read_file
    data = read_file(path)
    if data is None:
        raise CertificateServiceError('%s %s does not exist' % (what, path))
    certs = load_pem_bundle(data)
    if not certs:
        raise CertificateServiceError('%s %s holds no PEM certificate' % (what, path))
    return certs


def issuing_bundle(params):
    return load_trust(params['issuing_ca_path'], 'issuing_ca_path')


def build_client(params, service_trust_anchors=None, customer_issuing_certs=None):
    """The service client. service_trust_anchors and customer_issuing_certs: the certificates of service_ca_path and
    issuing_ca_path when the caller has already read them (the lifecycle flows, preflight), so that the client uses
    exactly what the run checked and reported on."""
    # Imported here so that modules which never reach the service (info, install) never load lxml
    # or signxml.
    from ansible_collections.incomes_register.certificates.plugins.module_utils._wire.service_client import (
        CertificateServiceClient)
    return CertificateServiceClient(
        endpoint=service_facts.resolve_endpoint(params['environment'], params.get('endpoint')),
        environment=params['environment'],
        service_trust_anchors=service_trust_anchors or load_trust(params['service_ca_path'], 'service_ca_path'),
        tls_verify=params['validate_certs'],
        tls_ca_bundle=params.get('tls_ca_path'),
        proxy=params.get('proxy'),
        timeout=params['timeout'],
        final_codes=params.get('final_error_codes') or (),
        signer_pattern=params.get('service_signer_pattern'),
        customer_issuing_certs=customer_issuing_certs,
    )


def wait_options(params):
    return dict(
        timeout=params['wait_timeout'],
        initial_delay=params['initial_delay'],
        interval=params['poll_interval'],
    )


def build_store(params):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.file_ops import parse_mode
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.certificate_store import CertificateStore
    return CertificateStore(
        path=params['path'], private_key_path=params['private_key_path'],
        passphrase=params.get('private_key_passphrase') or None, state_path=params.get('state_path'),
        owner=params.get('owner'), group=params.get('group'), certificate_mode=parse_mode(params.get('mode', '0644')),
        backup=params.get('backup', True), change_mark=params.get('change_mark', False))


def certificate_summary(description):
    """The part of a certificate description that a diff shows: nothing secret, nothing noisy."""
    if not description:
        return {}
    return dict((k, description.get(k)) for k in ('customer_id', 'serial', 'not_after', 'fingerprint_sha256'))


def lifecycle_result(module, params, flow, store=None):
    """Run one lifecycle flow on the certificate params name, under its locks; the module's result as a dict.

    store is build_store(params) when the caller has already made it. Raises CertificateServiceError. Nothing
    here exits the module, so a run over several certificates (run_lifecycle_many) goes on with the next one.
    """
    from ansible_collections.incomes_register.certificates.plugins.module_utils import dependencies
    from ansible_collections.incomes_register.certificates.plugins.module_utils import lifecycle
    # The window the result describes the certificate against is the task's, not the service's limit.
    window = params.get('renew_before_days') or MAX_RENEW_BEFORE_DAYS

    # Checked on every run, not only the one that reaches the service: an endpoint it would refuse should show on
    # the first run, not the day the certificate is due.
    service_facts.resolve_endpoint(params['environment'], params.get('endpoint'))
    if store is None:
        store = build_store(params)
    store.check_paths()
    issuing = issuing_bundle(params)

    def connect():
        # lxml, signxml and requests take ~0.13 s to import, as long as all the rest of a run that finds
        # nothing to renew (docs/benchmarks.md), so only a run that calls the service loads them. The
        # flows connect before they create a key or send anything, so a missing library still fails
        # the task with the usual message and nothing spent.
        dependencies.require_libraries(module, *dependencies.SERVICE_LIBRARIES)
        return build_client(params, customer_issuing_certs=issuing)

    if module.check_mode:
        store.check_key_claim()
        before = lifecycle.describe_installed(store, window)
        outcome = flow(store, connect, params, issuing, wait_options(params), True)
        after = before
    else:
        with store.lock(params['lock_timeout']):
            before = lifecycle.describe_installed(store, window)
            outcome = flow(store, connect, params, issuing, wait_options(params), False)
            after = lifecycle.describe_installed(store, window) if outcome.changed else before
    result = outcome.as_dict()
    result['certificate'] = after
    result['path'] = params['path']
    result['private_key_path'] = params['private_key_path']
    result['state_path'] = store.state_path
    mark = store.change_mark()
    if mark:
        result['change_mark'] = mark
    if module._diff:
        predicted = certificate_summary(after)
        if module.check_mode and outcome.changed:
            # What a real run would install is not known before the service issues it; the diff shows that it
            # changes, and for which customer. The result's certificate stays the one in place.
            predicted = dict(customer_id=params['customer_id'], serial='(issued by the service)',
                             not_after='(two years after issue)', fingerprint_sha256='(of the new certificate)')
        result['diff'] = dict(before=certificate_summary(before), after=predicted)
    return result


def run_lifecycle(module, flow):
    """Run one lifecycle flow (enroll, renew, retrieve) under the host lock and exit the module."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils import dependencies
    dependencies.require_libraries(module, 'cryptography')
    try:
        result = lifecycle_result(module, module.params, flow)
    except CertificateServiceError as error:
        fail_from_error(module, error)
    module.exit_json(**result)


# What each result of a run over several certificates repeats of its certificate, so that the tasks after
# it (the renewal role's wave, install and summary) need not work it out again. Never a passphrase.
ENTRY_FACTS = ('customer_id', 'customer_name', 'environment', 'endpoint', 'service_ca_path', 'issuing_ca_path',
               'tls_ca_path', 'path', 'private_key_path', 'owner', 'group', 'mode', 'key_size')


def _one_entry(module, flow, params, required, seen, index):
    from ansible_collections.incomes_register.certificates.plugins.module_utils.argspec import check_numbers
    from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import RequestValidationError
    missing = [name for name in required if params.get(name) in (None, '')]
    if missing:
        raise RequestValidationError('This certificate has no %s: give it in its entry of certificates or as the '
                                     "task's option (the renewal role: renewal_%s or the entry's). Nothing was sent."
                                     % (', '.join(missing), missing[0]))
    check_numbers(params)
    # A renewal replaces the key and a request writes <key>.new, so no two certificates may share a file
    # (an entry without private_key_path inherits the task's); refused before either is sent.
    store = build_store(params)
    files = [(os.path.realpath(path), what) for what, path in store.files()]
    for real, what in files:
        if real in seen:
            index, other = seen[real]
            raise RequestValidationError(
                '%s %s is also %s of certificate %d of this task: each certificate needs files of its own (an entry '
                "without private_key_path takes the task's). Nothing was sent." % (what, real, other, index + 1))
    for real, what in files:
        seen[real] = (index, what)
    return lifecycle_result(module, params, flow, store)


def run_lifecycle_many(module, flow, required):
    """Run flow once for each entry of the `certificates` option (each entry's options over the task's),
    one after the other in one module run, and exit with their results in `results`.

    One certificate's failure never stops the others: its result says failed, with the message and
    error_type of that certificate alone. The module fails, as a loop would, when any certificate failed.
    """
    from ansible_collections.incomes_register.certificates.plugins.module_utils import dependencies
    dependencies.require_libraries(module, 'cryptography')
    results, seen, diffs = [], {}, []
    for index, entry in enumerate(module.params['certificates']):
        params = entry_params(module.params, entry, 'certificates')
        try:
            result = _one_entry(module, flow, params, required, seen, index)
            result['failed'] = False
        except CertificateServiceError as error:
            result = dict(error.details(), failed=True, changed=False, msg=error.message)
        except Exception as error:  # pylint: disable=broad-except
            # Whatever went wrong with one certificate's files stays that certificate's failure.
            result = dict(failed=True, changed=False, error_type=type(error).__name__,
                          msg='Unexpected error with this certificate: %s: %s' % (type(error).__name__, error))
        for name in ENTRY_FACTS:
            result.setdefault(name, params.get(name))
        result['index'] = index
        diff = result.pop('diff', None)
        if diff and result.get('changed'):
            diffs.append(dict(diff, before_header=params.get('path'), after_header=params.get('path')))
        results.append(result)
    failed = [r for r in results if r['failed']]
    calls = {}
    for result in results:
        for operation, count in result.get('service_calls', {}).items():
            calls[operation] = calls.get(operation, 0) + count
    # The renewal role's wave waits for exactly these; naming them here spares every host a Jinja pipeline.
    pending = [r['index'] for r in results if r.get('action') == 'pending' or r.get('error_type') == 'RetrievalPending']
    summary = dict(changed=any(r['changed'] for r in results), results=results, service_calls=calls, pending=pending)
    if module._diff:
        summary['diff'] = diffs
    if failed:
        module.fail_json(msg='%d of %d certificates failed: %s' % (
            len(failed), len(results), '; '.join('%s: %s' % (r.get('path'), r['msg']) for r in failed)), **summary)
    counts = {}
    for result in results:
        counts[result.get('action', 'none')] = counts.get(result.get('action', 'none'), 0) + 1
    module.exit_json(msg='%d certificate(s): %s.' % (len(results), ', '.join(
        '%d %s' % (count, action) for action, count in sorted(counts.items()))), **summary)
