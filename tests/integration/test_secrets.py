"""No secret leaks (issue 5): the collection's scenarios at -vvv --diff, then every byte they left is searched.

Searched: the ansible-playbook output, the registered results, the state files (read mid-run), the
backups, Ansible's own temporary directories and the sandbox log. Searched for: the transfer
passwords, the key and keystore passphrases and the body of every private key in play. Files that are
keys by design (the key, its backups, a deployed key) may hold key material, and only those.
"""
import base64
import json
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from module_helpers import encrypt_key

pytestmark = pytest.mark.integration

TASKS_HAPPY = """
- name: Secret-bearing scenarios at -vvv
  hosts: all
  gather_facts: false
  vars:
    service: &service
      environment: TEST
      endpoint: "{{ endpoint }}"
      customer_name: Example Oy
      service_ca_path: "{{ service_ca }}"
      issuing_ca_path: "{{ issuing_ca }}"
      tls_ca_path: "{{ tls_ca }}"
      initial_delay: 0
      poll_interval: 0.2
      wait_timeout: 20
  tasks:
    - name: Enroll with a passphrase-protected key, certificate and key in one new directory, without waiting
      incomes_register.certificates.certificate_request:
        <<: *service
        customer_id: "{{ enroll_customer }}"
        transfer_id: "{{ enroll_transfer_id }}"
        transfer_password: "{{ enroll_transfer_password }}"
        path: "{{ root }}/enroll/cert.pem"
        private_key_path: "{{ root }}/enroll/key.pem"
        private_key_passphrase: "{{ enroll_passphrase }}"
        wait: false
      register: enrolled

    - name: Read the state file the request left
      ansible.builtin.slurp:
        src: "{{ enrolled.state_path }}"
      register: enroll_state

    - name: Look at the state file's mode
      ansible.builtin.stat:
        path: "{{ enrolled.state_path }}"
      register: enroll_state_stat

    - name: Retrieve it
      incomes_register.certificates.certificate_retrieve:
        <<: *service
        customer_id: "{{ enroll_customer }}"
        path: "{{ root }}/enroll/cert.pem"
        private_key_path: "{{ root }}/enroll/key.pem"
        private_key_passphrase: "{{ enroll_passphrase }}"
      register: retrieved

    - name: Renew a certificate whose key has a passphrase
      incomes_register.certificates.certificate_renew:
        <<: *service
        customer_id: "{{ renew_customer }}"
        path: "{{ root }}/renew/certs/cert.pem"
        private_key_path: "{{ root }}/renew/private/key.pem"
        private_key_passphrase: "{{ renew_passphrase }}"
      register: renewed

    - name: Install the renewed pair as a PKCS#12 keystore with a passphrase
      incomes_register.certificates.certificate_install:
        certificate_path: "{{ root }}/renew/certs/cert.pem"
        private_key_path: "{{ root }}/renew/private/key.pem"
        private_key_passphrase: "{{ renew_passphrase }}"
        chain_path: "{{ issuing_ca }}"
        layout: pkcs12
        dest: "{{ root }}/deploy/keystore.p12"
        pkcs12_passphrase: "{{ keystore_passphrase }}"
        backup: true
      register: keystore

    - name: Install the enrolled pair as PEM files
      incomes_register.certificates.certificate_install:
        certificate_path: "{{ root }}/enroll/cert.pem"
        private_key_path: "{{ root }}/enroll/key.pem"
        private_key_passphrase: "{{ enroll_passphrase }}"
        layout: pem
        dest: "{{ root }}/deploy/client.crt"
        private_key_dest: "{{ root }}/deploy/private/client.key"
      register: pem_files

    - name: Save the results
      ansible.builtin.copy:
        content: "{{ dict(enrolled=enrolled, enroll_state=enroll_state, enroll_state_stat=enroll_state_stat,
                          retrieved=retrieved, renewed=renewed, keystore=keystore, pem_files=pem_files)
                     | to_nice_json }}"
        dest: "{{ results_file }}"
        mode: '0600'
"""

TASKS_FAILING = """
- name: Failing secret-bearing scenarios at -vvv
  hosts: all
  gather_facts: false
  vars:
    request: &request
      environment: TEST
      endpoint: "{{ endpoint }}"
      service_ca_path: "{{ service_ca }}"
      issuing_ca_path: "{{ issuing_ca }}"
      tls_ca_path: "{{ tls_ca }}"
      initial_delay: 0
      poll_interval: 0.2
      customer_id: "{{ enroll_customer }}"
      transfer_id: "{{ enroll_transfer_id }}"
      transfer_password: "{{ enroll_transfer_password }}"
      path: "{{ root }}/dropped/cert.pem"
      private_key_path: "{{ root }}/dropped/private/key.pem"
      private_key_passphrase: "{{ enroll_passphrase }}"
  tasks:
    - name: Request, and the connection drops after the service used the credentials
      incomes_register.certificates.certificate_request: *request
      register: dropped
      ignore_errors: true

    - name: Request again with the same credentials
      incomes_register.certificates.certificate_request: *request
      register: refused
      ignore_errors: true

    - name: Renew while the service answers HTTP 500
      incomes_register.certificates.certificate_renew:
        environment: TEST
        endpoint: "{{ endpoint }}"
        service_ca_path: "{{ service_ca }}"
        issuing_ca_path: "{{ issuing_ca }}"
        tls_ca_path: "{{ tls_ca }}"
        customer_id: "{{ renew_customer }}"
        path: "{{ root }}/renew/certs/cert.pem"
        private_key_path: "{{ root }}/renew/private/key.pem"
        private_key_passphrase: "{{ renew_passphrase }}"
      register: failed_renewal
      ignore_errors: true

    - name: A wrong key passphrase
      incomes_register.certificates.certificate_install:
        certificate_path: "{{ root }}/renew/certs/cert.pem"
        private_key_path: "{{ root }}/renew/private/key.pem"
        private_key_passphrase: "{{ enroll_passphrase }}"
        layout: combined
        dest: "{{ root }}/deploy/combined.pem"
      register: wrong_passphrase
      ignore_errors: true

    - name: Save the results
      ansible.builtin.copy:
        content: "{{ dict(dropped=dropped, refused=refused, failed_renewal=failed_renewal,
                          wrong_passphrase=wrong_passphrase) | to_nice_json }}"
        dest: "{{ results_file }}"
        mode: '0600'
"""


def read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def key_lines(pem, passphrase):
    """The base64 lines of a private key in every PEM form it could leak in, unencrypted."""
    key = load_pem_private_key(pem, passphrase.encode() if passphrase else None)
    lines = set()
    for form in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        text = key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption())
        lines.update(line for line in text.splitlines() if line and not line.startswith(b'-----'))
    return lines


def leaks(data, secrets, lines):
    found = [name for name, secret in secrets.items() if secret.encode() in data]
    # JSON output escapes newlines, so every 64-character line of a key stays a contiguous run.
    if any(line in data for line in lines):
        found.append('private key material')
    return found


def files_under(root):
    for directory, dirs, files in os.walk(str(root)):
        for name in files:
            yield os.path.join(directory, name)


@pytest.fixture
def scenario(sandbox, tmp_path):
    """Two customers: one to enroll (credentials from the sandbox), one with a passphrase key to renew."""
    root = tmp_path / 'hosts'
    (root / 'renew' / 'certs').mkdir(parents=True)
    (root / 'renew' / 'private').mkdir(mode=0o700)
    (root / 'deploy').mkdir()
    key_path = root / 'renew' / 'private' / 'key.pem'
    sandbox.issue('5200002-2', new_key_path=str(key_path), expires_in_days=30,
                  out=str(root / 'renew' / 'certs' / 'cert.pem'))
    renew_passphrase = 'renew-phrase-7Qx2'
    encrypt_key(key_path, renew_passphrase)
    transfer_id, transfer_password = sandbox.subscribe('5200001-1', 'Example Oy')
    variables = dict(
        endpoint=sandbox.url, service_ca=sandbox.service_ca_pem, issuing_ca=sandbox.issuing_ca_pem,
        tls_ca=sandbox.tls_ca_pem, root=str(root),
        enroll_customer='5200001-1', enroll_transfer_id=transfer_id, enroll_transfer_password=transfer_password,
        enroll_passphrase='enroll-phrase-K3v9', renew_customer='5200002-2', renew_passphrase=renew_passphrase,
        keystore_passphrase='keystore-phrase-M8w4')
    temp = tmp_path / 'ansible-tmp'
    temp.mkdir(mode=0o700)
    env = {'ANSIBLE_REMOTE_TMP': str(temp / 'remote'), 'ANSIBLE_LOCAL_TEMP': str(temp / 'local'),
           'TMPDIR': str(temp)}
    return root, variables, env, temp


def test_no_secret_in_output_state_backups_or_temporary_files(sandbox, run_playbook, tmp_path, scenario):
    root, variables, env, temp = scenario
    old_renew_key = read(str(root / 'renew' / 'private' / 'key.pem'))
    playbook = tmp_path / 'happy.yml'
    playbook.write_text(TASKS_HAPPY)
    happy = run_playbook(str(playbook), variables, args=['-vvv', '--diff'], env=env)
    assert happy.returncode == 0, happy
    results = happy.results
    assert results['enrolled']['action'] == 'pending'
    assert results['retrieved']['changed'] is True
    assert results['renewed']['action'] == 'renewed'
    assert results['keystore']['changed'] is True and results['pem_files']['changed'] is True
    assert json.loads(base64.b64decode(results['enroll_state']['content']))['phase'] == 'submitted'
    assert results['enroll_state_stat']['stat']['mode'] == '0600'

    # The same customer's credentials for the failing run: the first ones are spent.
    failing_vars = dict(variables)
    failing_vars['enroll_transfer_id'], failing_vars['enroll_transfer_password'] = sandbox.subscribe(
        '5200001-1', 'Example Oy')
    sandbox.set_fault('signNewCertificate', 'drop-after-processing', times=1)
    sandbox.set_fault('renewCertificate', 'http500', times=1)
    # The renewed certificate is two years away from expiry; put a renewable one back to reach the service.
    (root / 'renew' / 'certs' / 'cert.pem').write_bytes(read(results['renewed']['backups']['certificate']))
    (root / 'renew' / 'private' / 'key.pem').write_bytes(old_renew_key)
    playbook = tmp_path / 'failing.yml'
    playbook.write_text(TASKS_FAILING)
    try:
        failing = run_playbook(str(playbook), failing_vars, args=['-vvv', '--diff'], env=env)
    finally:
        sandbox.clear_faults()
    assert failing.returncode == 0, failing
    assert failing.results['dropped']['failed'] is True
    assert failing.results['refused']['failed'] is True and 'not sent again' in failing.results['refused']['msg']
    assert failing.results['failed_renewal']['failed'] is True
    assert failing.results['wrong_passphrase']['failed'] is True
    dropped_state = root / 'dropped' / 'cert.pem.state.json'
    assert mode(str(dropped_state)) == 0o600

    secrets = {
        'transfer password': variables['enroll_transfer_password'],
        'second transfer password': failing_vars['enroll_transfer_password'],
        'enroll key passphrase': variables['enroll_passphrase'],
        'renew key passphrase': variables['renew_passphrase'],
        'keystore passphrase': variables['keystore_passphrase'],
    }
    # Every key of the scenarios: in place, waiting as .new, backed up; all encrypted with one of the two.
    lines = key_lines(old_renew_key, variables['renew_passphrase'])
    for path in files_under(root):
        data = read(path)
        if b'ENCRYPTED PRIVATE KEY' in data:
            for passphrase in (variables['enroll_passphrase'], variables['renew_passphrase']):
                try:
                    lines |= key_lines(data, passphrase)
                except ValueError:
                    continue
    assert len(lines) > 40, 'expected the lines of several keys'

    for name, output in (('first run', happy.output), ('second run', failing.output)):
        found = leaks(output.encode(), secrets, lines)
        assert not found, '%s output at -vvv shows %s' % (name, found)
    state_text = base64.b64decode(results['enroll_state']['content'])
    assert not leaks(state_text, secrets, lines)
    assert not leaks(read(sandbox.log_path), secrets, lines), 'the sandbox log leaks'

    deploy = str(root / 'deploy') + os.sep
    # The registered results as the playbooks saved them (the vars files, the test's own input, are not output).
    saved = [str(path) for path in tmp_path.glob('results-*.json')]
    assert len(saved) == 2
    for path in list(files_under(root)) + list(files_under(temp)) + saved:
        data = read(path)
        deployed_key = path.startswith(deploy) and b'PRIVATE KEY-----' in data
        if b'PRIVATE KEY-----' in data:
            assert mode(path) == 0o600, '%s holds a private key with mode %04o' % (path, mode(path))
            # What the collection keeps for itself stays encrypted; a deployed copy is plain by request.
            assert deployed_key or b'ENCRYPTED PRIVATE KEY' in data, path
        found = leaks(data, secrets, set() if deployed_key else lines)
        assert not found, '%s holds %s' % (path, found)
    for directory in (root / 'enroll', root / 'renew' / 'private', root / 'dropped' / 'private'):
        assert mode(str(directory)) == 0o700, '%s holds keys and must be 0700' % directory
    assert mode(str(root / 'deploy' / 'keystore.p12')) == 0o600


def test_the_renewal_role_shows_no_passphrase_of_its_install_targets(sandbox, run_playbook, tmp_path):
    """The role deploys every target in one certificate_install run whose arguments hold the keystore passphrase
    (and, before, looped over the targets, and Ansible prints and registers a loop variable)."""
    from cryptography.hazmat.primitives.serialization import pkcs12
    root = tmp_path / 'hosts' / 'payroll'
    (root / 'private').mkdir(parents=True, mode=0o700)
    key_path = root / 'private' / 'key.pem'
    sandbox.issue('5200003-3', new_key_path=str(key_path), expires_in_days=30, out=str(root / 'cert.pem'))
    key_passphrase, keystore_passphrase = 'role-key-phrase-H5t1', 'role-keystore-phrase-W2p8'
    plain = read(str(key_path))
    encrypt_key(key_path, key_passphrase)
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(json.dumps({'all': {'hosts': {'payroll': {
        'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
        'renewal_customer_id': '5200003-3', 'renewal_endpoint': sandbox.url,
        'renewal_service_ca_path': sandbox.service_ca_pem, 'renewal_issuing_ca_path': sandbox.issuing_ca_pem,
        'renewal_tls_ca_path': sandbox.tls_ca_pem, 'renewal_initial_delay': 0, 'renewal_poll_interval': 0.2,
        'renewal_certificate_path': str(root / 'cert.pem'), 'renewal_private_key_path': str(key_path),
        'renewal_private_key_passphrase': key_passphrase,
        'renewal_install_targets': [
            {'layout': 'pkcs12', 'dest': str(root / 'keystore.p12'), 'pkcs12_passphrase': keystore_passphrase},
            {'layout': 'pem', 'dest': str(root / 'client.crt'), 'private_key_dest': str(root / 'client.key')}],
    }}}}))
    run = run_playbook('incomes_register.certificates.renew',
                       {'incomes_register_renew_summary_file': str(tmp_path / 'summary.json')},
                       inventory=str(inventory), args=['-vvv', '--diff'])
    assert run.returncode == 0, run.output[-8000:]
    assert json.loads(read(str(tmp_path / 'summary.json')))['payroll']['status'] == 'renewed'
    # The targets are deployed in one certificate_install run (no loop, so no loop label); its result names each.
    assert '"dest": "%s"' % (root / 'keystore.p12') in run.output, 'the output still names each target'
    secrets = {'key passphrase': key_passphrase, 'keystore passphrase': keystore_passphrase}
    lines = key_lines(plain, None) | key_lines(read(str(root / 'client.key')), None)
    found = leaks(run.output.encode(), secrets, lines)
    assert not found, 'the renew playbook at -vvv shows %s' % found
    keystore = pkcs12.load_pkcs12(read(str(root / 'keystore.p12')), keystore_passphrase.encode())
    assert keystore.cert.certificate.public_bytes(serialization.Encoding.PEM) == read(str(root / 'client.crt'))


INFO_TASK = """
- name: Read a combined file and an encrypted key
  hosts: all
  gather_facts: false
  tasks:
    - name: Describe the certificates
      incomes_register.certificates.certificate_info:
        certificates:
          - path: "{{ root }}/combined.pem"
            private_key_path: "{{ root }}/key.pem"
            private_key_passphrase: "{{ passphrase }}"
          - path: "{{ root }}/key.pem"
        issuing_ca_path: "{{ bundle }}"
      register: info

    - name: Save the result
      ansible.builtin.copy:
        content: "{{ info | to_nice_json }}"
        dest: "{{ results_file }}"
        mode: '0600'
"""


def test_certificate_info_sends_the_controller_no_private_key_and_no_passphrase(sandbox, run_playbook, tmp_path):
    """The module reads on the host and its action plugin describes on the controller: what the module answers
    (which ANSIBLE_DEBUG prints as it arrives) holds the certificates and the key's public half, never the key,
    even of a file that holds both, nor the passphrase."""
    root = tmp_path / 'host'
    root.mkdir(mode=0o700)
    key_path = root / 'key.pem'
    sandbox.issue('5200005-5', new_key_path=str(key_path), expires_in_days=30, out=str(root / 'cert.pem'))
    plain = read(str(key_path))
    cert = read(str(root / 'cert.pem'))
    (root / 'combined.pem').write_bytes(plain + cert)
    os.chmod(str(root / 'combined.pem'), 0o600)
    passphrase = 'info-key-phrase-R4d6'
    encrypt_key(key_path, passphrase)
    # The bundle holds a key too, which is not the controller's to see either.
    bundle = tmp_path / 'bundle.pem'
    bundle.write_bytes(read(sandbox.issuing_ca_pem) + plain)
    # A state file with a request in flight: only its phase, RetrievalId and times are the audit's to see, not its
    # endpoint (an old file's may name a user) nor the enrollment's TransferID.
    state = root / 'combined.pem.state.json'
    state.write_text(json.dumps({'version': 1, 'operation': 'renew', 'phase': 'submitted', 'retrieval_id': 'RID-S-1',
                                 'transfer_id': 'TID-stays-on-host', 'endpoint': 'https://ops-user@ir.example/svc',
                                 'new_key_path': str(key_path) + '.new', 'created': '2026-11-20T03:00:00Z'}))
    os.chmod(str(state), 0o600)
    (tmp_path / 'info.yml').write_text(INFO_TASK)
    run = run_playbook(str(tmp_path / 'info.yml'), dict(root=str(root), passphrase=passphrase, bundle=str(bundle)),
                       env={'ANSIBLE_DEBUG': '1'})
    assert run.returncode == 0, run.output[-8000:]
    combined, key_as_certificate = run.results['results']
    assert (combined['request']['phase'], combined['request']['retrieval_id']) == ('submitted', 'RID-S-1')
    assert combined['readable'] is True and combined['key_matches'] is True and combined['chain_valid'] is True
    assert combined['customer_id'] == '5200005-5' and combined['in_renewal_window'] is True
    assert key_as_certificate['readable'] is False and 'as a certificate' in key_as_certificate['error']
    # The module's answer as it came from the host (ANSIBLE_DEBUG prints it; it also prints the task's arguments,
    # passphrase and all, which is Ansible's own and why that setting is for debugging only).
    answers = [part.split(', stderr=')[0] for part in run.output.split('_low_level_execute_command() done: rc=0, stdout=')
               if '"readings"' in part.split(', stderr=')[0]]
    assert len(answers) == 1, 'the debug output does not show the module answer'
    answer = answers[0].encode()
    assert all(line in answer for line in cert.splitlines() if line and not line.startswith(b'-----'))
    # An RSA key's PEM opens with its modulus, which is public: a line of it may be found in the public half.
    public = json.loads(answer)['readings'][0]['public_key'].encode()
    lines = set(line for line in key_lines(plain, None) if line not in public)
    found = leaks(answer, {'key passphrase': passphrase}, lines)
    assert not found, 'certificate_info answers the controller with %s' % found
    assert b'RID-S-1' in answer and b'TID-stays-on-host' not in answer and b'ops-user' not in answer
