import csv
import datetime
import io
import json

import pytest

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import preflight_report as report
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.expiry_report import ReportError

GENERATED = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.timezone.utc)


def checks(*triples):
    return {'checks': [dict(name=name, status=status, message=message) for name, status, message in triples],
            'passed': all(status != 'fail' for dummy, status, dummy2 in triples)}


HOSTS = {
    'app2': dict(checks(('reachability', 'ok', 'Reached it.'),
                        ('clock_skew', 'fail', "This host's clock is 600 seconds behind the service's.")),
                 failed=True, msg='Preflight failed'),
    'app1': checks(('reachability', 'ok', 'Reached it.'), ('tls_ca_path', 'skipped', 'Not set.')),
    'app3': {'unreachable': True, 'msg': 'Failed to connect to the host via ssh'},
    'app4': {'failed': True, 'msg': 'Unsupported parameters for (certificate_preflight) module: colour'},
    '=evil': checks(('certificate', 'warn', '=HYPERLINK("http://x")'), ('python_lxml', 'fail', '<script>x"\n</script>')),
}


def test_rows_keep_host_order_and_check_order_and_mark_hosts_without_checks():
    rows = report.build_rows(HOSTS)
    assert [(row['host'], row['check'], row['status']) for row in rows] == [
        ('=evil', 'certificate', 'warn'), ('=evil', 'python_lxml', 'fail'),
        ('app1', 'reachability', 'ok'), ('app1', 'tls_ca_path', 'skipped'),
        ('app2', 'reachability', 'ok'), ('app2', 'clock_skew', 'fail'),
        ('app3', 'host', 'unreachable'), ('app4', 'preflight', 'fail')]
    summary = report.summarize(rows)
    assert summary['failed_hosts'] == ['=evil', 'app2', 'app3', 'app4']
    assert summary['counts'] == {'fail': 3, 'unreachable': 1, 'warn': 1, 'ok': 2, 'skipped': 1}
    failed, reasons = report.gate(rows)
    assert failed is True
    assert "app2: clock_skew: This host's clock is 600 seconds behind the service's." in reasons
    assert 'app3: host: Failed to connect to the host via ssh' in reasons
    assert 'app4: preflight: Unsupported parameters for (certificate_preflight) module: colour' in reasons
    assert report.gate(report.build_rows({'app1': HOSTS['app1']})) == (False, [])


@pytest.mark.parametrize('host_results,text', [
    ('nope', 'host_results must be a dict'),
    ({'a': []}, 'host_results[a] must be a certificate_preflight result'),
    ({'a': {'checks': [{'name': 'x', 'status': 'fine'}]}}, 'host_results[a].checks[0] must be a check'),
    ({'a': {'changed': False}}, 'host_results[a] holds neither checks'),
])
def test_unusable_input_is_refused_with_where(host_results, text):
    with pytest.raises(ReportError, match=text.replace('[', r'\[').replace('(', r'\(')):
        report.build_rows(host_results)


def test_csv_neutralises_formulas_and_json_keeps_every_value():
    rows = report.build_rows(HOSTS)
    table = list(csv.DictReader(io.StringIO(report.render_csv(rows))))
    assert table[0] == {'host': "'=evil", 'certificate': '', 'check': 'certificate', 'status': 'warn',
                        'message': '\'=HYPERLINK("http://x")'}
    document = json.loads(report.render_json(rows, report.summarize(rows), GENERATED))
    assert document['generated_at'] == '2026-12-01T10:00:00Z'
    assert document['checks'] == rows and document['checks'][0]['host'] == '=evil'


def test_prometheus_has_a_series_per_host_and_check_with_escaped_labels():
    rows = report.build_rows(HOSTS)
    text = report.render_prometheus(rows, GENERATED)
    samples = [line for line in text.splitlines() if line.startswith('incomes_register_preflight_check_passed{')]
    assert len(samples) == len(rows)
    assert 'incomes_register_preflight_check_passed{host="app2",check="clock_skew",status="fail"} 0' in samples
    assert 'incomes_register_preflight_check_passed{host="app1",check="tls_ca_path",status="skipped"} 1' in samples
    assert 'incomes_register_preflight_check_passed{host="app3",check="host",status="unreachable"} 0' in samples
    assert text.endswith('incomes_register_preflight_timestamp_seconds %d\n' % GENERATED.timestamp())


def test_html_names_every_host_and_failed_check_and_escapes_what_the_hosts_sent():
    rows = report.build_rows(HOSTS)
    page = report.render_html(rows, report.summarize(rows), GENERATED, 'Preflight <TEST>')
    for host in ('=evil', 'app1', 'app2', 'app3', 'app4'):
        assert '<td class="host" data-label="Host">%s</td>' % host in page
    assert page.count('<tr class="s-fail">') == 3 and page.count('<tr class="s-unreachable">') == 1
    assert '<script>' not in page and '&lt;script&gt;x&quot;' in page
    assert '<title>Preflight &lt;TEST&gt;</title>' in page
    assert '4 of 5 hosts failed the preflight: =evil, app2, app3, app4' in page
    assert '.s-fail{' in page and '--expired' in page


# ---- several certificates on a host ---------------------------------------------------------------------------

def certificate(customer_id, environment, path, *triples, **extra):
    return dict(checks(*triples), customer_id=customer_id, environment=environment, path=path, endpoint=None,
                **extra)


MANY = {
    'firm': {'failed': True, 'msg': 'Preflight failed for 2 of 3 certificates', 'results': [
        certificate('1234567-8', 'TEST', '/etc/ir/test.pem', ('reachability', 'ok', 'Reached it.')),
        dict(certificate('1234567-8', 'PRODUCTION', None, ('reachability', 'fail', 'Refused.')), failed=True,
             endpoint='https://127.0.0.1:9/x'),
        {'failed': True, 'customer_id': None, 'environment': 'TEST', 'path': None, 'endpoint': None, 'checks': [],
         'msg': 'This certificate has no customer_id'},
    ]},
    'single': certificate('7654321-0', 'TEST', '/etc/ir/cert.pem', ('signed_answer', 'warn', 'A SOAP fault.')),
    'nothing': {'changed': False, 'passed': True, 'results': []},
}


def test_each_certificate_of_a_host_has_its_rows_named_by_customer_environment_and_path_or_endpoint():
    rows = report.build_rows(MANY)
    assert [(row['host'], row['certificate'], row['check'], row['status']) for row in rows] == [
        ('firm', '1234567-8 TEST /etc/ir/test.pem', 'reachability', 'ok'),
        ('firm', '1234567-8 PRODUCTION https://127.0.0.1:9/x', 'reachability', 'fail'),
        ('firm', 'TEST', 'preflight', 'fail'),
        ('nothing', '', 'preflight', 'skipped'),
        ('single', '7654321-0 TEST /etc/ir/cert.pem', 'signed_answer', 'warn')]
    failed, reasons = report.gate(rows)
    assert reasons == ['firm (1234567-8 PRODUCTION https://127.0.0.1:9/x): reachability: Refused.',
                       'firm (TEST): preflight: This certificate has no customer_id']
    assert report.summarize(rows)['failed_hosts'] == ['firm']
    text = report.render_prometheus(rows, GENERATED)
    assert ('incomes_register_preflight_check_passed{host="firm",certificate="1234567-8 TEST /etc/ir/test.pem",'
            'check="reachability",status="ok"} 1') in text
    assert 'incomes_register_preflight_check_passed{host="nothing",check="preflight",status="skipped"} 1' in text
    table = list(csv.DictReader(io.StringIO(report.render_csv(rows))))
    assert list(table[0]) == ['host', 'certificate', 'check', 'status', 'message']
    page = report.render_html(rows, report.summarize(rows), GENERATED, 'Preflight')
    assert '<th>Host</th><th>Certificate</th><th>Check</th>' in page
    assert '<td class="certificate" data-label="Certificate">1234567-8 TEST /etc/ir/test.pem</td>' in page


def test_a_loop_over_the_module_reads_as_the_certificates_option_does():
    looped = {'failed': True, 'msg': 'One or more items failed', 'results': [
        dict(certificate('1234567-8', 'TEST', None, ('clock_skew', 'ok', 'Fine.')), item={'customer_id': 'x'}),
        {'failed': True, 'msg': 'Unsupported parameters for (certificate_preflight) module: colour',
         'item': {'customer_id': 'y'}},
        {'skipped': True, 'item': {}},
    ]}
    rows = report.build_rows({'app': looped})
    assert [(row['certificate'], row['check'], row['status']) for row in rows] == [
        ('1234567-8 TEST', 'clock_skew', 'ok'), ('', 'preflight', 'fail'), ('', 'preflight', 'skipped')]


def test_a_result_among_several_that_is_not_one_is_refused_with_where():
    with pytest.raises(ReportError, match=r'host_results\[a\]\.results\[1\] must be a certificate_preflight result'):
        report.build_rows({'a': {'results': [MANY['single'], 'nope']}})
    with pytest.raises(ReportError, match=r'host_results\[a\]\.results\[0\] holds neither checks'):
        report.build_rows({'a': {'results': [{'changed': False}]}})
