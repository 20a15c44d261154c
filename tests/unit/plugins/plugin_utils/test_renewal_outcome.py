from ansible_collections.incomes_register.certificates.plugins.plugin_utils.install_plan import install_plan
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.renewal_outcome import renewal_outcome


def certificate(path, customer='1234567-8', **extra):
    return dict({'certificate_path': path, 'customer_id': customer, 'customer_name': 'Example Oy',
                 'environment': 'TEST', 'restart_services': ['payroll'], 'reload_services': []}, **extra)


VALID = {'action': 'none', 'msg': 'The certificate is valid.', 'certificate': {'not_after': '2027-01-01', 'days_remaining': 400}}


def test_a_valid_certificate_is_the_hosts_line():
    summary = renewal_outcome([certificate('/c.pem')], {'results': [VALID]}, {}, {'skipped': True}, 'h1')
    assert summary['status'] == 'ok'
    assert summary['host'] == 'h1' and summary['path'] == '/c.pem' and summary['customer_id'] == '1234567-8'
    assert summary['not_after'] == '2027-01-01' and summary['days_remaining'] == 400
    assert summary['changed'] is False and summary['installed_changed'] == 0
    assert summary['message'] == 'The certificate is valid.'
    assert summary['restart_services'] == ['payroll']
    assert len(summary['certificates']) == 1
    assert summary['certificates'][0]['status'] == 'ok'


def test_renewed_in_the_wave_names_both_expiries_and_is_a_change():
    submitted = {'action': 'pending', 'error_type': 'RetrievalPending', 'failed': True,
                 'certificate': {'not_after': '2026-12-20', 'days_remaining': 20}}
    retrieved = {'action': 'retrieved', 'certificate': {'not_after': '2028-12-01', 'days_remaining': 730}}
    summary = renewal_outcome([certificate('/c.pem')], {'results': [submitted]}, {'0': retrieved}, {}, 'h1')
    assert summary['status'] == 'renewed' and summary['changed'] is True
    assert summary['message'] == 'Renewed: the new certificate is valid until 2028-12-01 (the old one expires 2026-12-20).'
    assert summary['not_after'] == '2028-12-01'


def test_a_wave_that_did_not_retrieve_fails_the_certificate_with_its_message():
    summary = renewal_outcome([certificate('/c.pem')], {'results': [{'action': 'pending'}]},
                              {'0': {'action': 'pending', 'msg': 'Still not issued after 600 s'}}, {}, 'h1')
    assert summary['status'] == 'failed' and summary['message'] == 'Still not issued after 600 s'
    assert summary['not_after'] == '' and summary['days_remaining'] is None


def test_expired_and_missing_keep_their_own_status():
    expired = {'failed': True, 'error_type': 'CertificateExpired', 'msg': 'Expired on 2026-01-01'}
    missing = {'failed': True, 'error_type': 'CertificateMissing', 'msg': 'No certificate'}
    other = {'failed': True, 'error_type': 'ServiceFault', 'msg': 'Refused'}
    results = renewal_outcome([certificate('/a.pem'), certificate('/b.pem'), certificate('/c.pem')],
                              {'results': [expired, missing, other]}, {}, {}, 'h1')['certificates']
    assert [row['status'] for row in results] == ['expired', 'missing', 'failed']
    assert results[2]['message'] == 'Refused'


def test_a_failed_deployment_fails_its_certificate_only_and_counts_changed_targets():
    installs = {'results': [{'certificate_path': '/a.pem', 'changed': True},
                            {'certificate_path': '/a.pem', 'changed': False},
                            {'certificate_path': '/b.pem', 'failed': True, 'msg': 'Cannot write /srv/b.p12'}]}
    summary = renewal_outcome([certificate('/a.pem', '1111111-1'), certificate('/b.pem', '2222222-2')],
                              {'results': [VALID, VALID]}, {}, installs, 'h1')
    first, second = summary['certificates']
    assert first['status'] == 'ok' and first['installed_changed'] == 1 and first['changed'] is True
    assert second['status'] == 'failed'
    assert second['message'] == 'The certificate is valid. Deploying it failed: Cannot write /srv/b.p12'
    assert summary['status'] == 'failed' and summary['installed_changed'] == 1 and summary['changed'] is True
    assert summary['message'] == '2 certificates: 0 renewed, 1 ok, 1 need attention (/b.pem).'
    assert summary['customer_id'] == '' and summary['path'] == '' and summary['days_remaining'] is None


def test_several_certificates_take_the_worst_status():
    renewed = {'action': 'renewed', 'msg': 'Renewed', 'certificate': {'not_after': '2028-01-01', 'days_remaining': 700}}
    summary = renewal_outcome([certificate('/a.pem'), certificate('/b.pem')], {'results': [VALID, renewed]}, None, None, 'h1')
    assert summary['status'] == 'renewed'
    assert summary['message'] == '2 certificates: 1 renewed, 1 ok, 0 need attention.'
    assert [row['changed'] for row in summary['certificates']] == [False, True]
    assert summary['changed'] is True


def test_several_certificates_none_changed_is_not_changed():
    summary = renewal_outcome([certificate('/a.pem'), certificate('/b.pem')], {'results': [VALID, VALID]}, None, None, 'h1')
    assert summary['changed'] is False


def test_a_certificate_without_a_renewal_result_failed_as_install_plan_decides():
    certificates = [certificate(path, private_key_path=path + '.key', issuing_ca_path='/ca.pem',
                                install_targets=[{'dest': '/srv' + path}]) for path in ('/a.pem', '/b.pem')]
    summary = renewal_outcome(certificates, {'results': [VALID]}, None, None, 'h1')
    assert [row['status'] for row in summary['certificates']] == ['ok', 'failed']
    assert summary['certificates'][1]['message'] == 'certificate_renew returned no result for this certificate.'
    assert summary['status'] == 'failed' and summary['changed'] is False
    assert [target['dest'] for target in install_plan(certificates, {'results': [VALID]})] == ['/srv/a.pem']


def test_a_change_mark_left_by_an_earlier_run_makes_its_certificate_changed_again():
    marked = dict(VALID, change_mark='/a.pem.changed')
    summary = renewal_outcome([certificate('/a.pem', '1111111-1'), certificate('/b.pem', '2222222-2')],
                              {'results': [marked, VALID]}, {}, {}, 'h1')
    first, second = summary['certificates']
    assert first['status'] == 'ok' and first['changed'] is True and first['change_mark'] == '/a.pem.changed'
    assert first['message'] == ('The certificate is valid. It was replaced by an earlier run that stopped before its '
                                'services were restarted (/a.pem.changed): they are restarted now.')
    assert second['changed'] is False and second['change_mark'] is None and second['message'] == VALID['msg']
    assert summary['changed'] is True


def test_the_mark_of_a_renewal_in_the_wave_is_the_retrievals():
    submitted = {'action': 'pending', 'error_type': 'RetrievalPending', 'failed': True,
                 'certificate': {'not_after': '2026-12-20', 'days_remaining': 20}}
    retrieved = {'action': 'retrieved', 'change_mark': '/c.pem.changed',
                 'certificate': {'not_after': '2028-12-01', 'days_remaining': 730}}
    summary = renewal_outcome([certificate('/c.pem')], {'results': [submitted]}, {'0': retrieved}, {}, 'h1')
    assert summary['status'] == 'renewed' and summary['change_mark'] == '/c.pem.changed'
    assert summary['message'].startswith('Renewed: '), 'a renewal of this run says so, not that a run stopped'
