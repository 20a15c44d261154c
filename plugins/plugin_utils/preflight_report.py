# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory-wide preflight report: one row per host and check, in the expiry report's formats.

Pure functions without Ansible, run once on the controller by the preflight_report action. Cell escaping
and the page are report_formats', shared with the expiry report.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import io
import json

from ansible_collections.incomes_register.certificates.plugins.module_utils.preflight import (
    FAIL, OK, SKIPPED, STATUSES as CHECK_STATUSES, WARN, certificate_label)
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.expiry_report import ReportError
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.report_formats import (
    csv_cell, generated_html, html_text, iso, kind, page, plural, prometheus_labels)

UNREACHABLE = 'unreachable'
# Worst first: the order of the badges and the legend.
STATUSES = (FAIL, UNREACHABLE, WARN, OK, SKIPPED)
FAILING = (FAIL, UNREACHABLE)

CSV_COLUMNS = ('host', 'certificate', 'check', 'status', 'message')


def _row(host, certificate, name, status, message):
    return dict(host=host, certificate=certificate, check=name, status=status, message=message)


def _result_rows(host, value, where):
    """The rows of one certificate_preflight result (one certificate), or None when it holds no checks."""
    if not isinstance(value, dict):
        raise ReportError('%s must be a certificate_preflight result (a dict), not %s' % (where, kind(value)))
    certificate = certificate_label(value)
    checks = value.get('checks')
    if isinstance(checks, list) and checks:
        rows = []
        for index, item in enumerate(checks):
            if not isinstance(item, dict) or item.get('status') not in CHECK_STATUSES:
                raise ReportError('%s.checks[%d] must be a check with name, status (%s) and message'
                                  % (where, index, ', '.join(CHECK_STATUSES)))
            rows.append(_row(host, certificate, str(item.get('name')), item['status'],
                             str(item.get('message') or '')))
        return rows
    if value.get('unreachable'):
        return [_row(host, certificate, 'host', UNREACHABLE, str(value.get('msg') or 'The host was unreachable.'))]
    if value.get('failed'):
        # The module never got to report its checks: a crash, a wrong option, no Python on the host, or a
        # certificate that lacks a required option.
        return [_row(host, certificate, 'preflight', FAIL,
                     str(value.get('msg') or 'The preflight task failed without a message.'))]
    if value.get('skipped'):
        return [_row(host, certificate, 'preflight', SKIPPED, 'The preflight task was skipped.')]
    return None


def _host_rows(host, value):
    where = 'host_results[%s]' % host
    if isinstance(value, dict) and value.get('results') == [] and not value.get('failed'):
        return [_row(host, '', 'preflight', SKIPPED, 'The host has no certificate to check.')]
    if isinstance(value, dict) and isinstance(value.get('results'), list) and value['results']:
        # Several certificates: the module's `certificates`, or a loop over the module.
        rows = []
        for index, item in enumerate(value['results']):
            found = _result_rows(host, item, '%s.results[%d]' % (where, index))
            if found is None:
                raise ReportError('%s.results[%d] holds neither checks nor a failed, unreachable or skipped '
                                  'result' % (where, index))
            rows.extend(found)
        return rows
    rows = _result_rows(host, value, where)
    if rows is None:
        raise ReportError('%s holds neither checks nor a failed, unreachable or skipped task' % where)
    return rows


def build_rows(host_results):
    """Rows of every host, hosts in name order, each host's certificates and checks in the order the module ran
    them."""
    if not isinstance(host_results, dict):
        raise ReportError('host_results must be a dict mapping each host to its certificate_preflight result, not %s'
                          % kind(host_results))
    rows = []
    for host in sorted(host_results, key=str):
        rows.extend(_host_rows(str(host), host_results[host]))
    return rows


def summarize(rows):
    """Counts per status (every status, zeros included), total, hosts, and the hosts that did not pass."""
    counts = dict((status, 0) for status in STATUSES)
    for row in rows:
        counts[row['status']] += 1
    failed_hosts = sorted(set(row['host'] for row in rows if row['status'] in FAILING))
    return {
        'total': len(rows),
        'hosts': len(set(row['host'] for row in rows)),
        'counts': counts,
        'failed_hosts': failed_hosts,
    }


def gate(rows):
    """(failed, reasons): one "host (certificate): check: message" per failed check and per unreachable host."""
    reasons = ['%s%s: %s: %s' % (row['host'], ' (%s)' % row['certificate'] if row['certificate'] else '', row['check'],
                                 row['message']) for row in rows if row['status'] in FAILING]
    return bool(reasons), reasons


def render_csv(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(dict((key, csv_cell(row[key])) for key in CSV_COLUMNS))
    return buffer.getvalue()


def render_json(rows, summary, generated_at):
    document = {'generated_at': iso(generated_at), 'summary': summary, 'checks': rows}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + '\n'


_CHECK_METRIC = 'incomes_register_preflight_check_passed'
_TIME_METRIC = 'incomes_register_preflight_timestamp_seconds'


def render_prometheus(rows, generated_at):
    """node_exporter textfile-collector format: one series per host, certificate and check, 0 when it failed."""
    lines = [
        '# HELP %s 1 when the preflight check passed (ok, warn, skipped), 0 when it failed or the host was '
        'unreachable; the status label holds the verdict.' % _CHECK_METRIC,
        '# TYPE %s gauge' % _CHECK_METRIC,
    ]
    for row in rows:
        # Without a certificate (an unreachable host) the label is left out, which Prometheus reads as empty.
        certificate = [('certificate', row['certificate'])] if row['certificate'] else []
        lines.append('%s%s %d' % (_CHECK_METRIC, prometheus_labels(
            [('host', row['host'])] + certificate + [('check', row['check']), ('status', row['status'])]),
            0 if row['status'] in FAILING else 1))
    lines += ['# HELP %s When the preflight report was generated, in seconds since the Unix epoch.' % _TIME_METRIC,
              '# TYPE %s gauge' % _TIME_METRIC,
              '%s %d' % (_TIME_METRIC, int(generated_at.timestamp()))]
    return '\n'.join(lines) + '\n'


# The expiry report's colours for the preflight's own statuses.
_STATUS_CSS = """
.s-fail{--c:var(--expired);--rbg:var(--expired-bg)}
.s-warn{--c:var(--renew);--rbg:var(--renew-bg)}
.s-warn .pill,.pill.s-warn{color:var(--renew-ink)}
.s-skipped{--c:var(--grey);--rbg:var(--grey-bg)}
td.check{white-space:nowrap;font-weight:600}
td.message{min-width:18em}
"""

_LEGEND = '\n'.join('<dt><span class="pill s-%s">%s</span></dt><dd>%s</dd>' % (status, status, text)
                    for status, text in (
    (FAIL, 'A renewal on this host would fail or must not be trusted: the message says what to fix.'),
    (UNREACHABLE, 'The host could not be checked at all.'),
    (WARN, 'Works now, but needs attention before it breaks (a CA expiring soon, a drifting clock).'),
    (OK, 'Checked and fine.'),
    (SKIPPED, 'Not checked, for the reason given (an option not set, a library or a trust file to fix first).'),
))


def _row_html(row):
    cells = (('Host', 'host', html_text(row['host'])),
             ('Certificate', 'certificate', html_text(row['certificate'])),
             ('Check', 'check', html_text(row['check'])),
             ('Status', 'status', '<span class="pill">%s</span>' % html_text(row['status'])),
             ('Message', 'message', html_text(row['message'])))
    return '<tr class="s-%s">%s</tr>' % (html_text(row['status']), ''.join(
        '<td class="%s" data-label="%s">%s</td>' % (css, label, content) for label, css, content in cells))


def _headline(summary):
    failed = len(summary['failed_hosts'])
    if not summary['hosts']:
        return 'warn', 'No host was checked.'
    if failed:
        return 'bad', '%d of %d host%s failed the preflight: %s' % (
            failed, summary['hosts'], '' if summary['hosts'] == 1 else 's', ', '.join(summary['failed_hosts']))
    if summary['counts'][WARN]:
        return 'warn', 'All %d host%s passed, with %d warning%s' % (
            summary['hosts'], '' if summary['hosts'] == 1 else 's', summary['counts'][WARN],
            '' if summary['counts'][WARN] == 1 else 's')
    return 'ok', 'All %d host%s passed' % (summary['hosts'], '' if summary['hosts'] == 1 else 's')


def render_html(rows, summary, generated_at, title):
    tone, headline = _headline(summary)
    badges = ''.join('<li class="badge s-%s%s"><b>%d</b> %s</li>' % (
        status, '' if summary['counts'][status] else ' zero', summary['counts'][status], status) for status in STATUSES)
    if rows:
        body = '\n'.join(_row_html(row) for row in rows)
        table = ('<div class="table-wrap"><table>\n<caption>Checks per host and certificate</caption>\n<thead><tr>'
                 '<th>Host</th><th>Certificate</th><th>Check</th><th>Status</th><th>Message</th></tr></thead>\n'
                 '<tbody>\n%s\n</tbody>\n</table></div>' % body)
    else:
        table = '<div class="table-wrap"><p class="empty">No host was checked.</p></div>'
    meta = 'Generated %s · %s on %s' % (generated_html(generated_at), plural(summary['total'], 'check'),
                                        plural(summary['hosts'], 'host'))
    return page(title, meta, tone, headline, badges, table, _LEGEND, extra_css=_STATUS_CSS)


def render(fmt, rows, summary, generated_at, title):
    if fmt == 'html':
        return render_html(rows, summary, generated_at, title)
    if fmt == 'csv':
        return render_csv(rows)
    if fmt == 'json':
        return render_json(rows, summary, generated_at)
    return render_prometheus(rows, generated_at)
