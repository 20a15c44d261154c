# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory-wide expiry report: classify certificate_info results and render them.

Pure functions without Ansible, run once on the controller by the expiry_report action, so the
rules (what counts as critical, what order people read) can be tested alone.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import csv
import datetime
import io
import json
import re
import traceback

from ansible_collections.incomes_register.certificates.plugins.module_utils import renewal_policy
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError
from ansible_collections.incomes_register.certificates.plugins.module_utils._report.certificate_reads import (
    OPERATIONS, PHASES)
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.certificate_report import (
    describe_request, describe_set_aside_keys)
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.report_formats import (
    GENERATED_RE, csv_cell, epoch, iso, kind, prometheus_labels)

try:
    import jmespath
except ImportError:
    jmespath = None
    JMESPATH_IMPORT_ERROR = traceback.format_exc()
else:
    JMESPATH_IMPORT_ERROR = None

UNREACHABLE = 'unreachable'
MISSING = 'missing'
UNREADABLE = 'unreadable'
EXPIRED = 'expired'
KEY_MISMATCH = 'key-mismatch'
CRITICAL = 'critical'
RENEW = 'renew'
OK = 'ok'
RESTART_PENDING = 'restart-pending'

# Worst first: the order of the summary badges and of the HTML legend.
STATUSES = (EXPIRED, CRITICAL, KEY_MISMATCH, RESTART_PENDING, RENEW, OK, MISSING, UNREADABLE, UNREACHABLE)
# Rows without an expiry date; they sort before every dated row because nobody knows how
# long they have left.
UNDATED = (UNREACHABLE, MISSING, UNREADABLE)
# The statuses whose certificate is unusable or unknown right now.
BROKEN = (EXPIRED, KEY_MISMATCH, MISSING, UNREADABLE)

CSV_COLUMNS = ('host', 'customer_id', 'organisation', 'environment', 'days_remaining', 'expires', 'not_after',
               'status', 'serial', 'issuer', 'path', 'note', 'fingerprint_sha256', 'replaced_days_remaining',
               'replaced_not_after', 'request_operation', 'request_phase', 'request_since', 'retrieval_id',
               'set_aside_keys')

# One multiselect projection both flattens the per-host lists and gives every row the same keys,
# whatever else a registered result carries (invocation, item, changed).
_ROW_FIELDS = ('host', 'path', 'exists', 'readable', 'error', 'subject', 'customer_id', 'organisation', 'issuer',
               'serial', 'fingerprint_sha256', 'not_before', 'not_after', 'days_remaining', 'expired',
               'in_renewal_window', 'key_matches', 'chain_valid', 'environment', 'change_mark', 'replaced_at',
               'replaced_not_after', 'replaced_days_remaining', 'request', 'set_aside_keys', 'task_failed', 'task_msg')
_FLATTEN = '[].certificates[].{%s}' % ', '.join('%s: %s' % (name, name) for name in _ROW_FIELDS)
# A failed item of a looped certificate_info task still tells which certificate it was about.
_FAILED_ITEM_PATH = 'path || invocation.module_args.path || item.path || item'


class ReportError(CertificateServiceError):
    """The input or the options of the report are unusable; the message says which and why."""


def _require_jmespath():
    if jmespath is None:
        raise ReportError('The expiry report needs the Python library jmespath on the controller, where the '
                          'report is built; install it there with "pip install jmespath".')


def _validate_days(critical_days, renew_before_days):
    try:
        renewal_policy.validate_renew_before_days(renew_before_days)
    except CertificateServiceError as error:
        raise ReportError(error.message) from None
    if isinstance(critical_days, bool) or not isinstance(critical_days, int) or critical_days < 0:
        raise ReportError('critical_days must be a whole number of days, 0 or more, not %r' % (critical_days,))
    if critical_days > renew_before_days:
        # Otherwise a certificate could be "critical" while the service still refuses to renew it.
        raise ReportError('critical_days (%d) must not exceed renew_before_days (%d)'
                          % (critical_days, renew_before_days))


def _task_failure(result):
    if result.get('unreachable') or result.get('failed'):
        return result.get('msg') or ('The host was unreachable' if result.get('unreachable') else 'The task failed')
    return None


def _host_entries(host, value):
    """The host's results as a list of dicts, each a certificate_info result or a failure marker."""
    if isinstance(value, dict):
        failure = _task_failure(value)
        if failure is not None and not isinstance(value.get('results'), list):
            return [dict(task_failed=True, task_msg=failure)]
        if isinstance(value.get('results'), list):
            # A looped task registered as a whole.
            value = value['results']
        elif value.get('skipped'):
            return []
        else:
            value = [value]
    if not isinstance(value, list):
        raise ReportError('host_results[%s] must be a list of certificate_info results or a task result, not %s'
                          % (host, kind(value)))
    entries = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise ReportError('host_results[%s][%d] must be a certificate_info result (a dict), not %s'
                              % (host, index, kind(item)))
        if item.get('skipped'):
            continue
        failure = _task_failure(item)
        if failure is not None:
            path = jmespath.search(_FAILED_ITEM_PATH, item)
            entries.append(dict(task_failed=True, task_msg=failure, path=path if isinstance(path, str) else None))
        else:
            entries.append(item)
    return entries


def _classify(row, critical_days, renew_before_days):
    if row['task_failed']:
        return UNREACHABLE
    if not row['exists']:
        return MISSING
    if not row['readable'] or not isinstance(row['days_remaining'], int):
        return UNREADABLE
    if row['expired'] or row['days_remaining'] < 0:
        return EXPIRED
    if row['key_matches'] is False:
        return KEY_MISMATCH
    if row['days_remaining'] <= critical_days:
        return CRITICAL
    # The file is sound, but its services may still read the certificate it replaced, which nothing renews.
    if row['change_mark']:
        return RESTART_PENDING
    # days_remaining is rounded down, so "< window" is the service's exact rule: 59 days and some
    # hours left is inside a 60-day window, 60 days and some hours is not yet.
    if row['days_remaining'] < renew_before_days:
        return RENEW
    return OK


def _parse_time(text):
    if not isinstance(text, str):
        return None
    try:
        value = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc)
    except (ValueError, OverflowError):
        # A time at the end of the calendar in another zone: a hand-written state file's, never the modules'.
        return None


def _note(row, status, renew_before_days):
    notes = []
    if row['error']:
        notes.append(row['error'])
    elif status == UNREACHABLE:
        notes.append(row['task_msg'])
    elif status == EXPIRED:
        notes.append('Expired: it cannot be renewed. Apply for a new certificate in the Incomes Register e-service.')
    elif status == KEY_MISMATCH:
        notes.append('The private key does not belong to this certificate.')
    elif status == CRITICAL:
        notes.append('Renew now.')
    elif status == RENEW or (status == RESTART_PENDING and row['days_remaining'] < renew_before_days):
        opened = row['_not_after'] - datetime.timedelta(days=renew_before_days)
        notes.append('Renewal window open since %s.' % opened.strftime('%Y-%m-%d'))
    if row['chain_valid'] is False:
        notes.append('Does not chain to the issuing CA.')
    if row['change_mark']:
        notes.append(_restart_note(row))
    if row['request']:
        notes.append(_request_note(row['request'], status))
    if row['set_aside_keys']:
        notes.append('Kept aside by renewals that got no answer, in case the service issued a certificate for them: '
                     '%s. The run that installs a renewed certificate removes them.' % ', '.join(row['set_aside_keys']))
    # An error is a module's message, without a full stop, and alone (or last) it stays as the module said it.
    return ' '.join([note if note.endswith(('.', '!', '?')) else note + '.' for note in notes[:-1]] + notes[-1:])


def request_since(request):
    """When the request in flight reached its phase (UTC), or None when the state file does not say: a sent one
    when it was made (every save moves updated, a refusal mark too), a submitted one when the service accepted it
    (as lifecycle counts resubmit_after_hours from), a retrieved one when that was recorded."""
    if not request or request.get('error'):
        return None
    phase = request.get('phase')
    if phase == 'submitted':
        return _parse_time(request.get('submitted_at')) or _parse_time(request.get('created'))
    if phase == 'retrieved':
        return _parse_time(request.get('updated')) or _parse_time(request.get('created'))
    return _parse_time(request.get('created'))


def _request_note(request, status):
    """What the certificate's state file says is in flight, and what the next run does about it: lifecycle's
    renew, enroll and retrieve, as docs/troubleshooting.md ("A leftover state file") and docs/guarantees.md tell.
    tests/unit/plugins/plugin_utils/test_audit_request_notes.py holds each promise to the next run's calls."""
    if request['error']:
        return 'A request may be in flight, but its state file cannot be read: %s.' % request['error'].rstrip('.')
    if request['refused']:
        return ('A request is recorded in %s, but the next run refuses that file: %s.'
                % (request['state_path'], request['refused']))
    operation, phase = request['operation'], request['phase']
    if operation not in OPERATIONS or phase not in PHASES:
        # Not a reading of certificate_info's, which says why the modules would refuse such a file.
        return 'A request is recorded in flight in %s (operation %s, phase %s).' % (
            request['state_path'] or 'its state file', operation, phase)
    since = request_since(request)
    when = ' on %s' % since.strftime('%Y-%m-%d %H:%M UTC') if since else ''
    renewal = operation == 'renew'
    what = 'A renewal' if renewal else 'A first-certificate request'
    if status == UNREADABLE:
        # Every module reads the certificate in place before it looks at the state file.
        return ('%s is recorded in flight in %s (phase %s); a run reads the certificate file before it acts on it, '
                'so one that cannot read it stops there.' % (what, request['state_path'], phase))
    # A first certificate is finished by certificate_request or certificate_retrieve; a renew run refuses it.
    finisher = 'the next renew run' if renewal else 'the next enroll run or certificate_retrieve'
    refuses = '' if renewal else ' Until then a renew run fails for this certificate.'
    if phase == 'submitted' and request['certificate_kept']:
        return ('The certificate the service gave for the %s (RetrievalId %s) is kept in %s, refused for a cause that '
                'can be put right (a trust file, the clock): %s checks it again without asking the service.%s'
                % ('renewal' if renewal else 'first-certificate request', request['retrieval_id'], request['state_path'],
                   finisher, refuses))
    if phase == 'submitted':
        text = ('%s accepted by the service%s waits for its certificate (RetrievalId %s): %s asks for it.'
                % (what, when, request['retrieval_id'], finisher))
        if not renewal:
            return text + ' The one-time credentials are never sent again.' + refuses
        text += (' While the certificate in place is inside its renewal window, one not issued within '
                 'resubmit_after_hours (24 by default) of being accepted is asked for again')
        if request['resubmit_refused']:
            return text + (', with a fresh key, this one kept aside: the service refused a renewal for it once when it '
                           'was asked again.')
        return text + ', for the same key.'
    if phase == 'retrieved':
        return ('%s got its certificate%s, which waits beside this one: %s puts it in place.%s'
                % (what, when, finisher, refuses))
    if phase == 'sent' and request['answer_kept']:
        text = ('%s was answered%s, but the answer could not be accepted; it is kept beside %s. Put the cause right '
                '(usually service_ca_path) and run ' % (what, when, request['state_path']))
        if renewal:
            return text + 'again: the kept answer is checked again, and no other renewal is asked for.'
        return text + ('the enroll playbook again with the same TransferID, or certificate_retrieve: the kept answer is '
                       'checked again and nothing is sent. New credentials give this request up for a new one.')
    if not renewal:
        return ('The one-time credentials of a first-certificate request were sent%s, or about to be, and no answer '
                'is recorded: they are not sent again (%s; docs/troubleshooting.md, "A leftover state file").%s'
                % (when, request['state_path'], refuses))
    if status == EXPIRED:
        text = ('A renewal was sent%s, or about to be, and no answer is recorded; the certificate has expired, so it '
                'is not sent again.' % when)
        if request['replaces_retrieval_id']:
            text += (' It was sent in place of RetrievalId %s, whose certificate may still come: certificate_retrieve '
                     'with that retrieval_id asks for it.' % request['replaces_retrieval_id'])
        return text
    if status in (MISSING, KEY_MISMATCH):
        # The renewal is signed with the certificate's key: without the pair in place, nothing is sent.
        return ('A renewal was sent%s, or about to be, and no answer is recorded: a renew run sends it again, with the '
                'same new key, once the certificate and its key are in place and match.' % when)
    if request['resubmit_refused']:
        return ('A renewal sent%s got no answer, and the service refused it when it was asked again for the same key: '
                'the next renew run sets that key aside and asks with a fresh one.' % when)
    return ('A renewal was sent%s, or about to be, and no answer is recorded: the next renew run sends it again with '
            'the same new key.' % when)


def _restart_note(row):
    replaced = 'Replaced at %s' % row['replaced_at'] if row['replaced_at'] else 'Replaced'
    old = 'the old certificate'
    if row['_replaced_not_after']:
        old = 'the certificate it replaced, which expires on %s (%s)' % (
            row['_replaced_not_after'].strftime('%Y-%m-%d'), _days_text(row['replaced_days_remaining']))
    return ('%s, and its services not restarted since: they may still use %s. The next renew run that succeeds for '
            'it restarts them; if they have been restarted otherwise, remove %s.' % (replaced, old, row['change_mark']))


def _days_text(days):
    if days < 0:
        return 'expired'
    return '%d day%s left' % (days, '' if days == 1 else 's')


def build_rows(host_results, critical_days=14, renew_before_days=60):
    """One row per certificate (or per host that could not be audited), worst and soonest first.

    host_results maps each host to its certificate_info results: a list of results, a looped task
    registered as a whole (with "results"), or a failed or unreachable task result, which becomes a
    single row with status 'unreachable' and the task's msg as its note. A certificate listed twice
    for the same host counts once.
    """
    _require_jmespath()
    _validate_days(critical_days, renew_before_days)
    if not isinstance(host_results, dict):
        raise ReportError('host_results must be a dict mapping each host to its certificate_info results, not %s'
                          % kind(host_results))
    per_host = []
    for host in sorted(host_results, key=str):
        entries = [dict(entry, host=str(host)) for entry in _host_entries(host, host_results[host])]
        per_host.append({'certificates': entries})
    rows = []
    seen = set()
    for row in jmespath.search(_FLATTEN, per_host) or []:
        identity = (row['host'], row['path'])
        if identity in seen:
            continue
        seen.add(identity)
        row['task_failed'] = bool(row['task_failed'])
        row['_not_after'] = _parse_time(row['not_after'])
        if not row['change_mark'] or not isinstance(row['replaced_days_remaining'], int) \
                or isinstance(row['replaced_days_remaining'], bool):
            row['replaced_days_remaining'] = None
        row['_replaced_not_after'] = _parse_time(row['replaced_not_after']) if row['replaced_days_remaining'] is not None \
            else None
        # host_results need not be this collection's certificate_info's of today (a loop registered by hand, an
        # older version): neither is required.
        row['request'] = describe_request(row['request'])
        row['set_aside_keys'] = describe_set_aside_keys(row['set_aside_keys'])
        status = _classify(row, critical_days, renew_before_days)
        if status in UNDATED:
            row['days_remaining'] = None
        row['status'] = status
        row['expires'] = row['_not_after'].strftime('%Y-%m-%d') if row['_not_after'] and status not in UNDATED else None
        row['note'] = _note(row, status, renew_before_days)
        del row['_not_after'], row['_replaced_not_after'], row['task_failed'], row['task_msg']
        rows.append(row)
    rows.sort(key=_sort_key)
    return rows


def _sort_key(row):
    if row['status'] in UNDATED:
        return (0, UNDATED.index(row['status']), 0, row['host'], row['path'] or '')
    return (1, 0, effective_days(row), row['host'], row['path'] or '')


def effective_days(row):
    """The days left of what the certificate's services may use: its own, or those of the certificate it replaced
    when fewer, while they have not been restarted since (a change mark that records it)."""
    days, replaced = row['days_remaining'], row.get('replaced_days_remaining')
    if days is None or replaced is None:
        return days
    return min(days, replaced)


def summarize(rows):
    """Counts per status (every status, zeros included), total, hosts, and the next certificate to expire.

    soonest_expiry is the unexpired certificate with the fewest days left (None when there is
    none); expired ones are already counted under 'expired'.
    """
    counts = dict((status, 0) for status in STATUSES)
    for row in rows:
        counts[row['status']] += 1
    dated = [row for row in rows if row['status'] not in UNDATED and row['status'] != EXPIRED]
    soonest = None
    if dated:
        first = min(dated, key=lambda row: (row['days_remaining'], row['not_after'] or ''))
        soonest = dict((key, first[key]) for key in (
            'host', 'path', 'customer_id', 'organisation', 'environment', 'not_after', 'expires', 'days_remaining',
            'status'))
    return {
        'total': len(rows),
        'hosts': len(set(row['host'] for row in rows)),
        'counts': counts,
        'soonest_expiry': soonest,
        'in_flight': sum(1 for row in rows if row.get('request')),
    }


def gate(rows, fail_within_days=None):
    """(failed, reasons): broken certificates always fail the gate; soon-expiring ones when a limit is given. A
    certificate whose services may still use the one it replaced counts that one's expiry too."""
    reasons = []
    for row in rows:
        where = '%s %s' % (row['host'], row['path'])
        if row['status'] in BROKEN:
            reasons.append('%s: %s' % (where, row['status']))
            continue
        days, replaced = row['days_remaining'], row.get('replaced_days_remaining')
        if replaced is not None and replaced < 0:
            reasons.append('%s: its services may still use the certificate it replaced, which has expired' % where)
        elif fail_within_days is None or days is None or effective_days(row) > fail_within_days:
            continue
        elif replaced is not None and replaced < days:
            reasons.append('%s: its services may still use the certificate it replaced, which expires in %d days '
                           '(fail_within_days %d)' % (where, replaced, fail_within_days))
        else:
            reasons.append('%s: expires in %d days (fail_within_days %d)' % (where, days, fail_within_days))
    return bool(reasons), reasons


def render_csv(rows):
    """RFC 4180 CSV with a header row; empty cells for values a row does not have."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction='ignore')
    writer.writeheader()
    for row in rows:
        cells = dict(row, **_request_cells(row.get('request')))
        # One path per line: a path may hold spaces, and a quoted CSV cell keeps line breaks.
        cells['set_aside_keys'] = '\n'.join(row.get('set_aside_keys') or ())
        writer.writerow(dict((key, csv_cell(cells.get(key))) for key in CSV_COLUMNS))
    return buffer.getvalue()


def _request_cells(request):
    if not request:
        return {}
    since = request_since(request)
    return dict(request_operation=request.get('operation'), request_phase=request_phase(request),
                request_since=iso(since) if since else None, retrieval_id=request.get('retrieval_id'))


def request_phase(request):
    """The phase a report shows: 'unreadable' or 'refused' when no run would act on the file as it is."""
    if request.get('error'):
        return 'unreadable'
    return 'refused' if request.get('refused') else request.get('phase')


def render_json(rows, summary, generated_at):
    document = {'generated_at': iso(generated_at), 'summary': summary, 'certificates': rows}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + '\n'


_METRIC_HELP = (
    ('incomes_register_certificate_expiry_timestamp_seconds',
     'When the Incomes Register certificate expires, in seconds since the Unix epoch.'),
    ('incomes_register_certificate_days_remaining',
     'Whole days until the Incomes Register certificate expires; negative once expired.'),
    ('incomes_register_certificate_replaced_days_remaining',
     'Whole days until the certificate that this one replaced expires, while the services that may still use it '
     'have not been restarted since (restart-pending); negative once expired.'),
    ('incomes_register_certificate_status',
     'Always 1; the status label holds the audit verdict (%s).' % ', '.join(STATUSES)),
    ('incomes_register_certificate_request_since_timestamp_seconds',
     'When the request in flight for the certificate (a renewal, or a first certificate) reached its phase, in '
     'seconds since the Unix epoch; only while its state file records one.'),
    ('incomes_register_audit_timestamp_seconds',
     'When the certificate expiry report was generated, in seconds since the Unix epoch.'),
)
_AUDIT_METRIC = 'incomes_register_audit_timestamp_seconds'


def render_prometheus(rows, generated_at):
    """node_exporter textfile-collector format; certificates without a date get only the status series."""
    helps = dict(_METRIC_HELP)
    series = dict((name, []) for name in helps)
    for row in rows:
        labels = [('host', row['host']), ('customer_id', row['customer_id']), ('path', row['path']),
                  ('environment', row['environment']), ('serial', row['serial'])]
        not_after = _parse_time(row['not_after'])
        if row['status'] not in UNDATED and not_after is not None:
            series['incomes_register_certificate_expiry_timestamp_seconds'].append(
                '%s %d' % (prometheus_labels(labels), epoch(not_after)))
            series['incomes_register_certificate_days_remaining'].append(
                '%s %d' % (prometheus_labels(labels), row['days_remaining']))
            if row.get('replaced_days_remaining') is not None:
                series['incomes_register_certificate_replaced_days_remaining'].append(
                    '%s %d' % (prometheus_labels(labels), row['replaced_days_remaining']))
        series['incomes_register_certificate_status'].append(
            '%s 1' % prometheus_labels(labels + [('status', row['status'])]))
        since = request_since(row.get('request'))
        if since is not None:
            series['incomes_register_certificate_request_since_timestamp_seconds'].append('%s %d' % (prometheus_labels(
                labels + [('operation', row['request'].get('operation')), ('phase', request_phase(row['request']))]),
                epoch(since)))
    series[_AUDIT_METRIC].append(' %d' % epoch(generated_at))
    lines = []
    for name, text in _METRIC_HELP:
        lines.append('# HELP %s %s' % (name, text.replace('\\', '\\\\').replace('\n', '\\n')))
        lines.append('# TYPE %s gauge' % name)
        lines.extend(name + sample for sample in series[name])
    return '\n'.join(lines) + '\n'


def render(fmt, rows, summary, generated_at, title, critical_days=14, renew_before_days=60):
    """The report in one of FORMAT_EXTENSIONS' formats."""
    if fmt == 'html':
        return render_html(rows, summary, generated_at, title, critical_days=critical_days,
                           renew_before_days=renew_before_days)
    if fmt == 'csv':
        return render_csv(rows)
    if fmt == 'json':
        return render_json(rows, summary, generated_at)
    return render_prometheus(rows, generated_at)


def comparable(fmt, text):
    """text with the generation time blanked, so an unchanged inventory renders as unchanged."""
    if fmt == 'json':
        try:
            document = json.loads(text)
        except ValueError:
            return text
        if isinstance(document, dict):
            document.pop('generated_at', None)
        return json.dumps(document, sort_keys=True)
    if fmt == 'prometheus':
        return re.sub(r'^(%s) .*$' % _AUDIT_METRIC, r'\1', text, flags=re.MULTILINE)
    if fmt == 'html':
        return GENERATED_RE.sub('', text)
    return text


# ----------------------------------------------------------------------------------------------
# Views of the rows for the HTML page (rendered by expiry_html)

TIMELINE_WEEKS = 52
# The statuses a week's bar is stacked from, bottom up; the rest are called out beside the chart.
TIMELINE_STACK = (KEY_MISMATCH, CRITICAL, RESTART_PENDING, RENEW, OK)
# Worst first, for a group's colour: what needs a person now before what can wait.
SEVERITY = (EXPIRED, CRITICAL, KEY_MISMATCH, RESTART_PENDING, MISSING, UNREADABLE, UNREACHABLE, RENEW, OK)


def timeline(rows, weeks=TIMELINE_WEEKS):
    """The rows by when they expire: dict(weeks, expired, undated, later).

    weeks[w] lists the unexpired certificates with 7w to 7w+6 effective_days (week 0 starts on the
    report's day; a restart-pending certificate lands where the one its services may still use runs out, in
    week 0 once that has), so a bar agrees with the table's order and statuses and does not depend on the
    time of day. expired lists the expired ones, undated maps each of UNDATED to its rows, later
    holds the certificates with more than `weeks` weeks left. Every row lands in exactly one place.
    """
    line = dict(weeks=[[] for dummy in range(weeks)], expired=[], undated=dict((status, []) for status in UNDATED),
                later=[])
    for row in rows:
        if row['status'] in UNDATED:
            line['undated'][row['status']].append(row)
        elif row['status'] == EXPIRED or row['days_remaining'] < 0:
            line['expired'].append(row)
        elif max(effective_days(row), 0) // 7 < weeks:
            line['weeks'][max(effective_days(row), 0) // 7].append(row)
        else:
            line['later'].append(row)
    return line


def status_counts(rows):
    """{status: count} of the statuses that occur, in STATUSES order."""
    counts = dict((status, 0) for status in STATUSES)
    for row in rows:
        counts[row['status']] += 1
    return dict((status, counts[status]) for status in STATUSES if counts[status])


def _distinct(values):
    return sorted(set(value for value in values if value), key=str)


def groups(rows, key):
    """One summary per distinct row[key] (None is a group too): worst first, then soonest, then by name.

    Each is dict(name, rows, counts, worst, soonest, customers, organisations, environments, hosts),
    rows in report order, counts as status_counts, worst by SEVERITY, soonest the unexpired dated row
    with the fewest days left (None when there is none).
    """
    members = {}
    for row in rows:
        members.setdefault(row[key], []).append(row)
    result = []
    for name, grouped in members.items():
        dated = [row for row in grouped if row['status'] not in UNDATED and row['status'] != EXPIRED]
        result.append(dict(
            name=name, rows=grouped, counts=status_counts(grouped),
            worst=min((row['status'] for row in grouped), key=SEVERITY.index),
            soonest=min(dated, key=lambda row: row['days_remaining']) if dated else None,
            customers=_distinct(row['customer_id'] for row in grouped),
            organisations=_distinct(row['organisation'] for row in grouped),
            environments=_distinct(row['environment'] for row in grouped),
            hosts=_distinct(row['host'] for row in grouped)))
    result.sort(key=lambda group: (SEVERITY.index(group['worst']),
                                   group['soonest']['days_remaining'] if group['soonest'] else float('inf'),
                                   group['name'] is None, str(group['name'] or '')))
    return result


def render_html(rows, summary, generated_at, title, critical_days=14, renew_before_days=60):
    """The audit's HTML page (see expiry_html.render_html)."""
    # Imported here: expiry_html builds on this module's statuses and views.
    from ansible_collections.incomes_register.certificates.plugins.plugin_utils import expiry_html
    return expiry_html.render_html(rows, summary, generated_at, title, critical_days=critical_days,
                                   renew_before_days=renew_before_days)
