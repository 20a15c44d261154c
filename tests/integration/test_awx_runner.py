"""The playbooks through ansible-runner, the engine AWX and Automation Platform run jobs with, from a private
data directory laid out as AWX lays it out for a job:

    project/            the job template's project: playbooks that import the collection's
    inventory/hosts     the inventory (here: local hosts keeping their files under the test's directory)
    env/extravars       the job's extra variables, with what the credential type's injectors give
    env/passwords       answers to prompts: the vault password AWX's vault credential gives
    env/envvars         the job's environment
    env/settings        runner settings (timeouts)

and the job's artifacts as AWX reads them: status, rc, the per-host summary (the playbook_on_stats event)
and job_events, in which no secret may appear (docs/awx.md)."""
import glob
import json
import os
import shutil
import subprocess
import sys

import jinja2
import pytest
import yaml
from cryptography.hazmat.primitives.serialization import Encoding, pkcs12

import core_flow
from conftest import COLLECTIONS

pytestmark = [pytest.mark.integration]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRANSFER_TYPE = os.path.join(ROOT, 'docs', 'awx', 'transfer-credential-type.yml')
PASSPHRASE_TYPE = os.path.join(ROOT, 'docs', 'awx', 'passphrase-credential-type.yml')
VAULT_PASSWORD = 'vault-pw-for-runner-Zq7'
KEYSTORE_PASSPHRASE = 'keystore-phrase-Runner-Kx2'
BIN = os.path.dirname(sys.executable)


def inject(credential_type_path, credential_inputs):
    """What AWX does with a credential of one of our types: render each injector template with the inputs."""
    with open(credential_type_path) as handle:
        credential_type = yaml.safe_load(handle)
    fields = dict((field['id'], field) for field in credential_type['inputs']['fields'])
    assert set(credential_inputs) <= set(fields), 'inputs the type does not have'
    environment = jinja2.Environment()
    return dict((name, environment.from_string(template).render(**credential_inputs))
                for name, template in credential_type['injectors']['extra_vars'].items())


def vault_encrypt(value, tmp_path):
    password_file = tmp_path / 'vault-password'
    password_file.write_text(VAULT_PASSWORD)
    completed = subprocess.run([os.path.join(BIN, 'ansible-vault'), 'encrypt_string', '--vault-password-file',
                                str(password_file), value], capture_output=True, text=True, check=True)
    password_file.unlink()
    return completed.stdout.split(None, 1)[1]   # after the "!vault |" tag: the block itself


@pytest.fixture
def private_data_dir(sandbox, tmp_path):
    """A private data directory with a project and an inventory of three local hosts (core_flow.HOSTS), whose
    PKCS#12 keystore passphrase is vault-encrypted in the inventory, as in a project kept in git."""
    pdd = tmp_path / 'pdd'
    root = tmp_path / 'hosts'
    core_flow.prepare_hosts(sandbox, root)
    trust_src = tmp_path / 'trust-src'
    shutil.copytree(os.path.dirname(sandbox.service_ca_pem), str(trust_src))
    (pdd / 'project').mkdir(parents=True)
    for name in ('enroll', 'renew', 'audit'):
        (pdd / 'project' / ('%s.yml' % name)).write_text(
            '---\n- name: The collection\'s %s playbook\n  ansible.builtin.import_playbook: '
            'incomes_register.certificates.%s\n' % (name, name))
    (pdd / 'inventory').mkdir()
    core_flow.write_inventory(pdd / 'inventory' / 'hosts.yml', sandbox, root, trust_src,
                              {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable},
                              role_vars={'renewal_install_targets': [{
                                  'layout': 'pkcs12', 'dest': str(root) + '/{{ inventory_hostname }}/keystore.p12',
                                  'pkcs12_passphrase': '{{ ir_keystore_passphrase }}'}]})
    # The keystore passphrase as a vaulted group variable of the project's inventory.
    text = (pdd / 'inventory' / 'hosts.yml').read_text()
    (pdd / 'inventory' / 'group_vars').mkdir()
    (pdd / 'inventory' / 'group_vars' / 'all.yml').write_text(
        '---\nir_keystore_passphrase: !vault |\n' + ''.join(
            '  ' + line + '\n' for line in vault_encrypt(KEYSTORE_PASSPHRASE, tmp_path).strip().splitlines()[1:]))
    assert KEYSTORE_PASSPHRASE not in text
    (pdd / 'env').mkdir()
    (pdd / 'env' / 'envvars').write_text(yaml.safe_dump({
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS, 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable}))
    (pdd / 'env' / 'settings').write_text(yaml.safe_dump({'job_timeout': 600, 'idle_timeout': 300}))
    # AWX's vault credential: ansible-playbook asks, runner answers from env/passwords.
    (pdd / 'env' / 'passwords').write_text(yaml.safe_dump({r'^Vault password:\s*?$': VAULT_PASSWORD}))
    (pdd / 'env' / 'cmdline').write_text('--ask-vault-pass')
    return pdd, root


def run_job(pdd, playbook, ident, extravars):
    (pdd / 'env' / 'extravars').write_text(yaml.safe_dump(extravars))
    os.chmod(str(pdd / 'env' / 'extravars'), 0o600)
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
    completed = subprocess.run([os.path.join(BIN, 'ansible-runner'), 'run', str(pdd), '-p', playbook,
                                '--ident', ident], capture_output=True, text=True, env=env, timeout=900,
                               check=False)
    artifacts = pdd / 'artifacts' / ident
    events = []
    for path in sorted(glob.glob(str(artifacts / 'job_events' / '*.json'))):
        with open(path) as handle:
            events.append(json.load(handle))
    events.sort(key=lambda event: event.get('counter', 0))
    job = {
        'runner_rc': completed.returncode,
        'runner_output': completed.stdout + completed.stderr,
        'status': (artifacts / 'status').read_text().strip(),
        'rc': int((artifacts / 'rc').read_text().strip()),
        'stdout': (artifacts / 'stdout').read_text(),
        'events': events,
        'raw_events': ''.join(open(p).read() for p in glob.glob(str(artifacts / 'job_events' / '*.json'))),
    }
    stats = [event for event in events if event.get('event') == 'playbook_on_stats']
    job['stats'] = stats[-1]['event_data'] if stats else None
    return job


def renews(result):
    """Whether a task result renewed (or retrieved) a certificate: certificate_renew reports each certificate
    of the host in results, certificate_retrieve at the top."""
    outcomes = [result] + [item for item in result.get('results') or [] if isinstance(item, dict)]
    return any(item.get('action') in ('renewed', 'retrieved') and item.get('changed') for item in outcomes)


def assert_no_secret(job, *secrets):
    for secret in secrets:
        for where in ('stdout', 'raw_events', 'runner_output'):
            assert secret not in job[where], (where, secret)


def test_enroll_renew_and_audit_jobs_through_ansible_runner(sandbox, private_data_dir, tmp_path):
    pdd, root = private_data_dir
    transfer_id, transfer_password = sandbox.subscribe(core_flow.HOSTS['newcomer'][0], 'Newcomer Oy', 'TEST')

    # The enroll job template: limited to one host, with a transfer credential holding its one-time pair and
    # nothing else, so that the vaulted keystore passphrase of the inventory reaches the job.
    extravars = inject(TRANSFER_TYPE, {'transfer_id': transfer_id, 'transfer_password': transfer_password})
    assert extravars == {'incomes_register_transfer_id': transfer_id,
                         'incomes_register_transfer_password': transfer_password}
    # The passphrases' type, for projects that keep them in AWX rather than vaulted in the inventory.
    assert inject(PASSPHRASE_TYPE, {'keystore_passphrase': 'k'}) == {
        'renewal_private_key_passphrase': '', 'ir_keystore_passphrase': 'k'}
    before = sandbox.calls()
    (pdd / 'env' / 'cmdline').write_text('--ask-vault-pass --limit newcomer')
    job = run_job(pdd, 'enroll.yml', 'enroll', extravars)
    assert (job['status'], job['rc']) == ('successful', 0), job['stdout'][-4000:]
    assert sandbox.calls()['signNewCertificate'] - before['signNewCertificate'] == 1
    assert list(job['stats']['ok']) == ['newcomer'] and not job['stats']['failures'], job['stats']
    assert_no_secret(job, transfer_password, VAULT_PASSWORD, KEYSTORE_PASSPHRASE)
    assert (root / 'newcomer' / 'certificate.pem').exists()
    # The enroll job deployed the new host's keystore, with the vaulted passphrase.
    keystore = pkcs12.load_pkcs12((root / 'newcomer' / 'keystore.p12').read_bytes(), KEYSTORE_PASSPHRASE.encode())
    assert keystore.cert.certificate.public_bytes(Encoding.PEM) == (root / 'newcomer' / 'certificate.pem').read_bytes()

    # The scheduled renew job template: the vault credential opens the keystore passphrase of the inventory.
    (pdd / 'env' / 'cmdline').write_text('--ask-vault-pass')
    summary = tmp_path / 'renew-summary.json'
    before = sandbox.calls()
    job = run_job(pdd, 'renew.yml', 'renew', {'incomes_register_renew_summary_file': str(summary)})
    assert (job['status'], job['rc']) == ('successful', 0), job['stdout'][-4000:]
    assert sandbox.calls()['renewCertificate'] - before['renewCertificate'] == 1
    stats = job['stats']
    assert sorted(stats['ok']) == ['due', 'newcomer', 'steady'], stats
    assert not stats['failures'] and not stats['dark'], stats
    assert stats['changed'].get('due', 0) > 0, stats
    assert json.loads(summary.read_text())['due']['status'] == 'renewed'
    # Every host's keystore, with the vaulted passphrase the job's vault credential opened.
    for host in core_flow.HOSTS:
        keystore = pkcs12.load_pkcs12((root / host / 'keystore.p12').read_bytes(), KEYSTORE_PASSPHRASE.encode())
        assert keystore.cert is not None, host
    # The events AWX shows per task carry the host and the module's result, without the secrets.
    renewed = [event for event in job['events'] if event.get('event') == 'runner_on_ok'
               and event['event_data'].get('host') == 'due' and renews(event['event_data'].get('res', {}))]
    assert renewed, 'no runner_on_ok event with the renewal of due'
    assert_no_secret(job, VAULT_PASSWORD, KEYSTORE_PASSPHRASE, transfer_password)

    # The audit job template, as AWX runs it with a gate: green now, red when asked for 100 days' margin.
    job = run_job(pdd, 'audit.yml', 'audit', {'audit_output_dir': str(tmp_path / 'report'),
                                              'audit_fail_within_days': 21})
    assert (job['status'], job['rc']) == ('successful', 0), job['stdout'][-4000:]
    rows = json.loads((tmp_path / 'report' / 'certificate-expiry.json').read_text())['certificates']
    assert sorted((row['host'], row['status']) for row in rows) == [
        ('due', 'ok'), ('newcomer', 'ok'), ('steady', 'ok')]
    job = run_job(pdd, 'audit.yml', 'audit-gate', {'audit_output_dir': str(tmp_path / 'report'),
                                                   'audit_fail_within_days': 500})
    assert job['status'] == 'failed' and job['rc'] != 0, job['status']
    assert job['stats']['failures'], job['stats']
    assert 'Certificate audit gate' in job['stdout']
    assert_no_secret(job, VAULT_PASSWORD, KEYSTORE_PASSPHRASE)
