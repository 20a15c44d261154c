import datetime
import json

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import renewal_report as report
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.renewal_outcome import renewal_outcome


def certificate(path, customer='1234567-8', environment='TEST'):
    return {'certificate_path': path, 'customer_id': customer, 'customer_name': 'Example Oy',
            'environment': environment, 'restart_services': [], 'reload_services': []}


VALID = {'action': 'none', 'msg': 'The certificate is valid.', 'certificate': {'not_after': '2027-01-01', 'days_remaining': 400}}
EXPIRED = {'failed': True, 'error_type': 'CertificateExpired', 'msg': 'The certificate expired on 2026-11-01.'}


def outcomes():
    """What the role records: one certificate on app1, two on app2 (one expired), nothing on app3."""
    return report.outcomes({
        'app1': renewal_outcome([certificate('/etc/ir/c.pem')], {'results': [VALID]}, {}, {}, 'app1'),
        'app2': renewal_outcome([certificate('/etc/ir/a.pem'), certificate('/etc/ir/b.pem', '7654321-0', 'PRODUCTION')],
                                {'results': [VALID, EXPIRED]}, {}, {}, 'app2'),
        'app3': {},
    })


def test_a_host_without_an_outcome_is_unreachable_and_every_certificate_is_a_row():
    host_outcomes = outcomes()
    assert host_outcomes['app3'] == report.NO_OUTCOME
    assert report.outcomes({'app4': None})['app4']['status'] == 'unreachable'
    rows = report.certificate_rows(host_outcomes)
    assert [(row['host'], row['status']) for row in rows] == [
        ('app1', 'ok'), ('app2', 'ok'), ('app2', 'expired'), ('app3', 'unreachable')]


def test_a_line_per_certificate_and_the_ones_that_need_attention():
    rows = report.certificate_rows(outcomes())
    assert [report.line(row) for row in rows] == [
        'OK app1 1234567-8 TEST /etc/ir/c.pem The certificate is valid.',
        'OK app2 1234567-8 TEST /etc/ir/a.pem The certificate is valid.',
        'EXPIRED app2 7654321-0 PRODUCTION /etc/ir/b.pem The certificate expired on 2026-11-01.',
        'UNREACHABLE app3    ' + report.NO_OUTCOME['message']]
    named = report.attention(rows)
    assert named == ['app2=expired (7654321-0 PRODUCTION /etc/ir/b.pem)', 'app3=unreachable']
    assert report.attention_message(named) == (
        '2 certificate(s) need attention: app2=expired (7654321-0 PRODUCTION /etc/ir/b.pem); app3=unreachable')


def test_a_value_the_role_left_empty_is_no_word_in_a_line():
    row = {'host': 'app5', 'status': 'failed', 'customer_id': None, 'environment': None, 'path': '',
           'message': 'renewal_customer_id is not set'}
    assert report.line(row) == 'FAILED app5    renewal_customer_id is not set'
    assert report.attention([row]) == ['app5=failed']


def test_the_document_is_every_hosts_outcome_as_sorted_indented_json():
    host_outcomes = outcomes()
    text = report.document(host_outcomes)
    assert json.loads(text) == host_outcomes
    assert text.endswith('}\n') and text.startswith('{\n    "app1": {\n')
    assert list(json.loads(text)['app2']) == sorted(host_outcomes['app2'])


def test_a_host_whose_outcome_lists_no_certificate_is_still_a_row_that_needs_attention():
    """As the role's rescue records a host with no certificate entries; a hand-set outcome's odd rows are left out."""
    failed = {'host': 'app6', 'status': 'failed', 'customer_id': '', 'path': '', 'message': 'renewal failed',
              'certificates': []}
    odd = {'status': 'ok', 'certificates': ['not a row', {'status': 'ok', 'path': '/c.pem'}]}
    rows = report.certificate_rows(report.outcomes({'app6': failed, 'app7': odd, 'app8': {'certificates': None}}))
    assert [(row['host'], row.get('status'), row.get('path')) for row in rows] == [
        ('app6', 'failed', ''), ('app7', 'ok', '/c.pem'), ('app8', None, None)]
    assert report.attention(rows) == ['app6=failed', 'app8=None']


def test_a_value_json_has_no_type_for_is_written_as_its_text():
    moment = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.timezone.utc)
    assert json.loads(report.document({'app1': {'status': 'ok', 'checked': moment}})) == {
        'app1': {'status': 'ok', 'checked': '2026-12-03 12:00:00+00:00'}}
