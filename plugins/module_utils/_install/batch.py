# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_install's run: one deployment (install), or several in one module run (install_many), each
failing on its own."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.incomes_register.certificates.plugins.module_utils.argspec import entry_params
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateServiceError, RequestValidationError)

REQUIRED = ('certificate_path', 'private_key_path', 'dest')


def prepare(params):
    """One target loaded and planned, nothing written: (certificate, planned files, (uid, gid)). Raises
    CertificateServiceError."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._install import installation
    cert, key, chain = installation.load_source(params)
    owner = installation.ownership(params)
    entries = installation.plan(params, cert, key, chain)
    for entry in entries:
        entry.changed = entry.content_differs or installation.attributes_differ(entry, *owner)
    return cert, entries, owner


def finish(params, prepared, check_mode, with_diff, written=()):
    """The module's result for a prepared target, its changed files written unless check_mode. A file whose
    resolved path is in written got this very content from another target of this run: it is not written again."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._install import installation
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import describe_certificate
    cert, entries, owner = prepared
    changed = [entry for entry in entries if entry.changed]
    writes = [entry for entry in changed if os.path.realpath(entry.path) not in written]
    backups = installation.apply(writes, params, *owner) if writes and not check_mode else {}
    result = dict(changed=bool(changed), backups=backups,
                  files=[dict(role=entry.role, path=entry.path, changed=entry.changed) for entry in entries],
                  fingerprint_sha256=describe_certificate(cert)['fingerprint_sha256'])
    if with_diff:
        result['diff'] = [installation.diff_entry(entry) for entry in changed]
    return result


def install(params, check_mode, with_diff):
    """Deploy one certificate as params say; the module's result. Raises CertificateServiceError."""
    return finish(params, prepare(params), check_mode, with_diff)


def _failure(error):
    if isinstance(error, CertificateServiceError):
        return dict(error.details(), failed=True, changed=False, msg=error.message)
    return dict(failed=True, changed=False, error_type=type(error).__name__,
                msg='Unexpected error with this target: %s: %s' % (type(error).__name__, error))


def install_many(module):
    """Each entry of module.params['targets'] (its options over the task's) deployed in turn; exits the module
    with `results`, failing as a loop would when any entry failed, after trying every one."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._install import installation
    results, diffs, targets, prepared, outcomes, written = [], [], [], {}, {}, set()
    for entry in module.params['targets']:
        targets.append(entry_params(module.params, entry, 'targets'))
    # Every target planned before the first is written, so that neither of two that would write one file
    # differently is, whatever their order.
    for index, params in enumerate(targets):
        try:
            missing = [name for name in REQUIRED if not params.get(name)]
            if missing:
                raise RequestValidationError('This target has no %s.' % ', '.join(missing))
            prepared[index] = prepare(params)
        except Exception as error:  # pylint: disable=broad-except
            outcomes[index] = _failure(error)
    refusals = installation.shared_files(targets, dict((index, plan[1:]) for index, plan in prepared.items()))
    for index, params in enumerate(targets):
        if index not in outcomes:
            try:
                if index in refusals:
                    raise CertificateServiceError(refusals[index])
                outcomes[index] = dict(finish(params, prepared[index], module.check_mode, module._diff, written),
                                       failed=False)
                # Another target that writes one of these files writes the same (shared_files), so once is enough.
                written.update(os.path.realpath(entry.path) for entry in prepared[index][1] if entry.changed)
            except Exception as error:  # pylint: disable=broad-except
                outcomes[index] = _failure(error)
        result = outcomes[index]
        diffs.extend(result.pop('diff', None) or [])
        result.update(index=index, certificate_path=params.get('certificate_path'), dest=params.get('dest'),
                      layout=params.get('layout'))
        results.append(result)
    summary = dict(changed=any(r['changed'] for r in results), results=results)
    if module._diff:
        summary['diff'] = diffs
    failed = [r for r in results if r['failed']]
    if failed:
        module.fail_json(msg='%d of %d targets failed: %s' % (len(failed), len(results), '; '.join(
            '%s: %s' % (r['dest'], r['msg']) for r in failed)), **summary)
    module.exit_json(msg='%d target(s), %d changed.' % (len(results), len([r for r in results if r['changed']])),
                     **summary)
