"""The expiry report's rules and renderers, fed with results shaped like certificate_info's."""
import base64
import csv
import datetime
import hashlib
import html
import html.parser
import io
import json
import re

import pytest

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import expiry_html
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import expiry_report as report
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import report_formats
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.expiry_report import ReportError

NOW = datetime.datetime(2025, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def info(path='/etc/ir/cert.pem', days=400, **overrides):
    """A certificate_info result for a readable certificate that has `days` whole days left."""
    not_after = NOW + days * DAY + datetime.timedelta(hours=5)
    result = dict(
        path=path, exists=True, readable=True, error=None, subject='CN=1234567-8,O=Example Oy,C=FI',
        customer_id='1234567-8', organisation='Example Oy',
        issuer='CN=Data Providers Test Issuing CA v1,O=Verohallinto,C=FI', serial='1A2B3C',
        fingerprint_sha256='AA:BB', fingerprint_sha1='CC:DD', not_before='2024-01-01T00:00:00Z',
        not_after=not_after.strftime('%Y-%m-%dT%H:%M:%SZ'), days_remaining=days, expired=days < 0,
        in_renewal_window=0 <= days < 60, key_matches=True, chain_valid=True, environment='TEST')
    result.update(overrides)
    return result


def missing(path='/etc/ir/cert.pem'):
    return dict(path=path, exists=False, readable=False, error='No certificate at %s' % path)


def one_row(result, **kwargs):
    rows = report.build_rows({'app1': [result]}, **kwargs)
    assert len(rows) == 1
    return rows[0]


# ---- classification ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('days, status', [
    (700, 'ok'),
    (61, 'ok'),
    (60, 'ok'),
    (59, 'renew'),
    (15, 'renew'),
    (14, 'critical'),
    (0, 'critical'),
    (-1, 'expired'),
    (-400, 'expired'),
])
def test_status_at_the_default_boundaries(days, status):
    assert one_row(info(days=days))['status'] == status


def test_expired_flag_wins_over_zero_days_remaining():
    # certificate_info counts the expiry instant itself as expired while days_remaining is still 0.
    assert one_row(info(days=0, expired=True))['status'] == 'expired'


@pytest.mark.parametrize('days, status', [(45, 'ok'), (44, 'renew'), (31, 'renew'), (30, 'critical')])
def test_custom_thresholds(days, status):
    assert one_row(info(days=days), critical_days=30, renew_before_days=45)['status'] == status


def test_key_mismatch_outranks_days_but_not_expiry():
    assert one_row(info(days=300, key_matches=False))['status'] == 'key-mismatch'
    assert one_row(info(days=3, key_matches=False))['status'] == 'key-mismatch'
    assert one_row(info(days=-3, key_matches=False))['status'] == 'expired'
    assert one_row(info(days=300, key_matches=None))['status'] == 'ok'


def test_missing_and_unreadable_keep_the_error_as_note():
    row = one_row(missing('/etc/ir/gone.pem'))
    assert (row['status'], row['note'], row['days_remaining'], row['expires']) == (
        'missing', 'No certificate at /etc/ir/gone.pem', None, None)
    row = one_row(dict(path='/etc/ir/bad.pem', exists=True, readable=False, error='Cannot parse /etc/ir/bad.pem'))
    assert (row['status'], row['note']) == ('unreadable', 'Cannot parse /etc/ir/bad.pem')


def test_unreachable_and_failed_hosts_become_one_row_with_their_message():
    rows = report.build_rows({
        'down': {'unreachable': True, 'changed': False, 'msg': 'Failed to connect to the host via ssh'},
        'broken': {'failed': True, 'msg': 'Failed to import the required Python library (cryptography)'},
    })
    by_host = dict((row['host'], row) for row in rows)
    assert by_host['down']['status'] == by_host['broken']['status'] == 'unreachable'
    assert by_host['down']['note'] == 'Failed to connect to the host via ssh'
    assert by_host['broken']['note'].startswith('Failed to import')
    assert by_host['down']['path'] is None


def test_looped_registered_result_with_a_failed_and_a_skipped_item():
    registered = {
        'changed': False, 'failed': True, 'msg': 'One or more items failed',
        'results': [
            dict(info(path='/a.pem', days=100), item={'path': '/a.pem'}, invocation={'module_args': {}},
                 ansible_loop_var='item', changed=False),
            {'failed': True, 'msg': 'boom', 'item': {'path': '/b.pem'}, 'invocation': {'module_args': {'path': '/b.pem'}}},
            {'skipped': True, 'item': {'path': '/c.pem'}},
        ],
    }
    rows = report.build_rows({'app1': registered})
    assert [(row['path'], row['status'], row['note']) for row in rows] == [
        ('/b.pem', 'unreachable', 'boom'), ('/a.pem', 'ok', '')]
    assert 'invocation' not in rows[1] and 'item' not in rows[1]


def test_single_unlooped_result_and_skipped_task():
    rows = report.build_rows({'app1': info(days=20), 'app2': {'skipped': True, 'changed': False}})
    assert [(row['host'], row['status']) for row in rows] == [('app1', 'renew')]


def test_a_certificate_listed_twice_counts_once():
    rows = report.build_rows({'app1': [info(path='/a.pem', days=10), info(path='/a.pem', days=10)]})
    assert len(rows) == 1


def test_rows_share_one_set_of_keys_and_notes_give_advice():
    rows = report.build_rows({'app1': [info(path='/r.pem', days=30), info(path='/x.pem', days=-2),
                                       info(path='/c.pem', days=5, chain_valid=False), missing('/m.pem')]})
    assert len(set(tuple(sorted(row)) for row in rows)) == 1
    notes = dict((row['path'], row['note']) for row in rows)
    renew_from = (NOW + 30 * DAY - 60 * DAY).strftime('%Y-%m-%d')
    assert notes['/r.pem'] == 'Renewal window open since %s.' % renew_from
    assert 'e-service' in notes['/x.pem'] and 'cannot be renewed' in notes['/x.pem']
    assert notes['/c.pem'] == 'Renew now. Does not chain to the issuing CA.'


def marked(path='/n.pem', replaced_days=20, **overrides):
    """certificate_info's result for a certificate the renewal role replaced (730 days left) whose services have not
    been restarted since: the one it replaced has replaced_days whole days left (None: the mark does not say)."""
    replaced = None
    if replaced_days is not None:
        replaced = (NOW + replaced_days * DAY + datetime.timedelta(hours=3)).strftime('%Y-%m-%dT%H:%M:%SZ')
    fields = dict(days=730, change_mark=path + '.changed', replaced_at='2025-11-20T03:00:12Z',
                  replaced_not_after=replaced, replaced_days_remaining=replaced_days)
    fields.update(overrides)
    return info(path=path, **fields)


def test_a_certificate_whose_services_were_not_restarted_since_its_replacement_is_restart_pending():
    rows = report.build_rows({'app1': [marked(), info(path='/o.pem'), marked(path='/u.pem', replaced_days=None)]})
    by_path = dict((row['path'], row) for row in rows)
    replaced_on = (NOW + 20 * DAY).strftime('%Y-%m-%d')
    assert by_path['/n.pem']['status'] == 'restart-pending'
    assert by_path['/n.pem']['days_remaining'] == 730 and by_path['/n.pem']['replaced_days_remaining'] == 20
    assert by_path['/n.pem']['note'] == (
        'Replaced at 2025-11-20T03:00:12Z, and its services not restarted since: they may still use the certificate it '
        'replaced, which expires on %s (20 days left). The next renew run that succeeds for it restarts them; if they '
        'have been restarted otherwise, remove /n.pem.changed.' % replaced_on)
    assert by_path['/u.pem']['status'] == 'restart-pending' and by_path['/u.pem']['replaced_days_remaining'] is None
    assert 'they may still use the old certificate.' in by_path['/u.pem']['note']
    assert (by_path['/o.pem']['status'], by_path['/o.pem']['note'], by_path['/o.pem']['change_mark']) == ('ok', '', None)
    # What its services may still use runs out first: it sorts by the replaced certificate's days.
    assert [row['path'] for row in rows] == ['/n.pem', '/o.pem', '/u.pem']
    assert [report.effective_days(row) for row in rows] == [20, 400, 730]


def test_days_of_a_replaced_certificate_count_only_with_its_mark_and_as_a_number():
    for result in (info(replaced_days_remaining=3), marked(replaced_days_remaining='3'),
                   marked(replaced_days_remaining=True)):
        row = one_row(result)
        assert row['replaced_days_remaining'] is None and report.effective_days(row) == row['days_remaining']


@pytest.mark.parametrize('overrides, status', [
    (dict(days=-1, expired=True), 'expired'),
    (dict(key_matches=False), 'key-mismatch'),
    (dict(days=10), 'critical'),
    (dict(days=59), 'restart-pending'),
    (dict(exists=False, readable=False, error='No certificate at /n.pem'), 'missing'),
])
def test_a_broken_or_critical_certificate_keeps_its_status_and_the_mark_its_note(overrides, status):
    row = one_row(marked(**overrides))
    assert row['status'] == status
    assert 'remove /n.pem.changed' in row['note']


def test_a_restart_pending_certificate_in_its_window_still_says_so():
    row = one_row(marked(days=50))
    assert row['status'] == 'restart-pending'
    assert row['note'].startswith('Renewal window open since %s. Replaced at' % (NOW + 50 * DAY - 60 * DAY).strftime(
        '%Y-%m-%d'))


def test_the_gate_counts_the_certificate_a_marked_one_replaced():
    certificates = [marked(path='/soon.pem', replaced_days=5), marked(path='/gone.pem', replaced_days=-2),
                    marked(path='/later.pem', replaced_days=45), marked(path='/unknown.pem', replaced_days=None),
                    marked(path='/crit.pem', days=10, replaced_days=-1), marked(path='/own.pem', days=8, replaced_days=9)]
    rows = report.build_rows({'a': certificates})
    gone = 'its services may still use the certificate it replaced, which has expired'
    assert report.gate(rows) == (True, ['a /gone.pem: ' + gone, 'a /crit.pem: ' + gone])
    assert report.gate(rows, fail_within_days=30) == (True, [
        'a /gone.pem: ' + gone, 'a /crit.pem: ' + gone,
        'a /soon.pem: its services may still use the certificate it replaced, which expires in 5 days '
        '(fail_within_days 30)',
        'a /own.pem: expires in 8 days (fail_within_days 30)'])
    by_path = dict((row['path'], row) for row in rows)
    assert by_path['/crit.pem']['status'] == 'critical'
    assert by_path['/gone.pem']['replaced_days_remaining'] == -2 and '(expired)' in by_path['/gone.pem']['note']


def test_every_output_carries_the_replaced_certificates_days():
    rows = report.build_rows({'app1': [marked(), info(path='/o.pem', days=300)]})
    summary = report.summarize(rows)
    csv_rows = list(csv.DictReader(io.StringIO(report.render_csv(rows))))
    assert [(row['path'], row['status'], row['replaced_days_remaining']) for row in csv_rows] == [
        ('/n.pem', 'restart-pending', '20'), ('/o.pem', 'ok', '')]
    assert csv_rows[0]['replaced_not_after'].startswith((NOW + 20 * DAY).strftime('%Y-%m-%d'))
    families = parse_prometheus(report.render_prometheus(rows, NOW))
    assert [(labels['path'], value) for labels, value in
            families['incomes_register_certificate_replaced_days_remaining']['samples']] == [('/n.pem', 20.0)]
    assert json.loads(report.render_json(rows, summary, NOW))['certificates'][0]['replaced_days_remaining'] == 20
    # The timeline puts it where what its services may use runs out: week 2, not beyond the 52 weeks.
    line = report.timeline(rows)
    assert [row['path'] for row in line['weeks'][2]] == ['/n.pem'] and line['later'] == []
    page = report.render_html(rows, summary, NOW, 'Audit')
    assert '1 of 2 needs attention now' in page
    assert '<span class="pill s-restart-pending">restart pending</span>' in page
    assert '.s-restart-pending{' in page
    assert re.search(r'<tr class="s-restart-pending"[^>]* data-days="20">', page)
    assert '730<span class="replaced" title="the certificate it replaced">replaced: 20</span>' in page


def in_flight(phase='submitted', operation='renew', **overrides):
    """certificate_info's request for a state file that records a request in flight."""
    request = dict(state_path='/r.pem.state.json', error=None, refused=None, operation=operation, phase=phase,
                   retrieval_id='RID-9' if phase in ('submitted', 'retrieved') else None, created='2025-11-24T03:00:00Z',
                   updated='2025-11-24T03:00:05Z',
                   submitted_at='2025-11-24T03:00:04.123456+00:00' if phase in ('submitted', 'retrieved') else None,
                   replaces_retrieval_id=None, answer_kept=False, certificate_kept=False, resubmit_refused=False)
    request.update(overrides)
    return request


# What each note promises is held to what lifecycle does next in test_audit_request_notes.py; here, the wording.
@pytest.mark.parametrize('request_, fragments', [
    (in_flight(), ['A renewal accepted by the service on 2025-11-24 03:00 UTC waits for its certificate (RetrievalId '
                   'RID-9): the next renew run asks for it. While the certificate in place is inside its renewal '
                   'window, one not issued within resubmit_after_hours (24 by default) of being accepted is asked for '
                   'again, for the same key.']),
    (in_flight(resubmit_refused=True), ['is asked for again, with a fresh key, this one kept aside']),
    (in_flight('sent', 'sign', answer_kept=True), ['run the enroll playbook again with the same TransferID, or '
                                                   'certificate_retrieve', 'New credentials give this request up']),
    (in_flight(certificate_kept=True), ['The certificate the service gave for the renewal (RetrievalId RID-9) is kept in '
                                        '/r.pem.state.json', 'checks it again without asking the service']),
    (in_flight('retrieved'), ['A renewal got its certificate on 2025-11-24 03:00 UTC, which waits beside this one: the '
                              'next renew run puts it in place.']),
    (in_flight('retrieved', 'sign'), ['the next enroll run or certificate_retrieve puts it in place']),
    (in_flight('sent'), ['A renewal was sent on 2025-11-24 03:00 UTC, or about to be, and no answer is recorded: the '
                         'next renew run sends it again with the same new key.']),
    (in_flight('sent', resubmit_refused=True), ['the service refused it when it was asked again for the same key: the '
                                                'next renew run sets that key aside and asks with a fresh one']),
    (in_flight('sent', answer_kept=True), ['was answered on 2025-11-24 03:00 UTC, but the answer could not be '
                                           'accepted; it is kept beside /r.pem.state.json', 'service_ca_path']),
    (in_flight('sent', 'sign'), ['one-time credentials of a first-certificate request were sent', 'not sent again',
                                 '/r.pem.state.json', 'A leftover state file']),
    (in_flight('submitted', 'sign'), ['the next enroll run or certificate_retrieve asks for it. The one-time '
                                      'credentials are never sent again.']),
    (in_flight('odd', refused="it records operation 'renew' and phase 'odd'"),
     ["A request is recorded in /r.pem.state.json, but the next run refuses that file: it records operation 'renew' "
      "and phase 'odd'."]),
    (dict(state_path='/r.pem.state.json', error='/r.pem.state.json is a symbolic link; refusing to follow it.'),
     ['A request may be in flight, but its state file cannot be read: /r.pem.state.json is a symbolic link; '
      'refusing to follow it.']),
])
def test_a_request_in_flight_is_told_in_the_note_without_changing_the_status(request_, fragments):
    row = one_row(info(path='/r.pem', days=30, request=request_))
    assert row['status'] == 'renew' and row['request'] == request_
    assert row['note'].startswith('Renewal window open since ')
    for fragment in fragments:
        assert fragment in row['note']


def test_a_sent_renewal_of_an_expired_certificate_is_not_said_to_be_sent_again():
    row = one_row(info(path='/r.pem', days=-2, request=in_flight('sent')))
    assert row['status'] == 'expired'
    assert row['note'].endswith('no answer is recorded; the certificate has expired, so it is not sent again.')
    row = one_row(info(path='/r.pem', days=-2, request=in_flight('sent', replaces_retrieval_id='R-OLD')))
    assert row['note'].endswith('It was sent in place of RetrievalId R-OLD, whose certificate may still come: '
                                'certificate_retrieve with that retrieval_id asks for it.')


def test_a_request_of_a_certificate_no_run_can_read_says_the_run_stops_there():
    row = one_row(dict(missing('/r.pem'), exists=True, error='Cannot parse /r.pem as a certificate: junk',
                       request=in_flight()))
    assert row['status'] == 'unreadable'
    assert row['note'].endswith('A renewal is recorded in flight in /r.pem.state.json (phase submitted); a run reads '
                                'the certificate file before it acts on it, so one that cannot read it stops there.')


def test_a_refused_state_file_shows_as_refused_in_the_csv_and_the_metric():
    rows = report.build_rows({'app1': [info(path='/r.pem', days=30, request=in_flight(refused='it has version 2, not 1'))]})
    assert list(csv.DictReader(io.StringIO(report.render_csv(rows))))[0]['request_phase'] == 'refused'
    samples = parse_prometheus(report.render_prometheus(rows, NOW))[
        'incomes_register_certificate_request_since_timestamp_seconds']['samples']
    assert [labels['phase'] for labels, value in samples] == ['refused']


@pytest.mark.parametrize('request_', [
    dict(in_flight(), created='9999-12-31T23:59:59-14:00', submitted_at='0001-01-01T00:00:00+05:00'),
    dict(in_flight(), error=7),
    dict(in_flight('sent', 'sign'), state_path=None, phase=['sent']),
    dict(error=None, operation=None),
])
def test_odd_values_in_a_request_never_stop_the_report(request_):
    rows = report.build_rows({'app1': [info(path='/r.pem', days=30, request=request_)]})
    for fmt in ('html', 'csv', 'json', 'prometheus'):
        report.render(fmt, rows, report.summarize(rows), NOW, 'Audit')
    assert rows[0]['status'] == 'renew'
    assert 'credentials' not in rows[0]['note'] or request_['operation'] == 'sign'


def test_keys_set_aside_are_named_in_the_note_and_odd_values_are_ignored():
    keys = ['/k.pem.new.unanswered-20251101T030000Z', '/k.pem.new.unanswered-20251108T030000Z']
    row = one_row(info(path='/r.pem', days=300, set_aside_keys=keys + [7]))
    assert row['set_aside_keys'] == keys and row['status'] == 'ok'
    assert row['note'] == ('Kept aside by renewals that got no answer, in case the service issued a certificate for '
                           'them: %s, %s. The run that installs a renewed certificate removes them.' % tuple(keys))
    # A result without either (an older certificate_info, a hand-made one) is nothing in flight.
    row = one_row(info(path='/r.pem', days=300, request='submitted', set_aside_keys='/k.pem.new'))
    assert row['request'] is None and row['set_aside_keys'] == [] and row['note'] == ''
    # A missing certificate whose first certificate is in flight says both.
    row = one_row(dict(missing('/m.pem'), request=in_flight('sent', 'sign')))
    assert row['status'] == 'missing' and row['note'].startswith('No certificate at /m.pem. The one-time credentials')


def test_every_output_carries_what_is_in_flight():
    set_aside = ['/k.new.unanswered-20251101T030000Z', '/my keys/k.new.unanswered-20251102T030000Z']
    rows = report.build_rows({'app1': [info(path='/r.pem', days=30, request=in_flight(), set_aside_keys=set_aside),
                                       info(path='/s.pem', days=40, request=in_flight('sent', updated=None)),
                                       info(path='/u.pem', days=50, request=dict(state_path='/u', error='unreadable')),
                                       info(path='/o.pem', days=300)]})
    csv_rows = dict((row['path'], row) for row in csv.DictReader(io.StringIO(report.render_csv(rows))))
    assert [csv_rows['/r.pem'][name] for name in ('request_operation', 'request_phase', 'request_since',
                                                  'retrieval_id')] == [
        'renew', 'submitted', '2025-11-24T03:00:04Z', 'RID-9']
    # One path per line of the cell, so that a path with a space stays one path.
    assert csv_rows['/r.pem']['set_aside_keys'].splitlines() == set_aside
    # A sent request's time is when it was made: every save moves updated.
    assert csv_rows['/s.pem']['request_since'] == '2025-11-24T03:00:00Z' and csv_rows['/s.pem']['retrieval_id'] == ''
    assert csv_rows['/u.pem']['request_phase'] == 'unreadable'
    assert [csv_rows['/o.pem'][name] for name in ('request_operation', 'request_phase', 'request_since',
                                                  'retrieval_id', 'set_aside_keys')] == [''] * 5
    families = parse_prometheus(report.render_prometheus(rows, NOW))
    samples = families['incomes_register_certificate_request_since_timestamp_seconds']['samples']
    assert sorted((labels['path'], labels['operation'], labels['phase'], value) for labels, value in samples) == [
        ('/r.pem', 'renew', 'submitted', datetime.datetime(2025, 11, 24, 3, 0, 4, tzinfo=datetime.timezone.utc)
         .timestamp()),
        ('/s.pem', 'renew', 'sent', datetime.datetime(2025, 11, 24, 3, 0, tzinfo=datetime.timezone.utc).timestamp())]
    document = json.loads(report.render_json(rows, report.summarize(rows), NOW))
    by_path = dict((row['path'], row) for row in document['certificates'])
    assert by_path['/r.pem']['request']['retrieval_id'] == 'RID-9' and by_path['/o.pem']['request'] is None
    assert by_path['/r.pem']['set_aside_keys'] == set_aside
    assert document['summary']['in_flight'] == 3
    page = report.render_html(rows, report.summarize(rows), NOW, 'Audit')
    assert 'waits for its certificate (RetrievalId RID-9)' in page
    assert ' · 3 requests in flight (see the notes)' in page


@pytest.mark.parametrize('kwargs, fragment', [
    (dict(renew_before_days=61), '1 to 60'),
    (dict(renew_before_days=0), '1 to 60'),
    (dict(critical_days=-1), 'critical_days'),
    (dict(critical_days=30, renew_before_days=20), 'must not exceed'),
])
def test_thresholds_are_validated(kwargs, fragment):
    with pytest.raises(ReportError, match=fragment):
        report.build_rows({'app1': [info()]}, **kwargs)


@pytest.mark.parametrize('host_results, fragment', [
    (['app1'], 'must be a dict'),
    ({'app1': 'text'}, r'host_results\[app1\] must be a list'),
    ({'app1': ['text']}, r'host_results\[app1\]\[0\]'),
])
def test_unusable_input_names_the_culprit(host_results, fragment):
    with pytest.raises(ReportError, match=fragment):
        report.build_rows(host_results)


def test_without_jmespath_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(report, 'jmespath', None)
    with pytest.raises(ReportError, match='pip install jmespath'):
        report.build_rows({'app1': [info()]})


# ---- order, summary, gate --------------------------------------------------------------------------------------

SAMPLE = {
    'web2': [info(path='/w2.pem', days=40), info(path='/w2-test.pem', days=-5)],
    'web1': [info(path='/w1.pem', days=40), missing('/w1-old.pem'),
             dict(path='/w1-bad.pem', exists=True, readable=False, error='garbage')],
    'db': {'unreachable': True, 'msg': 'timed out'},
    'api': [info(path='/api.pem', days=500, customer_id='7654321-0'),
            info(path='/api-key.pem', days=200, key_matches=False)],
    'batch': [info(path='/b.pem', days=3)],
}


def test_sort_order_undated_first_then_days_remaining_then_host_and_path():
    rows = report.build_rows(SAMPLE)
    assert [(row['host'], row['status'], row['days_remaining']) for row in rows] == [
        ('db', 'unreachable', None),
        ('web1', 'missing', None),
        ('web1', 'unreadable', None),
        ('web2', 'expired', -5),
        ('batch', 'critical', 3),
        ('web1', 'renew', 40),
        ('web2', 'renew', 40),
        ('api', 'key-mismatch', 200),
        ('api', 'ok', 500),
    ]


def test_summary_counts_every_status_and_finds_the_next_expiry():
    summary = report.summarize(report.build_rows(SAMPLE))
    assert summary['total'] == 9 and summary['hosts'] == 5
    assert summary['counts'] == {'expired': 1, 'critical': 1, 'key-mismatch': 1, 'restart-pending': 0, 'renew': 2,
                                 'ok': 1, 'missing': 1, 'unreadable': 1, 'unreachable': 1}
    # The expired one is already counted; the next to expire is the critical one.
    assert summary['soonest_expiry']['host'] == 'batch'
    assert summary['soonest_expiry']['days_remaining'] == 3
    assert summary['soonest_expiry']['expires'] == (NOW + 3 * DAY).strftime('%Y-%m-%d')
    assert summary['in_flight'] == 0


def test_summary_of_nothing_dated():
    summary = report.summarize(report.build_rows({'app1': [missing()]}))
    assert summary['soonest_expiry'] is None
    assert summary['counts']['missing'] == 1 and sum(summary['counts'].values()) == 1


def test_gate_fails_on_broken_certificates_always_and_on_days_only_when_asked():
    rows = report.build_rows(SAMPLE)
    failed, reasons = report.gate(rows)
    assert failed
    assert reasons == ['web1 /w1-old.pem: missing', 'web1 /w1-bad.pem: unreadable', 'web2 /w2-test.pem: expired',
                       'api /api-key.pem: key-mismatch']
    failed, reasons = report.gate(rows, fail_within_days=40)
    assert reasons == ['web1 /w1-old.pem: missing', 'web1 /w1-bad.pem: unreadable', 'web2 /w2-test.pem: expired',
                       'batch /b.pem: expires in 3 days (fail_within_days 40)',
                       'web1 /w1.pem: expires in 40 days (fail_within_days 40)',
                       'web2 /w2.pem: expires in 40 days (fail_within_days 40)',
                       'api /api-key.pem: key-mismatch']
    assert report.gate(report.build_rows({'a': [info(days=40)]}), fail_within_days=39) == (False, [])
    assert report.gate(report.build_rows({'a': [info(days=40)]})) == (False, [])


# ---- renderers -------------------------------------------------------------------------------------------------

NASTY_PATH = '/tmp/<script>alert("x")</script>,\\evil\npath.pem'
NASTY = {
    'edge"<b>': [info(path=NASTY_PATH, days=10, organisation='Evil & "Co" <b>Oy</b>', key_matches=False)],
    'app1': [info(path='/etc/ir/cert.pem', days=30, environment='PRODUCTION'), missing('/etc/ir/old.pem')],
}


def test_csv_round_trip():
    rows = report.build_rows(NASTY)
    parsed = list(csv.DictReader(io.StringIO(report.render_csv(rows), newline='')))
    assert [record['path'] for record in parsed] == [row['path'] for row in rows]
    assert tuple(parsed[0]) == report.CSV_COLUMNS
    nasty = [record for record in parsed if record['path'] == NASTY_PATH][0]
    assert nasty['organisation'] == 'Evil & "Co" <b>Oy</b>'
    assert nasty['status'] == 'key-mismatch' and nasty['days_remaining'] == '10'
    gone = [record for record in parsed if record['status'] == 'missing'][0]
    assert gone['days_remaining'] == '' and gone['customer_id'] == '' and gone['note'] == 'No certificate at /etc/ir/old.pem'


def test_csv_cells_from_the_hosts_never_start_a_spreadsheet_formula():
    entry = info(path='+cmd|/C calc!A0', days=-3, organisation='@SUM(1+1)*cmd|"/C calc"!A0')
    hostile = {'=HYPERLINK("http://x")': [entry]}
    rows = report.build_rows(hostile)
    parsed = list(csv.DictReader(io.StringIO(report.render_csv(rows), newline='')))[0]
    assert parsed['host'] == '\'=HYPERLINK("http://x")'
    assert parsed['path'] == "'+cmd|/C calc!A0"
    assert parsed['organisation'].startswith("'@")
    # A number stays a number, also a negative one.
    assert parsed['days_remaining'] == '-3'
    # The other formats keep the values as they are.
    assert report.build_rows(hostile)[0]['path'] == '+cmd|/C calc!A0'


def test_json_document():
    rows = report.build_rows(NASTY)
    summary = report.summarize(rows)
    document = json.loads(report.render_json(rows, summary, NOW))
    assert document['generated_at'] == '2025-11-25T12:00:00Z'
    assert document['summary'] == summary
    assert document['certificates'] == rows


_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)",?')


def parse_prometheus(text):
    """{name: {'help':, 'type':, 'samples': [(labels dict, float)]}}, asserting the exposition format's rules."""
    assert text.endswith('\n')
    families = {}
    current = None
    for line in text.splitlines():
        if line.startswith('# HELP ') or line.startswith('# TYPE '):
            kind, name, rest = line[2:6], line.split(' ')[2], line.split(' ', 3)[3]
            if name != current:
                assert name not in families, 'family %s is split' % name
                families[name] = {'samples': []}
                current = name
            families[name][kind.lower()] = rest
            continue
        match = _SAMPLE_RE.match(line)
        assert match, line
        name, label_text, value = match.groups()
        assert name == current, 'sample of %s outside its family' % name
        labels = {}
        consumed = 0
        for label in _LABEL_RE.finditer(label_text or ''):
            assert label.start() == consumed
            consumed = label.end()
            labels[label.group(1)] = re.sub(r'\\(.)', lambda m: {'n': '\n'}.get(m.group(1), m.group(1)), label.group(2))
        assert consumed == len(label_text or '')
        families[name]['samples'].append((labels, float(value)))
    return families


def test_prometheus_textfile_parses_back():
    rows = report.build_rows(NASTY)
    families = parse_prometheus(report.render_prometheus(rows, NOW))
    assert set(families) == {
        'incomes_register_certificate_expiry_timestamp_seconds', 'incomes_register_certificate_days_remaining',
        'incomes_register_certificate_replaced_days_remaining', 'incomes_register_certificate_status',
        'incomes_register_certificate_request_since_timestamp_seconds', 'incomes_register_audit_timestamp_seconds'}
    assert all(family['type'] == 'gauge' and family['help'] for family in families.values())
    assert families['incomes_register_audit_timestamp_seconds']['samples'] == [({}, NOW.timestamp())]

    expiry = families['incomes_register_certificate_expiry_timestamp_seconds']['samples']
    by_path = dict((labels['path'], (labels, value)) for labels, value in expiry)
    # The label value survived quotes, backslash and newline.
    labels, value = by_path[NASTY_PATH]
    assert labels == {'host': 'edge"<b>', 'customer_id': '1234567-8', 'path': NASTY_PATH, 'environment': 'TEST',
                      'serial': '1A2B3C'}
    assert value == (NOW + 10 * DAY + datetime.timedelta(hours=5)).timestamp()
    assert set(by_path) == {NASTY_PATH, '/etc/ir/cert.pem'}

    days = dict((labels['path'], value) for labels, value in
                families['incomes_register_certificate_days_remaining']['samples'])
    assert days == {NASTY_PATH: 10, '/etc/ir/cert.pem': 30}

    statuses = dict((labels['path'], (labels['status'], value)) for labels, value in
                    families['incomes_register_certificate_status']['samples'])
    # The missing certificate has a status and nothing else.
    assert statuses == {'/etc/ir/old.pem': ('missing', 1), NASTY_PATH: ('key-mismatch', 1),
                        '/etc/ir/cert.pem': ('renew', 1)}


class TableParser(html.parser.HTMLParser):
    """Collects the body rows of the certificates table (class, data attributes and cell texts), the rows of the
    grouped views, the badges, the scripts' texts, the SVG's texts (titles included) and every tag seen."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self.badges, self.tags, self.headers, self.scripts, self.svg_texts = [], [], [], [], [], []
        self.group_rows = []
        self._table = None
        self._in_tbody = False
        self._cell = None
        self._badge = None
        self._th = None
        self._script = None
        self._svg_text = None

    def _target(self):
        return self.rows if self._table == 'certificates' else self.group_rows

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == 'table':
            self._table = attrs.get('id') or attrs.get('class')
        elif tag == 'tbody':
            self._in_tbody = True
        elif tag == 'tr' and self._in_tbody:
            self._target().append({'class': attrs.get('class'), 'cells': [], 'labels': [], 'attrs': attrs})
        elif tag == 'td' and self._in_tbody:
            self._cell = []
            self._target()[-1]['labels'].append(attrs.get('data-label'))
        elif tag == 'th' and self._table == 'certificates':
            self._th = []
        elif tag == 'li' and 'badge' in (attrs.get('class') or ''):
            self._badge = [attrs.get('class', '')]
        elif tag == 'script':
            self._script = []
        elif tag in ('title', 'text', 'desc') and any(seen == 'svg' for seen, dummy in self.tags):
            self._svg_text = []

    def handle_endtag(self, tag):
        if tag == 'table':
            self._table = None
        elif tag == 'tbody':
            self._in_tbody = False
        elif tag == 'td' and self._cell is not None:
            self._target()[-1]['cells'].append(''.join(self._cell))
            self._cell = None
        elif tag == 'th' and self._th is not None:
            self.headers.append(''.join(self._th))
            self._th = None
        elif tag == 'li' and self._badge is not None:
            self.badges.append((self._badge[0], ''.join(self._badge[1:]).strip()))
            self._badge = None
        elif tag == 'script' and self._script is not None:
            self.scripts.append(''.join(self._script))
            self._script = None
        elif tag in ('title', 'text', 'desc') and self._svg_text is not None:
            self.svg_texts.append(''.join(self._svg_text))
            self._svg_text = None

    def handle_data(self, data):
        for sink in (self._cell, self._th, self._badge, self._script, self._svg_text):
            if sink is not None:
                sink.append(data)


def parse_html(text):
    parser = TableParser()
    parser.feed(text)
    parser.close()
    return parser


def test_html_table_rows_follow_the_report_order_with_status_classes():
    rows = report.build_rows(SAMPLE)
    page = parse_html(report.render_html(rows, report.summarize(rows), NOW, 'Audit'))
    assert page.headers == ['Host', 'Customer', 'Organisation', 'Environment', 'Days remaining', 'Expires', 'Status',
                            'Serial', 'Issuer', 'Path', 'Note']
    assert [r['class'] for r in page.rows] == ['s-%s' % row['status'] for row in rows]
    assert [r['cells'][0] for r in page.rows] == [row['host'] for row in rows]
    expected_days = ['' if row['days_remaining'] is None else str(row['days_remaining']) for row in rows]
    assert [r['cells'][4] for r in page.rows] == expected_days
    critical = page.rows[4]['cells']
    assert critical[5] == (NOW + 3 * DAY).strftime('%Y-%m-%d')
    assert critical[6] == 'critical'
    assert critical[8] == 'Data Providers Test Issuing CA v1'
    assert critical[9] == '/b.pem'
    # Every cell is labelled for the phone layout.
    assert all(r['labels'] == page.headers for r in page.rows)
    assert ('badge s-expired', '1 expired') in page.badges
    assert ('badge s-unreachable', '1 unreachable') in page.badges


BREAKOUT = '</script><script>alert(1)</script>'
HOSTILE = dict(NASTY, **{
    '</script><svg onload=alert(2)>': [
        info(path='/etc/ir/a.pem', days=20, customer_id=BREAKOUT, environment='"><img src=x onerror=alert(3)>'),
        info(path='/etc/ir/b.pem', days=-2, customer_id="'&<!--", organisation=BREAKOUT)],
})


def test_html_escapes_everything_and_loads_nothing_from_outside():
    rows = report.build_rows(HOSTILE)
    text = report.render_html(rows, report.summarize(rows), NOW, 'Audit <script>x</script> & co')
    # The page's one script is the constant, whole: no host text closed it early or added another.
    assert text.lower().count('<script') == 1 and text.lower().count('</script>') == 1
    page = parse_html(text)
    assert page.scripts == [expiry_html.SCRIPT]
    assert '<b>Oy</b>' not in text and 'edge"<b>' not in text and '<svg onload' not in text
    cells = [r['cells'] for r in page.rows]
    nasty = [c for c in cells if c[0] == 'edge"<b>'][0]
    assert nasty[9] == NASTY_PATH
    assert nasty[2] == 'Evil & "Co" <b>Oy</b>'
    hostile = [r for r in page.rows if r['cells'][9] == '/etc/ir/a.pem'][0]
    assert hostile['cells'][1] == BREAKOUT and hostile['attrs']['data-customer'] == BREAKOUT
    assert hostile['attrs']['data-environment'] == '"><img src=x onerror=alert(3)>'
    assert hostile['attrs']['data-host'] == '</script><svg onload=alert(2)>'
    # The same text in the grouped views, the filter options and the timeline's tooltips, as text.
    assert any(r['cells'][0] == BREAKOUT for r in page.group_rows)
    assert ('option', {'value': BREAKOUT}) in page.tags
    assert any('</script><svg onload=alert(2)> ' + BREAKOUT in title for title in page.svg_texts)
    assert ('title', {}) in page.tags
    for tag, attrs in page.tags:
        assert tag not in ('link', 'img', 'iframe', 'object', 'embed', 'base', 'image', 'use', 'foreignobject')
        assert not any(name == 'src' or name.startswith('on') for name in attrs), (tag, attrs)
        # Links only move within the page: they set the table's filter.
        assert attrs.get('href', '#').startswith('#'), (tag, attrs)
    assert [a['href'] for t, a in page.tags if t == 'a' and 'svg' in a['href']] == [
        '#host=%3C%2Fscript%3E%3Csvg%20onload%3Dalert%282%29%3E']
    assert 'url(' not in text and '@import' not in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    # Even a text that got through could neither load nor run anything but the page's own script.
    policy = [attrs['content'] for tag, attrs in page.tags if attrs.get('http-equiv') == 'Content-Security-Policy']
    digest = base64.b64encode(hashlib.sha256(expiry_html.SCRIPT.encode('utf-8')).digest()).decode()
    assert policy == ["default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-%s'; "
                      "base-uri 'none'; form-action 'none'" % digest]


def test_an_inline_script_with_a_closing_tag_is_refused():
    with pytest.raises(ValueError):
        report_formats.page('t', '', 'good', 'h', '', '', '', script='x = "</script>";')


def test_html_of_an_empty_inventory():
    text = report.render_html([], report.summarize([]), NOW, 'Audit')
    page = parse_html(text)
    assert page.rows == [] and page.group_rows == [] and page.scripts == []
    assert 'No certificates were reported.' in text
    assert "script-src 'none'" in html.unescape(text) and '<svg' not in text


@pytest.mark.parametrize('fmt', ['html', 'json', 'prometheus', 'csv'])
def test_comparable_ignores_only_the_generation_time(fmt):
    rows = report.build_rows(SAMPLE)
    summary = report.summarize(rows)
    later = NOW + datetime.timedelta(hours=3, seconds=7)

    def render(rows, moment):
        return {
            'html': lambda: report.render_html(rows, report.summarize(rows), moment, 'Audit'),
            'json': lambda: report.render_json(rows, summary, moment),
            'prometheus': lambda: report.render_prometheus(rows, moment),
            'csv': lambda: report.render_csv(rows),
        }[fmt]()

    first, second = render(rows, NOW), render(rows, later)
    if fmt != 'csv':
        assert first != second
    assert report.comparable(fmt, first) == report.comparable(fmt, second)
    changed = [dict(row) for row in rows]
    changed[-1]['days_remaining'] -= 1
    assert report.comparable(fmt, render(changed, later)) != report.comparable(fmt, first)


# ---- the page's timeline and grouped views ------------------------------------------------------------------------

def test_timeline_buckets_weeks_by_days_remaining_and_sets_aside_the_rest():
    results = {'a': [info(path='/%d.pem' % days, days=days) for days in (0, 6, 7, 13, 363, 364, 900, -1)]
               + [missing('/gone.pem'), info(path='/wrong-key.pem', days=8, key_matches=False)],
               'b': {'unreachable': True, 'msg': 'down'}}
    rows = report.build_rows(results)
    line = report.timeline(rows)
    assert len(line['weeks']) == 52
    paths = [[row['path'] for row in week] for week in line['weeks']]
    assert paths[0] == ['/0.pem', '/6.pem'] and paths[1] == ['/7.pem', '/wrong-key.pem', '/13.pem']
    assert paths[51] == ['/363.pem'] and not any(paths[2:51])
    assert [row['path'] for row in line['later']] == ['/364.pem', '/900.pem']
    assert [row['path'] for row in line['expired']] == ['/-1.pem']
    assert [row['path'] for row in line['undated']['missing']] == ['/gone.pem']
    assert [row['host'] for row in line['undated']['unreachable']] == ['b'] and line['undated']['unreadable'] == []
    # Every row in exactly one place.
    placed = sum(map(len, line['weeks'])) + len(line['later']) + len(line['expired']) + sum(
        map(len, line['undated'].values()))
    assert placed == len(rows)
    assert [len(week) for week in report.timeline(rows, weeks=2)['weeks']] == [2, 3]


@pytest.mark.parametrize('top, step', [(0, 1), (1, 1), (4, 1), (5, 2), (8, 2), (9, 5), (20, 5), (21, 10), (41, 20),
                                       (400, 100), (401, 200)])
def test_tick_step(top, step):
    assert expiry_html.tick_step(top) == step


def test_groups_by_customer_and_by_host():
    results = {
        'web1': [info(path='/a.pem', days=300, customer_id='111', organisation='One Oy', environment='PRODUCTION'),
                 info(path='/b.pem', days=30, customer_id='222', organisation='Two Oy', environment='TEST')],
        'web2': [info(path='/a.pem', days=-1, customer_id='111', organisation='One Oy', environment='TEST'),
                 missing('/c.pem')],
        'web3': [info(path='/a.pem', days=500, customer_id='333', organisation='Three Oy')],
    }
    rows = report.build_rows(results)
    customers = report.groups(rows, 'customer_id')
    # Worst first (expired, then missing, then renew, then ok), ties by the soonest expiry.
    assert [group['name'] for group in customers] == ['111', None, '222', '333']
    first = customers[0]
    assert first['worst'] == 'expired' and first['counts'] == {'expired': 1, 'ok': 1}
    assert first['hosts'] == ['web1', 'web2'] and first['environments'] == ['PRODUCTION', 'TEST']
    assert first['organisations'] == ['One Oy'] and first['soonest']['days_remaining'] == 300
    assert [row['path'] for row in first['rows']] == ['/a.pem', '/a.pem']
    assert customers[1]['soonest'] is None and customers[1]['hosts'] == ['web2']
    hosts = report.groups(rows, 'host')
    assert [(group['name'], group['worst']) for group in hosts] == [
        ('web2', 'expired'), ('web1', 'renew'), ('web3', 'ok')]
    assert hosts[0]['customers'] == ['111'] and hosts[1]['customers'] == ['111', '222']
    assert hosts[1]['soonest']['path'] == '/b.pem'
    assert report.status_counts(rows) == {'expired': 1, 'renew': 1, 'ok': 2, 'missing': 1}


def test_html_groups_link_to_the_filtered_table():
    rows = report.build_rows(SAMPLE)
    text = report.render_html(rows, report.summarize(rows), NOW, 'Audit')
    page = parse_html(text)
    summaries = [cells['cells'][0] for cells in page.group_rows]
    # By customer (the customer without an ID is its own group), then by host.
    assert summaries == ['1234567-8', 'no customer ID', '7654321-0', 'web2', 'batch', 'api', 'web1', 'db']
    assert ('a', {'href': '#customer=1234567-8'}) in page.tags and ('a', {'href': '#host=web1'}) in page.tags
    assert ('a', {'href': '#environment=TEST'}) in page.tags
    # A status badge links to the table filtered by it, unless there is nothing to show.
    assert ('a', {'href': '#status=expired'}) in page.tags and ('a', {'href': '#status=critical'}) in page.tags
    assert ('badge s-expired', '1 expired') in page.badges
    zero = parse_html(report.render_html(report.build_rows({'a': [info()]}), report.summarize(
        report.build_rows({'a': [info()]})), NOW, 'Audit'))
    assert [attrs['href'] for tag, attrs in zero.tags if tag == 'a' and 'status' in attrs['href']] == ['#status=ok']
    web1 = page.group_rows[6]
    assert web1['labels'] == ['Host', 'Customers', 'Environments', 'Certificates', 'Statuses', 'Next expiry']
    assert web1['cells'][3:] == ['3', '1 renew 1 missing 1 unreadable',
                                 '%s (40 days)' % (NOW + 40 * DAY).strftime('%Y-%m-%d')]
    # The filters offer what occurs; they are hidden until the script shows them.
    assert ('form', {'id': 'filters', 'class': 'filters', 'hidden': None}) in page.tags
    statuses = [attrs['value'] for tag, attrs in page.tags if tag == 'option'][:10]
    assert statuses == ['', 'expired', 'critical', 'key-mismatch', 'renew', 'ok', 'missing', 'unreadable',
                        'unreachable', '']
    row = page.rows[0]['attrs']
    assert (row['data-status'], row['data-host'], row['data-rank']) == ('unreachable', 'db', '6')


def test_the_timeline_svg():
    results = {'web%d' % index: [info(path='/%d.pem' % days, days=days) for days in (1, 2, 20, 100, 400)]
               for index in range(3)}
    results['web0'].append(info(path='/gone.pem', days=-4))
    results['web1'].append(missing('/nothing.pem'))
    rows = report.build_rows(results)
    svg = expiry_html.timeline_svg(rows, NOW.date(), critical_days=14, renew_before_days=60)
    page = parse_html(svg)
    bars = [attrs for tag, attrs in page.tags if tag == 'rect' and 'bar' in attrs.get('class', '')]
    # Week 0 holds six critical certificates (the tallest bar, the full 140 px), weeks 2 and 14 three each.
    assert [(attrs['class'], attrs['x'], attrs['height']) for attrs in bars] == [
        ('bar s-critical', '172', '140.0'), ('bar s-renew', '202', '70.0'), ('bar s-ok', '382', '70.0')]
    bands = [(attrs['class'], attrs['width']) for tag, attrs in page.tags if tag == 'rect' and 'band' in attrs.get('class', '')]
    assert bands == [('band s-renew', '128.6'), ('band s-critical', '32.1')]
    texts = page.svg_texts
    assert texts[0] == 'Certificates expiring per week'
    assert texts[1] == ('12 certificates expiring within 52 weeks from 2025-11-25, at most 6 in a week; 1 expired; '
                        '1 without a date; 3 later.')
    assert 'renewal window: 60 days' in texts and 'critical: 14 days' in texts and '+3 later' in texts
    # The first of December is too close to today's label for its own; November 2026 is in range.
    assert '25 Nov' in texts and 'Jan 2026' in texts and 'Dec' not in texts and 'Nov' in texts
    # A bar's tooltip names its certificates in report order.
    assert ('6 certificates expiring 2025-11-25 to 2025-12-01 (6 critical): web0 1234567-8, web1 1234567-8, '
            'web2 1234567-8, web0 1234567-8, web1 1234567-8, web2 1234567-8') in texts
    assert '1 certificate expired: web0 1234567-8' in texts and '1 certificate missing: web1 /nothing.pem' in texts
    assert ['0', '2', '4', '6'] == [text for text in texts if text.isdigit()]
    assert [attrs['href'] for tag, attrs in page.tags if tag == 'a'] == ['#status=expired', '#status=missing']
    # critical_days may be as large as the window: then the whole window is critical, and no wider.
    wide = parse_html(expiry_html.timeline_svg(rows, NOW.date(), critical_days=30, renew_before_days=30))
    assert [(attrs['class'], attrs.get('width')) for tag, attrs in wide.tags if 'band' in attrs.get('class', '')] == [
        ('band s-renew', '64.3'), ('band-label s-renew', None), ('band s-critical', '64.3'),
        ('band-label s-critical', None)]
    empty = parse_html(expiry_html.timeline_svg(report.build_rows({'a': [missing()]}), NOW.date()))
    assert 'Nothing expires in the next 52 weeks' in empty.svg_texts and '0 expired' in ''.join(empty.svg_texts)


def test_the_page_of_a_day_is_the_same_all_day_and_changes_the_next():
    rows = report.build_rows(SAMPLE)
    summary = report.summarize(rows)

    def page(moment):
        return report.comparable('html', report.render_html(rows, summary, moment, 'Audit'))
    morning = NOW.replace(hour=0, minute=0, second=1)
    assert page(morning) == page(NOW.replace(hour=23, minute=59, second=59))
    assert page(morning) != page(morning + DAY)


def test_a_host_with_many_certificates_has_a_row_and_a_series_per_certificate_labelled_with_its_environment():
    results = {'app1': [info(path='/etc/ir/111-production.pem', days=200, customer_id='111', environment='PRODUCTION'),
                        info(path='/etc/ir/111-test.pem', days=30, customer_id='111', environment='TEST'),
                        info(path='/etc/ir/222-test.pem', days=90, customer_id='222', environment='TEST')]}
    rows = report.build_rows(results)
    assert [(row['customer_id'], row['environment'], row['status']) for row in rows] == [
        ('111', 'TEST', 'renew'), ('222', 'TEST', 'ok'), ('111', 'PRODUCTION', 'ok')]
    families = parse_prometheus(report.render_prometheus(rows, NOW))
    labels = [labels for labels, value in families['incomes_register_certificate_days_remaining']['samples']]
    assert [(item['host'], item['customer_id'], item['environment']) for item in labels] == [
        ('app1', '111', 'TEST'), ('app1', '222', 'TEST'), ('app1', '111', 'PRODUCTION')]
    page = parse_html(report.render_html(rows, report.summarize(rows), NOW, 'Audit'))
    assert [row['cells'][0] for row in page.group_rows] == ['111', '222', 'app1']
    assert page.group_rows[0]['cells'][2] == 'PRODUCTION, TEST'


def test_a_tooltip_names_a_few_certificates_and_counts_the_rest():
    rows = report.build_rows({'host%02d' % index: [info(days=100)] for index in range(9)})
    texts = parse_html(expiry_html.timeline_svg(rows, NOW.date())).svg_texts
    assert ('9 certificates expiring 2026-03-03 to 2026-03-09 (9 ok): host00 1234567-8, host01 1234567-8, '
            'host02 1234567-8, host03 1234567-8, host04 1234567-8, host05 1234567-8, and 3 more') in texts


class _AnsibleTaggedStr(str):
    """What ansible-core 2.19 hands a plugin for a templated string."""


@pytest.mark.parametrize('host_results, message', [
    (_AnsibleTaggedStr('app1'), 'host_results must be a dict mapping each host to its certificate_info results, '
                                'not a string'),
    ({'app1': 7}, r'host_results\[app1\] must be a list of certificate_info results or a task result, not a number'),
    ({'app1': [None]}, r'host_results\[app1\]\[0\] must be a certificate_info result \(a dict\), not null'),
])
def test_a_wrong_shape_is_named_as_the_playbook_author_knows_it(host_results, message):
    with pytest.raises(ReportError, match='^%s$' % message):
        report.build_rows(host_results)
