"""The five modules through real ansible-playbook runs against the sandbox over HTTPS."""
import os
import re
import stat

import pytest
from module_helpers import CUSTOMER, calls_delta, issued_pair, operation_counts, service_args

pytestmark = pytest.mark.integration


def test_enroll_then_rerun_makes_no_call(sandbox, run_module, tmp_path):
    transfer_id, transfer_password = sandbox.subscribe(CUSTOMER, 'Example Oy', 'TEST')
    args = service_args(sandbox, tmp_path, transfer_id=transfer_id, transfer_password=transfer_password)
    before = operation_counts(sandbox)
    run, result = run_module('certificate_request', args)
    assert run.returncode == 0, run
    assert result['changed'] is True, result.get('msg')
    assert result['action'] == 'requested'
    assert result['certificate']['customer_id'] == CUSTOMER
    assert result['certificate']['key_matches'] is True
    assert 700 <= result['certificate']['days_remaining'] <= 730
    assert calls_delta(before, operation_counts(sandbox))['signNewCertificate'] == 1
    assert stat.S_IMODE(os.stat(args['private_key_path']).st_mode) == 0o600
    assert not os.path.exists(args['path'] + '.state.json')
    assert transfer_password not in run.output

    before = operation_counts(sandbox)
    run, result = run_module('certificate_request', args)
    assert run.returncode == 0, run
    assert result['changed'] is False
    assert calls_delta(before, operation_counts(sandbox)) == {
        'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 0}


@pytest.mark.skipif(os.geteuid() != 0, reason='handing files to another user needs root')
def test_request_with_owner_hands_the_files_to_that_user(sandbox, run_module, tmp_path):
    import pwd
    nobody = pwd.getpwnam('nobody')
    transfer_id, transfer_password = sandbox.subscribe('2222222-2', 'Owner Oy', 'TEST')
    args = service_args(sandbox, tmp_path, customer_id='2222222-2', transfer_id=transfer_id,
                        transfer_password=transfer_password, owner='nobody')
    run, result = run_module('certificate_request', args)
    assert run.returncode == 0, run
    assert result['changed'] is True, result.get('msg')
    key = os.stat(args['private_key_path'])
    assert key.st_uid == nobody.pw_uid and stat.S_IMODE(key.st_mode) == 0o600
    assert os.stat(args['path']).st_uid == nobody.pw_uid

    run, result = run_module('certificate_renew', dict(
        (k, v) for k, v in args.items() if k not in ('transfer_id', 'transfer_password')))
    assert run.returncode == 0, run
    assert result['changed'] is False and not result.get('failed'), result.get('msg')


def test_request_check_mode_calls_nothing_and_writes_nothing(sandbox, run_module, tmp_path):
    transfer_id, transfer_password = sandbox.subscribe('7654321-0', 'Other Oy', 'TEST')
    args = service_args(sandbox, tmp_path, customer_id='7654321-0', transfer_id=transfer_id,
                        transfer_password=transfer_password)
    before = operation_counts(sandbox)
    run, result = run_module('certificate_request', args, args=['--check'])
    assert run.returncode == 0, run
    assert result['changed'] is True
    assert not os.path.exists(args['path'])
    assert not os.path.exists(args['private_key_path'] + '.new')
    assert calls_delta(before, operation_counts(sandbox))['signNewCertificate'] == 0


def test_request_without_wait_then_retrieve(sandbox, run_module, tmp_path):
    transfer_id, transfer_password = sandbox.subscribe('1111111-1', 'Wait Oy', 'TEST')
    args = service_args(sandbox, tmp_path, customer_id='1111111-1', transfer_id=transfer_id,
                        transfer_password=transfer_password, wait=False)
    run, result = run_module('certificate_request', args)
    assert run.returncode == 0, run
    assert result['action'] == 'pending'
    assert result['retrieval_id']
    assert os.path.exists(args['path'] + '.state.json')
    assert not os.path.exists(args['path'])
    with open(args['path'] + '.state.json') as handle:
        assert transfer_password not in handle.read()

    retrieve_args = dict(args)
    for name in ('transfer_id', 'transfer_password', 'wait'):
        retrieve_args.pop(name)
    run, result = run_module('certificate_retrieve', retrieve_args)
    assert run.returncode == 0, run
    assert result['changed'] is True
    assert result['certificate']['key_matches'] is True
    assert not os.path.exists(args['path'] + '.state.json')

    run, result = run_module('certificate_retrieve', retrieve_args)
    assert result['changed'] is False


def test_renew_inside_window_then_rerun(sandbox, run_module, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=30)
    with open(cert, 'rb') as handle:
        old_pem = handle.read()
    args = service_args(sandbox, tmp_path)
    before = operation_counts(sandbox)
    run, result = run_module('certificate_renew', args, args=['--diff'])
    assert run.returncode == 0, run
    assert result['changed'] is True, result.get('msg')
    assert result['action'] == 'renewed'
    assert result['certificate']['days_remaining'] >= 700
    assert result['certificate']['key_matches'] is True
    assert calls_delta(before, operation_counts(sandbox))['renewCertificate'] == 1
    assert os.path.exists(result['backups']['certificate'])
    with open(result['backups']['certificate'], 'rb') as handle:
        assert handle.read() == old_pem
    assert stat.S_IMODE(os.stat(result['backups']['private_key']).st_mode) == 0o600
    assert 'BEGIN' not in str(result.get('diff')), 'diff must not carry key or certificate bodies'

    before = operation_counts(sandbox)
    run, result = run_module('certificate_renew', args)
    assert run.returncode == 0, run
    assert result['changed'] is False
    assert calls_delta(before, operation_counts(sandbox)) == {
        'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 0}


def test_renew_of_several_names_the_submitted_ones_in_pending(sandbox, run_module, tmp_path):
    """The renewal role waits for exactly the certificates the module names in `pending`."""
    for name in ('due', 'valid'):
        (tmp_path / name).mkdir()
    issued_pair(sandbox, tmp_path / 'due', expires_in_days=30)
    issued_pair(sandbox, tmp_path / 'valid', expires_in_days=400)
    entries = [dict(path=str(tmp_path / name / 'certs' / 'cert.pem'),
                    private_key_path=str(tmp_path / name / 'private' / 'key.pem')) for name in ('valid', 'due')]
    args = service_args(sandbox, tmp_path, wait=False, certificates=entries)
    del args['path'], args['private_key_path']
    before = operation_counts(sandbox)
    run, result = run_module('certificate_renew', args)
    assert run.returncode == 0, run
    assert [r['action'] for r in result['results']] == ['none', 'pending']
    assert result['pending'] == [1]
    assert calls_delta(before, operation_counts(sandbox)) == {
        'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 1}


def test_renew_outside_window_makes_no_call(sandbox, run_module, tmp_path):
    issued_pair(sandbox, tmp_path, expires_in_days=400)
    before = operation_counts(sandbox)
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path))
    assert run.returncode == 0, run
    assert result['changed'] is False
    assert result['action'] == 'none'
    assert calls_delta(before, operation_counts(sandbox))['renewCertificate'] == 0


def test_renew_expired_certificate_fails_clearly(sandbox, run_module, tmp_path):
    issued_pair(sandbox, tmp_path, expires_in_days=-3)
    before = operation_counts(sandbox)
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path))
    assert result['failed'] is True
    assert 'expired' in result['msg'] and 'e-service' in result['msg']
    assert calls_delta(before, operation_counts(sandbox))['renewCertificate'] == 0


def test_renew_in_check_mode_says_it_would_renew_and_touches_nothing(sandbox, run_module, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=30)
    before_files = dict((path, open(path, 'rb').read()) for path in (cert, key))
    before = operation_counts(sandbox)
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path), args=['--check', '--diff'])
    assert run.returncode == 0, run
    assert result['changed'] is True and result['action'] == 'renewed', result
    assert 'renew' in result['msg'].lower(), result['msg']
    # --diff shows the change a real run makes: the same customer, a certificate the service has yet to issue.
    assert result['diff']['before']['customer_id'] == result['diff']['after']['customer_id'] == CUSTOMER
    assert result['diff']['after']['serial'] == '(issued by the service)' != result['diff']['before']['serial']
    assert 'serial' in run.output and '(issued by the service)' in run.output
    assert result['certificate']['days_remaining'] in (29, 30), 'the result describes the certificate in place'
    assert result['certificate']['serial'] == result['diff']['before']['serial']
    assert calls_delta(before, operation_counts(sandbox)) == {
        'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 0}
    assert sorted(os.listdir(os.path.dirname(cert))) == ['cert.pem']
    assert sorted(os.listdir(os.path.dirname(key))) == ['key.pem']
    for path, data in before_files.items():
        with open(path, 'rb') as handle:
            assert handle.read() == data, path


def test_renew_brings_its_trust_files_from_the_controller_first_and_a_missing_one_stops_it(
        sandbox, run_module, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=30)
    source = tmp_path / 'trust-src'
    source.mkdir()
    for path in (sandbox.service_ca_pem, sandbox.issuing_ca_pem, sandbox.tls_ca_pem):
        (source / os.path.basename(path)).write_bytes(open(path, 'rb').read())
    trust = tmp_path / 'host' / 'trust'
    names = [os.path.basename(path) for path in (sandbox.service_ca_pem, sandbox.issuing_ca_pem, sandbox.tls_ca_pem)]
    args = service_args(sandbox, tmp_path, trust_src_dir=str(source), trust_files=names, trust_dir=str(trust),
                        service_ca_path=str(trust / names[0]), issuing_ca_path=str(trust / names[1]),
                        tls_ca_path=str(trust / names[2]))

    # A missing file stops the task before the module: nothing is sent, no key is made.
    before = operation_counts(sandbox)
    run, result = run_module('certificate_renew', dict(args, trust_files=names + ['absent.pem']))
    assert result['failed'] is True, result
    assert 'absent.pem' in result['msg'] and 'nothing was sent' in result['msg'], result['msg']
    assert [entry['name'] for entry in result['trust_files'] if entry.get('failed')] == ['absent.pem']
    assert calls_delta(before, operation_counts(sandbox)) == {
        'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 0}
    assert not os.path.exists(key + '.new') and not os.path.exists(cert + '.state.json')
    for name in names:
        os.unlink(str(trust / name))

    # Check mode predicts the copies and writes none; the module then finds the files missing, and says why.
    run, result = run_module('certificate_renew', args, args=['--check', '--diff'])
    assert [entry['changed'] for entry in result['trust_files']] == [True] * 3
    assert result['failed'] is True and 'does not exist' in result['msg'], result['msg']
    assert 'Check mode: trust_src_dir would first copy %s' % (trust / names[1]) in result['msg'], result['msg']
    assert [entry['after_header'] for entry in result['diff'][:3]] == [str(source / name) for name in names]
    assert os.listdir(str(trust)) == []
    assert calls_delta(before, operation_counts(sandbox))['renewCertificate'] == 0

    run, result = run_module('certificate_renew', args)
    assert run.returncode == 0, run
    assert result['action'] == 'renewed', result.get('msg')
    assert [(entry['name'], entry['changed']) for entry in result['trust_files']] == [(name, True) for name in names]
    assert stat.S_IMODE(os.stat(str(trust)).st_mode) == 0o755
    for name in names:
        assert stat.S_IMODE(os.stat(str(trust / name)).st_mode) == 0o644
        assert (trust / name).read_bytes() == (source / name).read_bytes()
    assert calls_delta(before, operation_counts(sandbox))['renewCertificate'] == 1

    # Nothing due and the files in place: nothing changes.
    run, result = run_module('certificate_renew', args)
    assert run.returncode == 0, run
    assert result['changed'] is False and result['action'] == 'none', result
    assert [entry['changed'] for entry in result['trust_files']] == [False] * 3


def test_renew_under_pipelining_sends_the_host_nothing_but_the_module_unless_it_copies_trust_files(
        sandbox, run_module, tmp_path):
    """With pipelining the module goes to the host on its standard input: a run that copies nothing makes no
    temporary directory there (an action that says it transfers files gets one before it runs, two more commands
    per host on every run), and one that copies leaves that to copy's action, which removes what it made."""
    issued_pair(sandbox, tmp_path, expires_in_days=300)
    pipelining = {'ANSIBLE_PIPELINING': 'True'}
    args = service_args(sandbox, tmp_path)
    run, result = run_module('certificate_renew', args, args=['-vvv'], env=pipelining)
    assert run.returncode == 0 and result['action'] == 'none', run
    assert 'Pipelining is enabled' in renew_task_output(run) and 'mkdir' not in renew_task_output(run), run

    source = tmp_path / 'trust-src'
    source.mkdir()
    trust = tmp_path / 'host' / 'trust'
    names = []
    for path in (sandbox.service_ca_pem, sandbox.issuing_ca_pem):
        names.append(os.path.basename(path))
        (source / names[-1]).write_bytes(open(path, 'rb').read())
    copying = dict(args, trust_src_dir=str(source), trust_files=names, trust_dir=str(trust),
                   service_ca_path=str(trust / names[0]), issuing_ca_path=str(trust / names[1]))
    run, result = run_module('certificate_renew', copying, args=['-vvv'], env=pipelining)
    assert run.returncode == 0 and result['action'] == 'none', run
    assert [(entry['name'], entry['changed']) for entry in result['trust_files']] == [(name, True) for name in names]
    for name in names:
        assert (trust / name).read_bytes() == (source / name).read_bytes()
    made = re.findall(r'mkdir "` echo (\S+/ansible-tmp-\S+) `"', renew_task_output(run))
    assert made and not any(os.path.exists(path) for path in made), (made, run)


def renew_task_output(run):
    """What ansible-playbook -vvv printed for the module's task (the playbook's second task saves its result)."""
    return run.output.split('TASK [Run certificate_renew]', 1)[1].split('TASK [Save the result', 1)[0]


def damage_key(key_path):
    """Rewrite the key with one CRT exponent wrong: same public half, fails RSA's consistency check."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    with open(key_path, 'rb') as handle:
        numbers = serialization.load_pem_private_key(handle.read(), password=None).private_numbers()
    damaged = rsa.RSAPrivateNumbers(numbers.p, numbers.q, numbers.d, numbers.dmp1 ^ 2, numbers.dmq1,
                                    numbers.iqmp, numbers.public_numbers)
    with open(key_path, 'wb') as handle:
        handle.write(damaged.private_key(unsafe_skip_rsa_key_validation=True).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def test_a_damaged_key_is_refused_before_it_signs_a_renewal(sandbox, run_module, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=30)
    damage_key(key)
    with open(cert, 'rb') as handle:
        old_pem = handle.read()
    before = operation_counts(sandbox)
    # A check run predicts it.
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path), args=['--check'])
    assert result['failed'] is True
    assert 'damaged' in result['msg'], result['msg']
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path))
    assert result['failed'] is True
    assert 'damaged' in result['msg'] and 'must not sign' in result['msg'], result['msg']
    assert calls_delta(before, operation_counts(sandbox)) == {
        'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 0}
    assert not os.path.exists(key + '.new') and not os.path.exists(cert + '.state.json')
    with open(cert, 'rb') as handle:
        assert handle.read() == old_pem

    # Outside the window nothing signs, so the key is only compared with the certificate (cheaply).
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path, renew_before_days=20))
    assert run.returncode == 0, run
    assert result['action'] == 'none' and result['certificate']['key_matches'] is True


def test_renew_before_days_above_60_is_refused(sandbox, run_module, tmp_path):
    issued_pair(sandbox, tmp_path, expires_in_days=70)
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path, renew_before_days=90))
    assert result['failed'] is True
    assert '60' in result['msg']


def test_info_reports_missing_and_present(sandbox, run_module, tmp_path):
    run, result = run_module('certificate_info', {'path': str(tmp_path / 'nope.pem')})
    assert run.returncode == 0, run
    assert result['exists'] is False
    assert not result.get('failed')
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=45)
    run, result = run_module('certificate_info', {'path': cert, 'private_key_path': key,
                                                  'issuing_ca_path': sandbox.issuing_ca_pem})
    assert run.returncode == 0, run
    assert result['exists'] is True and result['readable'] is True
    assert result['customer_id'] == CUSTOMER
    assert result['in_renewal_window'] is True
    assert result['expired'] is False
    assert result['key_matches'] is True
    assert result['chain_valid'] is True
    assert result['environment'] == 'SANDBOX'
    assert 44 <= result['days_remaining'] <= 45


LAYOUTS = {
    'pem': lambda d: dict(layout='pem', dest=str(d / 'client.crt'), private_key_dest=str(d / 'client.key'),
                          chain_dest=str(d / 'chain.pem')),
    'combined': lambda d: dict(layout='combined', dest=str(d / 'combined.pem')),
    'fullchain': lambda d: dict(layout='fullchain', dest=str(d / 'fullchain.pem'),
                                private_key_dest=str(d / 'fullchain.key')),
    'pkcs12': lambda d: dict(layout='pkcs12', dest=str(d / 'keystore.p12'),
                             pkcs12_passphrase='keystore-secret-9f2', friendly_name='incomes-register'),
}


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
def test_install_every_layout_then_rerun_unchanged(sandbox, run_module, tmp_path, layout):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=500)
    target = tmp_path / 'deploy'
    args = dict(certificate_path=cert, private_key_path=key, chain_path=sandbox.issuing_ca_pem,
                **LAYOUTS[layout](target))
    run, result = run_module('certificate_install', args, args=['--diff'])
    assert run.returncode == 0, run
    assert result['changed'] is True
    assert 'PRIVATE KEY' not in run.output
    if layout == 'pkcs12':
        assert 'keystore-secret-9f2' not in run.output

    with open(cert, 'rb') as handle:
        leaf = x509.load_pem_x509_certificate(handle.read())
    if layout == 'pkcs12':
        loaded = pkcs12.load_pkcs12((target / 'keystore.p12').read_bytes(), b'keystore-secret-9f2')
        assert loaded.cert.certificate == leaf
        assert loaded.cert.friendly_name == b'incomes-register'
        assert len(loaded.additional_certs) == 2
        assert stat.S_IMODE(os.stat(target / 'keystore.p12').st_mode) == 0o600
    else:
        main = x509.load_pem_x509_certificates((target / os.path.basename(args['dest'])).read_bytes())
        assert leaf in main
        key_file = args.get('private_key_dest', args['dest'])
        key_bytes = open(key_file, 'rb').read()
        assert load_pem_private_key(key_bytes, None).public_key() == leaf.public_key()
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        if layout == 'pem':
            assert stat.S_IMODE(os.stat(args['dest']).st_mode) == 0o644
            assert len(x509.load_pem_x509_certificates((target / 'chain.pem').read_bytes())) == 2

    run, result = run_module('certificate_install', args)
    assert run.returncode == 0, run
    assert result['changed'] is False, result


def test_install_refuses_key_of_another_certificate(sandbox, run_module, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=500)
    other = tmp_path / 'other'
    other.mkdir()
    sandbox.issue(CUSTOMER, new_key_path=str(other / 'key.pem'), expires_in_days=500, out=str(other / 'cert.pem'))
    run, result = run_module('certificate_install', dict(
        certificate_path=cert, private_key_path=str(other / 'key.pem'), layout='combined',
        dest=str(tmp_path / 'deploy' / 'combined.pem')))
    assert result['failed'] is True
    assert 'does not belong' in result['msg']
    assert not (tmp_path / 'deploy' / 'combined.pem').exists()


def test_service_options_set_once_for_the_action_group(sandbox, run_playbook, tmp_path):
    """meta/runtime.yml's group: module_defaults carries the service options of every task in the play."""
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=400)
    service = dict((k, v) for k, v in service_args(sandbox, tmp_path).items() if k not in ('path', 'private_key_path'))
    playbook = tmp_path / 'group.yml'
    playbook.write_text('''
- hosts: all
  gather_facts: false
  module_defaults:
    group/incomes_register.certificates.service: "{{ service }}"
  tasks:
    - name: Renew with nothing but the certificate's own paths
      incomes_register.certificates.certificate_renew:
        path: "{{ cert }}"
        private_key_path: "{{ key }}"
      register: renewed
    - name: Save it
      ansible.builtin.copy:
        content: "{{ renewed | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
''')
    run = run_playbook(str(playbook), {'service': service, 'cert': cert, 'key': key})
    assert run.returncode == 0, run
    assert run.results['changed'] is False and run.results['certificate']['customer_id'] == CUSTOMER


def test_the_certificate_is_described_against_the_tasks_own_window(sandbox, run_module, tmp_path):
    issued_pair(sandbox, tmp_path, expires_in_days=45)
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path, renew_before_days=30))
    assert run.returncode == 0, run
    assert result['changed'] is False
    assert result['certificate']['in_renewal_window'] is False, 'a 30-day window with 45 days left'
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path, renew_before_days=61))
    assert result.get('failed') is True and 'renew_before_days must be at most 60' in result['msg']


def test_a_request_in_flight_is_not_resumed_under_another_environment(sandbox, run_module, tmp_path):
    transfer_id, transfer_password = sandbox.subscribe('3456789-0', 'Siirto Oy', 'TEST')
    args = service_args(sandbox, tmp_path, customer_id='3456789-0', transfer_id=transfer_id,
                        transfer_password=transfer_password, wait=False)
    run, result = run_module('certificate_request', args)
    assert run.returncode == 0 and result['action'] == 'pending', run
    before = operation_counts(sandbox)
    retrieve = dict((k, v) for k, v in args.items() if k not in ('transfer_id', 'transfer_password', 'wait'))
    run, result = run_module('certificate_retrieve', dict(retrieve, environment='PRODUCTION'))
    assert result.get('failed') is True, result
    assert 'was made with environment TEST, but this task uses PRODUCTION' in result['msg']
    assert calls_delta(before, operation_counts(sandbox))['getCertificate'] == 0
    run, result = run_module('certificate_retrieve', retrieve)
    assert run.returncode == 0 and result['action'] == 'retrieved', run


def test_a_mistyped_retrieval_id_fails_with_both_readings_and_is_not_recorded(sandbox, run_module, tmp_path):
    transfer_id, transfer_password = sandbox.subscribe('4567890-1', 'Kirjoitus Oy', 'TEST')
    args = service_args(sandbox, tmp_path, customer_id='4567890-1', transfer_id=transfer_id,
                        transfer_password=transfer_password, wait=False)
    run, result = run_module('certificate_request', args)
    assert run.returncode == 0 and result['action'] == 'pending', run
    os.unlink(result['state_path'])  # as if the state file were lost: the user types the RetrievalId
    retrieve = dict((k, v) for k, v in args.items() if k not in ('transfer_id', 'transfer_password', 'wait'))
    run, result = run_module('certificate_retrieve', dict(retrieve, retrieval_id='X' * 20, wait_timeout=2,
                                                          poll_interval=0.5))
    assert result.get('failed') is True, result
    assert 'the service kept answering FAIL' in result['msg'] and 'Or the RetrievalId is wrong' in result['msg']
    assert result['service_errors'] and result['service_errors'][0]['code'] == result['error_code']
    assert not os.path.exists(args['path'] + '.state.json'), 'a mistyped RetrievalId must not be recorded'
