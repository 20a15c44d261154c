# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_install's run: one deployment (install), or several in one module run (install_many), each
failing on its own."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateServiceError, RequestValidationError)

REQUIRED = ('certificate_path', 'private_key_path', 'dest')


def install(params, check_mode, with_diff):
    """Deploy one certificate as params say; the module's result. Raises CertificateServiceError."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._install import installation
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import describe_certificate
    files, backups, diffs, writes = [], {}, [], []
    cert, key, chain = installation.load_source(params)
    owner_uid, group_gid = installation.ownership(params)
    for entry in installation.plan(params, cert, key, chain):
        changed = entry.content_differs or installation.attributes_differ(entry, owner_uid, group_gid)
        if changed:
            writes.append(entry)
            diffs.append(installation.diff_entry(entry))
        files.append(dict(role=entry.role, path=entry.path, changed=changed))
    if writes and not check_mode:
        backups = installation.apply(writes, params, owner_uid, group_gid)
    result = dict(changed=any(f['changed'] for f in files), files=files, backups=backups,
                  fingerprint_sha256=describe_certificate(cert)['fingerprint_sha256'])
    if with_diff:
        result['diff'] = diffs
    return result


def install_many(module):
    """Each entry of module.params['targets'] (its options over the task's) deployed in turn; exits the module
    with `results`, failing as a loop would when any entry failed, after trying every one."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._install import installation
    results, diffs, targets = [], [], []
    for entry in module.params['targets']:
        params = dict(module.params)
        params.update((name, value) for name, value in entry.items() if value not in (None, ''))
        targets.append(params)
    # Before the first target is written, so that neither of two targets that share a file is.
    refusals = installation.shared_files(targets)
    for index, params in enumerate(targets):
        try:
            missing = [name for name in REQUIRED if not params.get(name)]
            if missing:
                raise RequestValidationError('This target has no %s.' % ', '.join(missing))
            if index in refusals:
                raise CertificateServiceError(refusals[index])
            result = install(params, module.check_mode, module._diff)
            result['failed'] = False
        except CertificateServiceError as error:
            result = dict(error.details(), failed=True, changed=False, msg=error.message)
        except Exception as error:  # pylint: disable=broad-except
            result = dict(failed=True, changed=False, error_type=type(error).__name__,
                          msg='Unexpected error with this target: %s: %s' % (type(error).__name__, error))
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
