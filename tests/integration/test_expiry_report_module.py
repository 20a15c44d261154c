"""expiry_report run for real by ansible-playbook on localhost: files, idempotence, check mode, gate."""
import datetime
import json
import os
import re
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)

# Each call is one task run in turn, so a playbook run can chain "write, then rerun".
PLAYBOOK = """
- name: Run expiry_report like the audit playbook does
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Build the report
      incomes_register.certificates.expiry_report:
      args: "{{ item.args }}"
      check_mode: "{{ item.check | default(false) }}"
      loop: "{{ calls }}"
      register: report
      ignore_errors: true

    - name: Save the results for the test
      ansible.builtin.copy:
        content: "{{ report.results | to_nice_json }}"
        dest: "{{ results_file }}"
        mode: '0600'
"""


def info(path, days, **overrides):
    not_after = NOW + days * DAY + datetime.timedelta(hours=6)
    result = dict(
        path=path, exists=True, readable=True, error=None, subject='CN=1234567-8,C=FI', customer_id='1234567-8',
        organisation='Example Oy', issuer='CN=Data Providers Test Issuing CA v1', serial='0A1B',
        fingerprint_sha256='AA', fingerprint_sha1='BB', not_before='2024-01-01T00:00:00Z',
        not_after=not_after.strftime('%Y-%m-%dT%H:%M:%SZ'), days_remaining=days, expired=days < 0,
        in_renewal_window=0 <= days < 60, key_matches=True, chain_valid=None, environment='TEST')
    result.update(overrides)
    return result


HOST_RESULTS = {
    'app1.example.fi': [info('/etc/ir/cert.pem', 300), info('/etc/ir/test.pem', 12)],
    'app2.example.fi': [info('/etc/ir/cert.pem', 45)],
    'app3.example.fi': {'unreachable': True, 'msg': 'Failed to connect to the host via ssh'},
}


def ansible_env():
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
    })
    return env


@pytest.fixture
def run(tmp_path):
    counter = [0]

    def run_calls(*calls):
        counter[0] += 1
        playbook = tmp_path / 'report.yml'
        playbook.write_text(PLAYBOOK)
        results = tmp_path / ('results-%d.json' % counter[0])
        variables = tmp_path / ('vars-%d.json' % counter[0])
        variables.write_text(json.dumps({'calls': list(calls), 'results_file': str(results)}))
        completed = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), str(playbook), '-i', 'localhost,',
             '-c', 'local', '-e', '@%s' % variables],
            capture_output=True, text=True, env=ansible_env(), cwd=str(tmp_path), timeout=300, check=False)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        return json.loads(results.read_text())
    return run_calls


def args(output_dir, host_results=None, **extra):
    values = dict(host_results=HOST_RESULTS if host_results is None else host_results, output_dir=str(output_dir))
    values.update(extra)
    return {'args': values}


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def snapshot(directory):
    return dict((name, (directory / name).read_bytes()) for name in sorted(os.listdir(str(directory))))


def age_generation_time(directory):
    """Rewrite the generation time in every file as if the report had been made a day earlier."""
    old = '2000-01-02T03:04:05Z'
    path = directory / 'certificate-expiry.json'
    document = json.loads(path.read_text())
    document['generated_at'] = old
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + '\n')
    path = directory / 'certificate-expiry.html'
    path.write_text(re.sub(r'<time class="generated" datetime="[^"]*">[^<]*</time>',
                           '<time class="generated" datetime="%s">2000-01-02 03:04 UTC</time>' % old, path.read_text()))
    path = directory / 'certificate-expiry.prom'
    path.write_text(re.sub(r'^incomes_register_audit_timestamp_seconds \d+$',
                           'incomes_register_audit_timestamp_seconds 946782245', path.read_text(), flags=re.M))


def test_writes_every_format_then_an_unchanged_rerun_changes_nothing(run, tmp_path):
    out = tmp_path / 'reports' / 'expiry'
    first, = run(args(out, fail_within_days=30))
    assert first['changed'] is True, first
    assert first['files'] == dict((fmt, str(out / ('certificate-expiry.%s' % ext))) for fmt, ext in (
        ('html', 'html'), ('csv', 'csv'), ('json', 'json'), ('prometheus', 'prom')))
    assert sorted(os.listdir(str(out))) == ['certificate-expiry.csv', 'certificate-expiry.html',
                                            'certificate-expiry.json', 'certificate-expiry.prom']
    assert file_mode(str(out)) == 0o755
    assert all(file_mode(path) == 0o644 for path in first['files'].values())
    assert [(row['host'], row['status']) for row in first['rows']] == [
        ('app3.example.fi', 'unreachable'), ('app1.example.fi', 'critical'), ('app2.example.fi', 'renew'),
        ('app1.example.fi', 'ok')]
    assert first['summary']['counts']['critical'] == 1 and first['summary']['total'] == 4
    assert first['msg'] == '4 certificates on 3 hosts: 1 critical, 1 renew, 1 ok, 1 unreachable'
    # Nothing is broken, but the 12-day certificate is inside fail_within_days; the module itself succeeds.
    assert first['gate_failed'] is True and first.get('failed') is not True
    assert first['gate_reasons'] == ['app1.example.fi /etc/ir/test.pem: expires in 12 days (fail_within_days 30)']
    document = json.loads((out / 'certificate-expiry.json').read_text())
    assert document['generated_at'] == first['generated_at']
    assert document['certificates'] == first['rows']

    age_generation_time(out)
    before = snapshot(out)
    rerun, check = run(args(out, fail_within_days=30),
                       dict(args(out, host_results=dict(HOST_RESULTS, app4=[info('/x.pem', 100)])), check=True))
    assert rerun['changed'] is False, rerun
    assert rerun['gate_failed'] is True
    assert check['changed'] is True and check['summary']['total'] == 5
    # Neither the rerun nor the check-mode run touched a file, not even the generation time.
    assert snapshot(out) == before


def test_check_mode_writes_nothing_and_a_changed_inventory_rewrites(run, tmp_path):
    out = tmp_path / 'fresh'
    check, write, change = run(
        dict(args(out, formats=['json', 'prometheus']), check=True),
        args(out, formats=['json', 'prometheus'], basename='ir'),
        args(out, formats=['json', 'prometheus'], basename='ir',
             host_results={'app1.example.fi': [info('/etc/ir/cert.pem', -2)]}),
    )
    assert check['changed'] is True
    assert check['files'] == {'json': str(out / 'certificate-expiry.json'),
                              'prometheus': str(out / 'certificate-expiry.prom')}
    assert write['changed'] is True and sorted(os.listdir(str(out))) == ['ir.json', 'ir.prom']
    assert change['changed'] is True
    assert change['gate_failed'] is True
    assert change['gate_reasons'] == ['app1.example.fi /etc/ir/cert.pem: expired']
    prom = (out / 'ir.prom').read_text()
    assert 'status="expired"} 1\n' in prom and 'app2.example.fi' not in prom


def test_a_loosened_or_tightened_mode_is_put_back(run, tmp_path):
    out = tmp_path / 'modes'
    run(args(out, formats=['csv']))
    csv_path = out / 'certificate-expiry.csv'
    content = csv_path.read_bytes()
    os.chmod(str(csv_path), 0o600)
    fixed, = run(args(out, formats=['csv']))
    assert fixed['changed'] is True
    assert file_mode(str(csv_path)) == 0o644 and csv_path.read_bytes() == content


def test_bad_options_fail_the_task_with_a_reason(run, tmp_path):
    window, name, shape, gate, unknown, nowhere = run(
        args(tmp_path / 'o', renew_before_days=61), args(tmp_path / 'o', basename='../x'),
        args(tmp_path / 'o', host_results={'app1': 'not a list'}), args(tmp_path / 'o', fail_within_days=-1),
        args(tmp_path / 'o', colour='red'), args(''))
    assert nowhere['failed'] is True
    assert nowhere['msg'] == 'output_dir must name a directory, not an empty string. No report was written.'
    assert not [name for name in os.listdir(str(tmp_path)) if name.startswith('certificate-expiry')]
    assert window['failed'] is True and 'earlier than 60 days' in window['msg']
    assert gate['failed'] is True
    assert gate['msg'] == 'fail_within_days must be at least 0, not -1. No report was written.'
    assert unknown['failed'] is True and 'colour' in unknown['msg']
    assert name['failed'] is True and 'basename' in name['msg']
    assert shape['failed'] is True and shape['msg'].startswith('host_results[app1] must be a list')
    assert shape['msg'].endswith(', not a string')
    assert not os.path.exists(str(tmp_path / 'o'))


AUDIT_PLAYBOOK = """
- name: Audit as in the module's EXAMPLES
  hosts: all
  gather_facts: false
  tasks:
    - name: Read every certificate of the host
      incomes_register.certificates.certificate_info:
        path: "{{ item.path }}"
      loop: "{{ incomes_register_certificates }}"
      register: certificate_audit

    - name: Write the report
      incomes_register.certificates.expiry_report:
        host_results: >-
          {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)
                  | map(attribute='certificate_audit', default={'unreachable': true, 'msg': 'Not audited'}))) }}
        output_dir: "{{ output_dir }}"
        formats: [json]
      run_once: true
      register: expiry

    - name: Save the result for the test
      ansible.builtin.copy:
        content: "{{ expiry | to_nice_json }}"
        dest: "{{ results_file }}"
        mode: '0600'
      run_once: true
      delegate_to: localhost
"""


def test_the_documented_audit_pipeline_with_certificate_info(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, 'FI'),
                         x509.NameAttribute(NameOID.COMMON_NAME, '1234567-8')])
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(0x1A2B).not_valid_before(NOW - 700 * DAY)
                   .not_valid_after(NOW + 20 * DAY + datetime.timedelta(hours=1)).sign(key, hashes.SHA256()))
    cert_path = tmp_path / 'cert.pem'
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    inventory = tmp_path / 'inventory.ini'
    # A host nobody listens for: connection refused, so Ansible drops it as unreachable at once.
    inventory.write_text('localhost ansible_connection=local\n'
                         'ghost ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n')
    playbook = tmp_path / 'audit.yml'
    playbook.write_text(AUDIT_PLAYBOOK)
    results = tmp_path / 'results.json'
    variables = tmp_path / 'vars.json'
    variables.write_text(json.dumps({
        'incomes_register_certificates': [{'path': str(cert_path)}, {'path': str(tmp_path / 'gone.pem')}],
        'output_dir': str(tmp_path / 'out'), 'results_file': str(results)}))
    completed = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), str(playbook), '-i', str(inventory),
         '-e', '@%s' % variables],
        capture_output=True, text=True, env=dict(ansible_env(), ANSIBLE_HOST_KEY_CHECKING='False',
                                                 ANSIBLE_TIMEOUT='5'),
        cwd=str(tmp_path), timeout=300, check=False)
    # Ansible exits 4 when a host was unreachable; the report was still written.
    assert completed.returncode == 4, completed.stdout + completed.stderr
    expiry = json.loads(results.read_text())
    gone = str(tmp_path / 'gone.pem')
    # The looped task registers one unreachable result per item, so each certificate keeps its path.
    assert [(row['host'], row['status'], row['path']) for row in expiry['rows']] == [
        ('ghost', 'unreachable', str(cert_path)), ('ghost', 'unreachable', gone), ('localhost', 'missing', gone),
        ('localhost', 'renew', str(cert_path))]
    assert 'Failed to connect to the host' in expiry['rows'][0]['note']
    assert expiry['rows'][3]['days_remaining'] == 20 and expiry['rows'][3]['serial'] == '1A2B'
    assert expiry['gate_failed'] is True


REPORT_ONLY_PLAYBOOK = """
- name: The report task alone, for a host nobody can reach
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the report
      incomes_register.certificates.expiry_report:
        host_results: "{{ host_results }}"
        output_dir: reports/relative
        formats: [json, csv]
      run_once: true
      register: expiry

    - name: Save the result for the test
      ansible.builtin.copy:
        content: "{{ expiry | to_nice_json }}"
        dest: "{{ results_file }}"
        mode: '0600'
      run_once: true
      delegate_to: localhost
"""


def test_the_report_runs_on_the_controller_without_delegation_and_a_relative_directory_is_the_callers(tmp_path):
    """The task runs for a host with no SSH server, so any module sent there would make it unreachable."""
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('ghost ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n'
                         '[all:vars]\nansible_python_interpreter=/nonexistent/python\n')
    playbook = tmp_path / 'playbooks' / 'report.yml'
    playbook.parent.mkdir()
    playbook.write_text(REPORT_ONLY_PLAYBOOK)
    results = tmp_path / 'results.json'
    variables = tmp_path / 'vars.json'
    variables.write_text(json.dumps({'host_results': HOST_RESULTS, 'results_file': str(results)}))
    started_in = tmp_path / 'cwd'
    started_in.mkdir()
    completed = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), str(playbook), '-i', str(inventory),
         '-e', '@%s' % variables],
        capture_output=True, text=True, env=dict(ansible_env(), ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_TIMEOUT='5'),
        cwd=str(started_in), timeout=300, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    expiry = json.loads(results.read_text())
    out = started_in / 'reports' / 'relative'
    assert expiry['files'] == {'json': str(out / 'certificate-expiry.json'), 'csv': str(out / 'certificate-expiry.csv')}
    assert sorted(os.listdir(str(out))) == ['certificate-expiry.csv', 'certificate-expiry.json']
    assert json.loads((out / 'certificate-expiry.json').read_text())['certificates'] == expiry['rows']
    assert not (playbook.parent / 'reports').exists()
