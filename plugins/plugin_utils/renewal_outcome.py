# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The renewal role's per-host summary (renewal_summary): one row per certificate and the host's line.

Behind the renewal_outcome filter (plugins/filter/renewal_outcome.py), which imports it when called."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


# The statuses of a certificate that ended valid; any other needs a human.
ENDED_VALID = ('ok', 'renewed')
_FAILED_STATUS = {'CertificateExpired': 'expired', 'CertificateMissing': 'missing'}
_WORST_FIRST = ('failed', 'expired', 'missing', 'renewed')
_NO_RESULT = {'failed': True, 'msg': 'certificate_renew returned no result for this certificate.'}


def _results(registered):
    results = (registered or {}).get('results')
    return results if isinstance(results, list) else []


def _status(renewed, waved):
    """(status, message, the result that holds the certificate as it now is)."""
    if renewed.get('failed') and renewed.get('error_type', '') != 'RetrievalPending':
        return _FAILED_STATUS.get(renewed.get('error_type', ''), 'failed'), renewed.get('msg', 'failed'), {}
    if waved is not None and waved.get('action', '') != 'retrieved':
        return 'failed', waved.get('msg', 'failed'), {}
    if waved is not None:
        old = renewed.get('certificate')
        message = 'Renewed: the new certificate is valid until %s%s' % (
            waved['certificate']['not_after'], ' (the old one expires %s).' % old['not_after'] if old else '.')
        return 'renewed', message, waved
    status = 'renewed' if renewed.get('action', '') in ('renewed', 'resumed') else 'ok'
    return status, renewed.get('msg', ''), renewed


def certificate_rows(certificates, renew_result, wave_outcomes, install_result, host):
    renewals = _results(renew_result)
    installs = _results(install_result)
    rows = []
    for index, certificate in enumerate(certificates):
        # As install_plan decides: a certificate certificate_renew said nothing about did not end well.
        renewed = renewals[index] if index < len(renewals) else _NO_RESULT
        waved = (wave_outcomes or {}).get(str(index))
        status, message, finished = _status(renewed, waved)
        mine = [result for result in installs if result.get('certificate_path') == certificate['certificate_path']]
        broken = [result for result in mine if result.get('failed')]
        if broken:
            status = 'failed'
            message += ' Deploying it failed: ' + '; '.join(result.get('msg', '') for result in broken)
        installed = len([result for result in mine if result.get('changed')])
        now = finished.get('certificate') or {}
        # A new pair whose services were not restarted since (this run's, or one of a run that stopped before its
        # handlers had): changed, so that the handlers restart them and then remove the mark.
        mark = (waved or {}).get('change_mark') or renewed.get('change_mark')
        if mark and status == 'ok' and not installed:
            message += (' It was replaced by an earlier run that stopped before its services were restarted (%s): '
                        'they are restarted now.' % mark)
        rows.append({
            'host': host, 'customer_id': certificate.get('customer_id'), 'customer_name': certificate.get('customer_name'),
            'environment': certificate.get('environment'), 'path': certificate['certificate_path'], 'status': status,
            'not_after': now.get('not_after', '') if now else '',
            'days_remaining': now.get('days_remaining') if now else None,
            'installed_changed': installed, 'changed': status == 'renewed' or installed > 0 or bool(mark),
            'change_mark': mark, 'message': message,
            'restart_services': certificate.get('restart_services'), 'reload_services': certificate.get('reload_services')})
    return rows


def renewal_outcome(certificates, renew_result, wave_outcomes=None, install_result=None, host=''):
    rows = certificate_rows(certificates, renew_result, wave_outcomes, install_result, host)
    if len(rows) == 1:
        summary = dict(rows[0])
    else:
        statuses = [row['status'] for row in rows]
        worst = ([status for status in _WORST_FIRST if status in statuses] + ['ok'])[0]
        attention = [row['path'] for row in rows if row['status'] not in ENDED_VALID]
        summary = {
            'host': host, 'status': worst, 'customer_id': '', 'path': '', 'not_after': '', 'days_remaining': None,
            'installed_changed': sum(row['installed_changed'] for row in rows),
            'message': '%d certificates: %d renewed, %d ok, %d need attention%s' % (
                len(statuses), statuses.count('renewed'), statuses.count('ok'), len(attention),
                (' (%s).' % ', '.join(attention)) if attention else '.')}
    # Also with several certificates, so that the role's changed_when reads one key instead of a pipeline.
    summary['changed'] = any(row['changed'] for row in rows)
    summary['certificates'] = rows
    return summary
