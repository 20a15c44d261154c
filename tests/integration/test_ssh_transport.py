"""The collection over real SSH, as users run it: the controller reaches the managed host through OpenSSH
as an unprivileged login user and becomes root, or the application's user, with sudo; pipelining off (the
module files go through the login user's temporary directory) and on (through sudo's standard input).

The host is 127.0.0.1 (tests/integration/ssh_host.py); the tests skip, saying why, where sshd cannot be
installed or started."""
import json
import os
import pwd
import shutil

import pytest
import yaml

import core_flow
import ssh_host

pytestmark = [pytest.mark.integration, pytest.mark.ssh]


@pytest.fixture(scope='module')
def host():
    server = ssh_host.SshHost()
    try:
        server.start()
    except ssh_host.Unavailable as reason:
        pytest.skip('no SSH host: %s' % reason)
    yield server
    server.stop()


def owner_of(path):
    return pwd.getpwuid(os.stat(path).st_uid).pw_name


@pytest.fixture
def host_root(host):
    """Where the managed host keeps this test's files: a directory the login user cannot write to."""
    root = os.path.join(host.work, 'hosts-%d' % len(os.listdir(host.work)))
    os.makedirs(root, mode=0o755)
    return root


@pytest.mark.parametrize('pipelining', [False, True], ids=['pipelining-off', 'pipelining-on'])
def test_core_flow_over_ssh_becoming_root(sandbox, run_playbook, tmp_path, host, host_root, pipelining):
    trust_src = tmp_path / 'trust-src'
    shutil.copytree(os.path.dirname(sandbox.service_ca_pem), str(trust_src))
    core_flow.prepare_hosts(sandbox, host_root)

    def connection(name):
        variables = host.inventory_vars(ansible_pipelining=pipelining)
        if name == 'due':
            # The certificate's files belong to the application's user (the modules' owner option).
            variables['renewal_owner'] = host.app
        return variables

    def check_files(root, name):
        key = os.path.join(root, name, 'private', 'key.pem')
        expected = host.app if name == 'due' else 'root'
        assert owner_of(key) == expected, (name, owner_of(key))
        assert os.stat(key).st_mode & 0o777 == 0o600
        assert owner_of(os.path.join(root, name, 'certificate.pem')) == expected
        assert os.path.exists(os.path.join(root, name, 'deploy', 'combined.pem'))

    inventory = core_flow.write_inventory(tmp_path / 'inventory.yml', sandbox, host_root, trust_src, connection)
    logins = host.logins()
    runs = core_flow.run_core(sandbox, run_playbook, inventory, tmp_path, host_root, check_files=check_files)
    assert all(run.returncode == 0 for run in runs.values())
    # It went over SSH as the login user: sshd let it in (ControlPersist keeps one connection open for the
    # hosts, all 127.0.0.1 as the same user, across the runs, possibly the one the fixture opened: so no count).
    assert logins >= 1 and host.logins() >= 1, host.log_tail()
    assert os.path.isdir(os.path.join(os.path.expanduser('~' + host.login), '.ansible')), 'nothing ran as the login user'


@pytest.mark.parametrize('pipelining', [False, True], ids=['pipelining-off', 'pipelining-on'])
def test_renew_install_and_audit_as_the_application_user(sandbox, run_playbook, tmp_path, host, pipelining):
    """become_user is the application's user, not root: its certificate, key, trust files and install
    target live in its home; with pipelining off Ansible hands it the module files with ACLs (setfacl)."""
    home = os.path.expanduser('~' + host.app)
    root = os.path.join(home, 'pipelining-%s' % ('on' if pipelining else 'off'))
    hosts = {'app': ('1000104-4', 20)}
    core_flow.prepare_hosts(sandbox, root, hosts)
    shutil.chown(home, host.app)
    for directory, dirs, files in os.walk(root):
        for name in [directory] + [os.path.join(directory, f) for f in files]:
            shutil.chown(name, host.app, host.app)
    trust_src = tmp_path / 'trust-src'
    shutil.copytree(os.path.dirname(sandbox.service_ca_pem), str(trust_src))
    inventory = core_flow.write_inventory(
        tmp_path / 'inventory.yml', sandbox, root, trust_src,
        host.inventory_vars(ansible_pipelining=pipelining, ansible_become_user=host.app), hosts=hosts,
        role_vars={'renewal_install_targets': [
            {'layout': 'pkcs12', 'dest': root + '/{{ inventory_hostname }}/deploy/keystore.p12',
             'pkcs12_passphrase': 'app-keystore-phrase-S3cret'}]})

    before = sandbox.calls()
    summary = str(tmp_path / 'summary.json')
    run = run_playbook('incomes_register.certificates.renew', {'incomes_register_renew_summary_file': summary},
                       inventory=inventory, args=['-v'])
    assert run.returncode == 0, run
    assert json.load(open(summary))['app']['status'] == 'renewed'
    assert sandbox.calls()['renewCertificate'] - before['renewCertificate'] == 1
    keystore = os.path.join(root, 'app', 'deploy', 'keystore.p12')
    for path in (keystore, os.path.join(root, 'app', 'private', 'key.pem'), os.path.join(root, 'app', 'trust')):
        assert owner_of(path) == host.app, path
    assert os.stat(keystore).st_mode & 0o077 == 0, oct(os.stat(keystore).st_mode)
    assert 'app-keystore-phrase-S3cret' not in run.output

    before = sandbox.calls()
    rerun = run_playbook('incomes_register.certificates.renew', {}, inventory=inventory)
    assert rerun.returncode == 0, rerun
    assert core_flow.recap(rerun.output)['app']['changed'] == 0, rerun
    assert sandbox.calls()['total'] == before['total']

    audit = run_playbook('incomes_register.certificates.audit', {'audit_output_dir': str(tmp_path / 'report')},
                         inventory=inventory, args=['--check'])
    assert audit.returncode == 0, audit
    rows = json.load(open(str(tmp_path / 'report' / 'certificate-expiry.json')))['certificates']
    assert [(row['host'], row['status']) for row in rows] == [('app', 'ok')]
    # The inventory as written holds the passphrase; the runs must not have shown it.
    assert 'app-keystore-phrase-S3cret' in yaml.safe_dump(yaml.safe_load(open(inventory)))
    assert 'app-keystore-phrase-S3cret' not in audit.output + rerun.output
