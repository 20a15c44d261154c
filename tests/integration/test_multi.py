"""Many certificates on one host (issue 17): renewal_certificates, one decision run per host, failure isolation,
restarts per certificate, and the enroll playbook with a vaulted mapping of one-time credentials."""
import json
import os
import stat
import subprocess
import sys
import time

import pytest
import yaml
from cryptography import x509

from irsandbox.testing import RunningSandbox

from conftest import ansible_env
from module_helpers import fleet_inventory
from process_kill import kill_tree

pytestmark = pytest.mark.integration

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

# A stand-in for the service manager: `ansible.builtin.service` runs the module named after the host's service
# manager as ansible.legacy.<name>, which a playbook's own library/ directory provides. It records each call that
# succeeds, and fails for the names in IR_TEST_SERVICE_FAIL.
FAKE_SERVICE_MODULE = '''#!/usr/bin/python
import os
from ansible.module_utils.basic import AnsibleModule
OPTIONS = ('name', 'state', 'enabled', 'pattern', 'sleep', 'runlevel', 'arguments', 'args', 'daemon_reload',
           'daemon_reexec', 'scope', 'no_block', 'masked', 'force', 'use', 'user')
module = AnsibleModule(argument_spec=dict((option, dict(type='raw')) for option in OPTIONS), supports_check_mode=True)
if module.params['name'] in os.environ.get('IR_TEST_SERVICE_FAIL', '').split():
    module.fail_json(msg='%s failed to start' % module.params['name'])
with open(os.environ['IR_TEST_SERVICE_LOG'], 'a') as handle:
    handle.write('%s %s\\n' % (module.params['name'], module.params['state']))
module.exit_json(changed=True, name=module.params['name'], state=module.params['state'])
'''

SITE = '''
- name: Renew with the role, as site.yml would
  hosts: all
  gather_facts: false
  roles:
    - role: incomes_register.certificates.renewal
  post_tasks:
    - name: Save the outcome for the test
      ansible.builtin.copy:
        content: "{{ renewal_summary | to_nice_json }}"
        dest: "{{ summary_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
'''


def write_site(tmp_path):
    library = tmp_path / 'library'
    library.mkdir(exist_ok=True)
    for manager in ('service', 'systemd', 'systemd_service', 'sysvinit', 'openrc', 'upstart', 'runit'):
        (library / ('%s.py' % manager)).write_text(FAKE_SERVICE_MODULE)
    site = tmp_path / 'site.yml'
    site.write_text(SITE)
    return str(site)


def one_host_site(sandbox, tmp_path, certificates):
    """Host `firm` with these certificates, and the site playbook over it with the stand-in service manager, saving
    each host's summary in summaries/: (the command that runs it, the inventory, the services' log)."""
    inventory = fleet_inventory(tmp_path / 'inventory.yml', sandbox, tmp_path / 'unused',
                                {'firm': {'renewal_certificates': certificates}},
                                renewal_initial_delay=0, renewal_poll_interval=0.2)
    (tmp_path / 'summaries').mkdir()
    command = [ANSIBLE_PLAYBOOK, write_site(tmp_path), '-i', inventory, '-e', 'summary_dir=' + str(tmp_path / 'summaries')]
    return command, inventory, tmp_path / 'services.log'


def run(command, tmp_path, env=None, timeout=900):
    return subprocess.run(command, capture_output=True, text=True, env=ansible_env(env), cwd=str(tmp_path),
                          timeout=timeout, check=False)


def issue(sandbox, root, name, customer, days, environment='TEST'):
    directory = root / name
    (directory / 'private').mkdir(parents=True, mode=0o700, exist_ok=True)
    sandbox.issue(customer, new_key_path=str(directory / 'private' / 'key.pem'), expires_in_days=days,
                  out=str(directory / 'certificate.pem'), environment=environment)
    return entry(root, name, customer, environment)


def entry(root, name, customer, environment='TEST', **extra):
    directory = root / name
    values = {'customer_id': customer, 'customer_name': 'Customer %s Oy' % customer, 'environment': environment,
              'certificate_path': str(directory / 'certificate.pem'),
              'private_key_path': str(directory / 'private' / 'key.pem'),
              'install_targets': [{'layout': 'combined', 'dest': str(directory / 'deploy' / 'combined.pem')}]}
    values.update(extra)
    return values


def not_after(path):
    cert = x509.load_pem_x509_certificate(open(path, 'rb').read())
    return cert.not_valid_after_utc


def test_one_customers_test_and_production_certificates_and_their_services(sandbox, tmp_path):
    root = tmp_path / 'certs'
    customer = '1701001-1'
    certificates = [
        dict(issue(sandbox, root, 'test', customer, 30), restart_services=['payroll-test', 'shared']),
        dict(issue(sandbox, root, 'production', customer, 40, environment='PRODUCTION'),
             restart_services=['payroll-production', 'shared'], reload_services=['proxy']),
        # Another customer's certificate on the same host, far from its window and deployed nowhere (a first
        # deployment is a change): its service stays untouched.
        dict(issue(sandbox, root, 'other', '1701002-2', 400), restart_services=['idle'], install_targets=[]),
    ]
    command, dummy, service_log = one_host_site(sandbox, tmp_path, certificates)
    env = {'IR_TEST_SERVICE_LOG': str(service_log)}
    before = sandbox.calls()
    done = run(command, tmp_path, env)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    after = sandbox.calls()
    assert after['renewCertificate'] - before['renewCertificate'] == 2, 'one RenewCertificate per due certificate'
    assert after['signNewCertificate'] == before['signNewCertificate']
    summary = json.loads((tmp_path / 'summaries' / 'firm.json').read_text())
    rows = dict((row['environment'] + ':' + row['customer_id'], row) for row in summary['certificates'])
    assert rows['TEST:' + customer]['status'] == 'renewed'
    assert rows['PRODUCTION:' + customer]['status'] == 'renewed'
    assert rows['TEST:1701002-2']['status'] == 'ok'
    assert summary['status'] == 'renewed'
    for name in ('test', 'production'):
        assert (not_after(root / name / 'certificate.pem') - not_after(root / 'other' / 'certificate.pem')).days > 300
        combined = (root / name / 'deploy' / 'combined.pem').read_bytes()
        assert (root / name / 'certificate.pem').read_bytes().strip() in combined
        assert not (root / name / 'certificate.pem.state.json').exists()
    # Each service of a changed certificate once, however many of its certificates changed; none other.
    calls = sorted(service_log.read_text().splitlines())
    assert calls == ['payroll-production restarted', 'payroll-test restarted', 'proxy reloaded', 'shared restarted'], calls

    # The rerun: nothing due, no call, nothing restarted.
    before = sandbox.calls()
    done = run(command, tmp_path, env)
    assert done.returncode == 0, done.stdout[-6000:]
    assert sandbox.calls()['total'] == before['total']
    assert sorted(service_log.read_text().splitlines()) == calls
    summary = json.loads((tmp_path / 'summaries' / 'firm.json').read_text())
    assert [row['status'] for row in summary['certificates']] == ['ok', 'ok', 'ok']


def test_twenty_customers_on_one_host_two_need_people_the_others_end_well(sandbox, tmp_path):
    root = tmp_path / 'certs'
    certificates, expected = [], {}
    for index in range(20):
        name, customer = 'c%02d' % index, '17%05d-%d' % (index + 100, index % 10)
        days = 30 if index in (3, 9, 15) else -3 if index == 7 else 200 + index * 20
        certificates.append(issue(sandbox, root, name, customer, days))
        expected[certificates[-1]['certificate_path']] = (
            'renewed' if index in (3, 9, 15) else 'expired' if index == 7 else 'failed' if index == 12 else 'ok')
    # A damaged key: the certificate is valid, its key file is not a key.
    damaged = root / 'c12' / 'private' / 'key.pem'
    damaged.write_text('-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n')
    os.chmod(damaged, stat.S_IRUSR | stat.S_IWUSR)
    inventory = fleet_inventory(tmp_path / 'inventory.yml', sandbox, tmp_path / 'unused',
                                {'firm': {'renewal_certificates': certificates}},
                                renewal_initial_delay=0, renewal_poll_interval=0.2)
    summary_file = tmp_path / 'summary.json'
    before = sandbox.calls()
    done = run([ANSIBLE_PLAYBOOK, 'incomes_register.certificates.renew', '-i', inventory,
                '-e', 'incomes_register_renew_summary_file=' + str(summary_file)], tmp_path)
    assert done.returncode != 0, 'two certificates need people: the scheduled job turns red'
    after = sandbox.calls()
    assert after['renewCertificate'] - before['renewCertificate'] == 3
    outcome = json.loads(summary_file.read_text())['firm']
    assert outcome['status'] == 'failed'
    statuses = dict((row['path'], row['status']) for row in outcome['certificates'])
    assert statuses == expected
    # The summary names the two that need people, with host, customer, environment and path.
    attention = [line for line in done.stdout.splitlines() if 'need attention' in line]
    assert attention, done.stdout[-4000:]
    assert '2 certificate(s) need attention' in attention[0]
    assert 'firm=expired (1700107-7 TEST %s)' % (root / 'c07' / 'certificate.pem') in attention[0]
    assert 'firm=failed (1700112-2 TEST %s)' % (root / 'c12' / 'certificate.pem') in attention[0]
    for path, status in expected.items():
        deployed = os.path.join(os.path.dirname(path), 'deploy', 'combined.pem')
        assert os.path.exists(deployed) == (status in ('ok', 'renewed')), path
        if status == 'renewed':
            assert (not_after(path) - not_after(str(root / 'c00' / 'certificate.pem'))).days > 300
            assert not os.path.exists(path + '.state.json')

    # The audit reads every certificate of renewal_certificates: one row each.
    done = run([ANSIBLE_PLAYBOOK, 'incomes_register.certificates.audit', '-i', inventory, '--check',
                '-e', 'audit_output_dir=' + str(tmp_path / 'report')], tmp_path)
    assert done.returncode == 0, done.stdout[-4000:]
    report = json.loads((tmp_path / 'report' / 'certificate-expiry.json').read_text())
    assert report['summary']['total'] == 20
    assert sorted(row['path'] for row in report['certificates']) == sorted(expected)

    # The rerun makes no call: the renewed ones are out of the window, the two still need people.
    before = sandbox.calls()
    done = run([ANSIBLE_PLAYBOOK, 'incomes_register.certificates.renew', '-i', inventory,
                '-e', 'incomes_register_renew_summary_file=' + str(summary_file)], tmp_path)
    assert done.returncode != 0
    assert sandbox.calls()['total'] == before['total']
    statuses = dict((row['path'], row['status']) for row in json.loads(summary_file.read_text())['firm']['certificates'])
    assert statuses == dict((path, 'ok' if status == 'renewed' else status) for path, status in expected.items())


def test_two_customers_inheriting_one_install_target_are_refused_and_the_third_deployed(sandbox, tmp_path):
    root = tmp_path / 'certs'
    shared = tmp_path / 'shared'
    certificates = []
    for name, customer in (('a', '1701011-1'), ('b', '1701012-2')):
        certificate = dict(issue(sandbox, root, name, customer, 400), restart_services=['payroll-' + name])
        # renewal_install_targets, inherited by both.
        del certificate['install_targets']
        certificates.append(certificate)
    certificates.append(dict(issue(sandbox, root, 'c', '1701013-3', 400), restart_services=['payroll-c']))
    inventory = fleet_inventory(tmp_path / 'inventory.yml', sandbox, tmp_path / 'unused',
                                {'firm': {'renewal_certificates': certificates}},
                                renewal_install_targets=[{'layout': 'combined', 'dest': str(shared / 'combined.pem')}])
    site = write_site(tmp_path)
    (tmp_path / 'summaries').mkdir()
    service_log = tmp_path / 'services.log'
    done = run([ANSIBLE_PLAYBOOK, site, '-i', inventory, '-e', 'summary_dir=' + str(tmp_path / 'summaries')],
               tmp_path, {'IR_TEST_SERVICE_LOG': str(service_log)})
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    rows = dict((row['customer_id'], row) for row in
                json.loads((tmp_path / 'summaries' / 'firm.json').read_text())['certificates'])
    expected = ('targets[0] (certificate %s) dest and targets[1] (certificate %s) dest are the same file, %s'
                % (root / 'a' / 'certificate.pem', root / 'b' / 'certificate.pem', shared / 'combined.pem'))
    for customer in ('1701011-1', '1701012-2'):
        assert rows[customer]['status'] == 'failed'
        assert expected in rows[customer]['message'], rows[customer]['message']
    # Neither customer's certificate reached the shared file, so no service was told of a change.
    assert not shared.exists()
    assert rows['1701013-3']['status'] == 'ok' and rows['1701013-3']['installed_changed'] == 1
    assert service_log.read_text().splitlines() == ['payroll-c restarted']


ENROLL_DELAY = 1


@pytest.fixture(scope='module')
def slow_sign_sandbox(tmp_path_factory):
    with RunningSandbox(str(tmp_path_factory.mktemp('enroll-sandbox')), retrieval_delay=0) as running:
        yield running


def phases(certificates):
    found = {}
    for certificate in certificates:
        try:
            found[certificate['certificate_path']] = json.loads(
                open(certificate['certificate_path'] + '.state.json').read()).get('phase')
        except (OSError, ValueError):
            found[certificate['certificate_path']] = None
    return found


def test_enrollment_of_five_certificates_interrupted_after_two_resumes_only_the_rest(slow_sign_sandbox, tmp_path):
    sandbox = slow_sign_sandbox
    root = tmp_path / 'certs'
    certificates, credentials, passwords = [], {}, []
    for index in range(5):
        customer = '17%05d-%d' % (500 + index, index)
        # Two of them one customer's TEST and PRODUCTION certificates.
        environment = 'PRODUCTION' if index == 4 else 'TEST'
        if index == 4:
            customer = certificates[0]['customer_id']
        transfer_id, password = sandbox.subscribe(customer, 'Enroll %d Oy' % index, environment)
        credentials.setdefault(customer, {})[environment] = {'transfer_id': transfer_id, 'transfer_password': password}
        passwords.append(password)
        certificates.append(entry(root, 'e%d' % index, customer, environment))
    # The credentials live in a (here unencrypted) vars file given with -e @file, as a vaulted one would be.
    secrets = tmp_path / 'enroll-secrets.yml'
    secrets.write_text(yaml.safe_dump({'enroll_credentials': credentials}))
    os.chmod(secrets, 0o600)
    inventory = fleet_inventory(tmp_path / 'inventory.yml', sandbox, tmp_path / 'unused',
                                {'firm': {'renewal_certificates': certificates}},
                                renewal_initial_delay=0, renewal_poll_interval=0.2)
    command = [ANSIBLE_PLAYBOOK, 'incomes_register.certificates.enroll', '-i', inventory, '-e', '@' + str(secrets)]
    # Each SignNewCertificate is answered a moment late, so the run can be killed between two certificates.
    sandbox.set_fault('signNewCertificate', 'delay', seconds=ENROLL_DELAY)
    sandbox.reset_calls()
    first = subprocess.Popen(command + ['-vvv'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=ansible_env(), cwd=str(tmp_path), start_new_session=True, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if list(phases(certificates).values()).count('submitted') >= 2:
                break
            time.sleep(0.02)
        kill_tree(first.pid)
    finally:
        first_output = first.communicate(timeout=60)[0]
    after_kill = phases(certificates)
    sandbox.clear_faults()
    submitted = [path for path, phase in after_kill.items() if phase == 'submitted']
    assert len(submitted) >= 2, after_kill
    signs = sandbox.calls()['signNewCertificate']
    assert signs >= 2
    # A certificate whose request was on its way when the run died may have used its credentials: the rerun
    # must not send them again. The operator then gets a new pair from the e-service (here: subscribes again).
    unknown = [c for c in certificates if after_kill[c['certificate_path']] in ('prepared', 'sent')]

    resumed = run(command + ['-vvv'], tmp_path)
    after_resume = sandbox.calls()
    for password in passwords:
        assert password not in first_output
        assert password not in resumed.stdout + resumed.stderr
    fresh = [c for c in certificates if after_kill[c['certificate_path']] is None]
    assert after_resume['signNewCertificate'] - signs == len(fresh), 'only the certificates never sent are sent'
    if unknown:
        assert resumed.returncode != 0
        assert 'not sent again' in resumed.stdout
        for certificate in unknown:
            transfer_id, password = sandbox.subscribe(certificate['customer_id'], 'Again Oy', certificate['environment'])
            credentials[certificate['customer_id']][certificate['environment']] = {
                'transfer_id': transfer_id, 'transfer_password': password}
        secrets.write_text(yaml.safe_dump({'enroll_credentials': credentials}))
        resumed = run(command, tmp_path)
    assert resumed.returncode == 0, resumed.stdout[-6000:] + resumed.stderr[-2000:]
    for certificate in certificates:
        cert = x509.load_pem_x509_certificate(open(certificate['certificate_path'], 'rb').read())
        assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == certificate['customer_id']
        assert not os.path.exists(certificate['certificate_path'] + '.state.json')
    assert sandbox.calls()['signNewCertificate'] == 5 + len(unknown)

    # Everything enrolled: a rerun makes no call, and nobody is asked for anything.
    before = sandbox.calls()['total']
    again = run(command, tmp_path)
    assert again.returncode == 0, again.stdout[-3000:]
    assert sandbox.calls()['total'] == before
    assert 'Ask for the TransferID' in again.stdout and 'skipping' in again.stdout.split('Ask for the TransferID')[1][:300]


def test_enroll_does_not_prompt_when_hosts_carry_their_credentials_and_says_what_is_missing(sandbox, tmp_path):
    root = tmp_path / 'certs'
    transfer_id, password = sandbox.subscribe('1700601-1', 'Prompt Oy', 'TEST')
    listed_id, listed_password = sandbox.subscribe('1700603-3', 'Customer 1700603-3 Oy', 'TEST')
    several_id, several_password = sandbox.subscribe('1700604-4', 'Customer 1700604-4 Oy', 'TEST')
    hosts = {
        'carrier': {'renewal_customer_id': '1700601-1', 'enroll_transfer_id': transfer_id,
                    'enroll_transfer_password': password,
                    'renewal_certificate_path': str(root / 'carrier' / 'certificate.pem'),
                    'renewal_private_key_path': str(root / 'carrier' / 'private' / 'key.pem')},
        # No credentials anywhere for this one: it fails alone, naming what is missing, and nothing is sent.
        'bare': {'renewal_customer_id': '1700602-2',
                 'renewal_certificate_path': str(root / 'bare' / 'certificate.pem'),
                 'renewal_private_key_path': str(root / 'bare' / 'private' / 'key.pem')},
        # One certificate given as a list of one: the host's pair serves it as it serves renewal_customer_id's.
        'listed': {'renewal_certificates': [entry(root, 'listed', '1700603-3')],
                   'enroll_transfer_id': listed_id, 'enroll_transfer_password': listed_password},
        # Two certificates and one pair: which one it is for cannot be told, so it serves neither.
        'several': {'renewal_certificates': [entry(root, 'several-a', '1700604-4'), entry(root, 'several-b', '1700605-5')],
                    'enroll_transfer_id': several_id, 'enroll_transfer_password': several_password},
    }
    inventory = fleet_inventory(tmp_path / 'inventory.yml', sandbox, tmp_path / 'unused', hosts,
                                renewal_initial_delay=0, renewal_poll_interval=0.2)
    before = sandbox.calls()['signNewCertificate']
    done = run([ANSIBLE_PLAYBOOK, 'incomes_register.certificates.enroll', '-i', inventory], tmp_path)
    assert done.returncode != 0
    assert sandbox.calls()['signNewCertificate'] - before == 2
    assert 'TransferID from the e-service' not in done.stdout, 'no prompt when hosts carry credentials'
    assert os.path.exists(root / 'carrier' / 'certificate.pem')
    assert os.path.exists(root / 'listed' / 'certificate.pem')
    for name in ('bare', 'several-a', 'several-b'):
        assert not os.path.exists(root / name / 'certificate.pem')
        assert 'FAILED %s' % ('bare' if name == 'bare' else 'several') in done.stdout
    assert done.stdout.count('needs the one-time TransferID and TransferPassword') >= 3, done.stdout[-6000:]
    assert 'for a host with one certificate, from enroll_transfer_id' in done.stdout
    for secret in (password, listed_password, several_password):
        assert secret not in done.stdout
    # Enroll deploys what it enrolled; the renew run right after it has nothing to send or to change.
    assert os.path.exists(root / 'listed' / 'deploy' / 'combined.pem'), done.stdout[-8000:]
    assert not os.path.exists(root / 'listed' / 'certificate.pem.changed')
    calls = sandbox.calls()['total']
    renewed = run([ANSIBLE_PLAYBOOK, 'incomes_register.certificates.renew', '-i', inventory, '--limit', 'listed'],
                  tmp_path)
    assert renewed.returncode == 0, renewed.stdout[-3000:]
    assert sandbox.calls()['total'] == calls
    assert 'changed=0' in renewed.stdout.split('PLAY RECAP')[1], renewed.stdout[-3000:]


def test_enroll_deploys_the_new_certificates_and_restarts_their_services_once_also_when_another_fails(sandbox, tmp_path):
    """An enrolled host is ready without a renew run: its install targets are written and the services of its new
    certificates restarted or reloaded, once, before the host fails for a certificate left without credentials."""
    root = tmp_path / 'certs'
    credentials = {}
    for customer in ('1700611-1', '1700612-2', '1700613-3'):
        transfer_id, password = sandbox.subscribe(customer, 'Customer %s Oy' % customer, 'TEST')
        credentials[customer] = {'TEST': {'transfer_id': transfer_id, 'transfer_password': password}}
    (root / 'blocked').mkdir(parents=True)
    (root / 'blocked' / 'file').write_text('a file where a directory should be\n')
    certificates = [
        entry(root, 'restarted', '1700611-1', restart_services=['payroll-a']),
        entry(root, 'reloaded', '1700612-2', install_targets=[], reload_services=['payroll-b']),
        # Its certificate is enrolled, its deployment cannot be written.
        entry(root, 'undeployable', '1700613-3',
              install_targets=[{'layout': 'combined', 'dest': str(root / 'blocked' / 'file' / 'combined.pem')}]),
        # No credentials for this one.
        entry(root, 'uncredited', '1700614-4', restart_services=['payroll-d']),
    ]
    secrets = tmp_path / 'enroll-secrets.yml'
    secrets.write_text(yaml.safe_dump({'enroll_credentials': credentials}))
    inventory = fleet_inventory(tmp_path / 'inventory.yml', sandbox, tmp_path / 'unused',
                                {'firm': {'renewal_certificates': certificates}},
                                renewal_initial_delay=0, renewal_poll_interval=0.2)
    write_site(tmp_path)
    service_log = tmp_path / 'services.log'
    service_log.write_text('')
    command = [ANSIBLE_PLAYBOOK, 'incomes_register.certificates.enroll', '-i', inventory, '-e', '@' + str(secrets)]
    env = {'ANSIBLE_LIBRARY': str(tmp_path / 'library'), 'IR_TEST_SERVICE_LOG': str(service_log)}

    done = run(command, tmp_path, env)
    assert done.returncode != 0
    assert sandbox.calls()['signNewCertificate'] >= 3
    assert sorted(service_log.read_text().splitlines()) == ['payroll-a restarted', 'payroll-b reloaded'], done.stdout[-6000:]
    combined = (root / 'restarted' / 'deploy' / 'combined.pem').read_bytes()
    assert (root / 'restarted' / 'certificate.pem').read_bytes() in combined
    for name in ('restarted', 'reloaded', 'undeployable'):
        assert (root / name / 'certificate.pem').exists()
        assert not (root / name / 'certificate.pem.changed').exists(), 'the handlers removed the mark'
    assert not (root / 'uncredited' / 'certificate.pem').exists()
    # The report's list, one quoted line per certificate.
    lines = [line.strip().strip('",') for line in done.stdout.splitlines()
             if line.strip().startswith(('"OK firm ', '"FAILED firm '))]
    assert [line.split(' ')[0] for line in lines] == ['OK', 'OK', 'FAILED', 'FAILED'], lines
    assert 'Deploying it failed: ' in lines[2] and str(root / 'blocked' / 'file') in lines[2], lines[2]
    assert 'needs the one-time TransferID and TransferPassword' in lines[3], lines[3]
    assert '2 of 4 certificate(s) not enrolled or not deployed' in done.stdout
    for pair in credentials.values():
        assert pair['TEST']['transfer_password'] not in done.stdout + done.stderr

    # The rerun sends nothing for the certificates in place and restarts nothing: nothing of theirs changed.
    signs = sandbox.calls()['signNewCertificate']
    again = run(command, tmp_path, env)
    assert again.returncode != 0
    assert sandbox.calls()['signNewCertificate'] == signs
    assert sorted(service_log.read_text().splitlines()) == ['payroll-a restarted', 'payroll-b reloaded']


def test_services_whose_restart_failed_are_restarted_by_the_rerun_that_finds_nothing_to_renew(sandbox, tmp_path):
    """A run that stops between the swap and the restart (here the restart fails; a kill is the same) must not
    leave the services on the old pair until it expires: the rerun renews nothing, so only the change mark
    tells it to restart them."""
    root = tmp_path / 'certs'
    certificates = [
        dict(issue(sandbox, root, 'due', '1701020-5', 30), restart_services=['payroll-due'], install_targets=[]),
        dict(issue(sandbox, root, 'later', '1701021-3', 400), restart_services=['payroll-later'], install_targets=[]),
    ]
    command, inventory, service_log = one_host_site(sandbox, tmp_path, certificates)
    service_log.write_text('')
    mark = root / 'due' / 'certificate.pem.changed'
    replaced_not_after = not_after(root / 'due' / 'certificate.pem')

    done = run(command, tmp_path, {'IR_TEST_SERVICE_LOG': str(service_log), 'IR_TEST_SERVICE_FAIL': 'payroll-due'})
    assert done.returncode != 0 and 'payroll-due failed to start' in done.stdout, done.stdout[-6000:]
    assert (not_after(root / 'due' / 'certificate.pem') - not_after(root / 'later' / 'certificate.pem')).days > 300
    assert mark.exists(), 'the swap left its mark, and the failed handler did not remove it'
    assert not (root / 'later' / 'certificate.pem.changed').exists()
    assert service_log.read_text() == ''
    # The audit, which reads only files, tells that the services may still use the old certificate, and its gate
    # counts that one's expiry.
    audit = run([ANSIBLE_PLAYBOOK, 'incomes_register.certificates.audit', '-i', inventory,
                 '-e', 'audit_output_dir=' + str(tmp_path / 'audit'), '-e', 'audit_fail_within_days=40'], tmp_path)
    assert audit.returncode != 0, audit.stdout[-6000:]
    assert ('%s: its services may still use the certificate it replaced, which expires in 29 days '
            '(fail_within_days 40)' % (root / 'due' / 'certificate.pem')) in audit.stdout, audit.stdout[-6000:]
    rows = json.loads((tmp_path / 'audit' / 'certificate-expiry.json').read_text())['certificates']
    notes = dict((row['path'], (row['status'], row['replaced_days_remaining'], row['note'])) for row in rows)
    due = notes[str(root / 'due' / 'certificate.pem')]
    assert due[:2] == ('restart-pending', 29)
    assert due[2].startswith('Replaced at 20'), due
    assert due[2].endswith(
        ', and its services not restarted since: they may still use the certificate it replaced, which expires on %s '
        '(29 days left). The next renew run that succeeds for it restarts them; if they have been restarted '
        'otherwise, remove %s.' % (replaced_not_after.strftime('%Y-%m-%d'), mark)), due
    assert notes[str(root / 'later' / 'certificate.pem')] == ('ok', None, '')
    # A check run predicts the restart and removes nothing.
    check_log = tmp_path / 'services-check.log'
    done = run(command + ['--check'], tmp_path, {'IR_TEST_SERVICE_LOG': str(check_log)})
    assert done.returncode == 0, done.stdout[-6000:]
    assert check_log.read_text().splitlines() == ['payroll-due restarted']
    assert mark.exists()

    before = sandbox.calls()
    done = run(command, tmp_path, {'IR_TEST_SERVICE_LOG': str(service_log)})
    assert done.returncode == 0, done.stdout[-6000:]
    assert sandbox.calls()['total'] == before['total'], 'nothing is due: nothing is sent'
    assert service_log.read_text().splitlines() == ['payroll-due restarted']
    assert not mark.exists(), 'removed once the services were restarted'
    rows = json.loads((tmp_path / 'summaries' / 'firm.json').read_text())['certificates']
    assert [(row['status'], row['changed']) for row in rows] == [('ok', True), ('ok', False)]
    assert 'stopped before its services were restarted (%s)' % mark in rows[0]['message']

    done = run(command, tmp_path, {'IR_TEST_SERVICE_LOG': str(service_log)})
    assert done.returncode == 0, done.stdout[-6000:]
    assert service_log.read_text().splitlines() == ['payroll-due restarted'], 'one restart per change'
    rows = json.loads((tmp_path / 'summaries' / 'firm.json').read_text())['certificates']
    assert [row['changed'] for row in rows] == [False, False]


def test_a_plays_module_defaults_naming_a_certificate_do_not_turn_the_role_into_a_run_over_it(sandbox, tmp_path):
    """The role's renew task names no certificate, so that its action plugin reads the host's: a path that the
    play's module_defaults give certificate_renew (for a task of its own) must not stand in for them."""
    root = tmp_path / 'certs'
    certificates = [issue(sandbox, root, 'due', '1701031-1', 20), issue(sandbox, root, 'later', '1701032-2', 300)]
    decoy = issue(sandbox, root, 'decoy', '1701033-3', 10)
    command, dummy, service_log = one_host_site(sandbox, tmp_path, certificates)
    site = yaml.safe_load(open(command[1]))
    # For the module itself: the role's own module_defaults for the group replace a play's for the group, not these.
    # Nor may its window or key size stand in for the host's (the role's defaults here: 60 days, 2048 bits).
    # Nor a passphrase, endpoint or state file for the host's empty variables, which the wave's polls would not have.
    site[0]['module_defaults'] = {'incomes_register.certificates.certificate_renew': {
        'customer_id': decoy['customer_id'], 'path': decoy['certificate_path'],
        'private_key_path': decoy['private_key_path'], 'renew_before_days': 5, 'key_size': 3072,
        'private_key_passphrase': 'not the keys', 'state_path': str(root / 'shared.state.json'),
        'customer_name': 'Decoy Oy', 'owner': 'nobody'}}
    open(command[1], 'w').write(yaml.safe_dump(site))
    decoy_before = (root / 'decoy' / 'certificate.pem').read_bytes()
    before = sandbox.calls()
    done = run(command, tmp_path, {'IR_TEST_SERVICE_LOG': str(service_log)})
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert sandbox.calls()['renewCertificate'] - before['renewCertificate'] == 1
    summary = json.loads((tmp_path / 'summaries' / 'firm.json').read_text())
    assert [(row['customer_id'], row['status']) for row in summary['certificates']] == [
        ('1701031-1', 'renewed'), ('1701032-2', 'ok')]
    assert (not_after(root / 'due' / 'certificate.pem') - not_after(root / 'later' / 'certificate.pem')).days > 300
    renewed = x509.load_pem_x509_certificate((root / 'due' / 'certificate.pem').read_bytes())
    assert renewed.public_key().key_size == 2048
    assert (root / 'decoy' / 'certificate.pem').read_bytes() == decoy_before


def test_a_customer_id_from_the_plays_module_defaults_does_not_stand_in_for_the_roles(sandbox, tmp_path):
    """The wave polls with the customer of the role's variables, so the renew task must submit with no other: a
    certificate whose entry and host give none is refused before anything is sent, not submitted under the play's
    module_defaults and then polled without a customer."""
    root = tmp_path / 'certs'
    due = issue(sandbox, root, 'due', '1701031-1', 20)
    del due['customer_id']
    command, dummy, service_log = one_host_site(sandbox, tmp_path, [due])
    site = yaml.safe_load(open(command[1]))
    site[0]['module_defaults'] = {'incomes_register.certificates.certificate_renew': {'customer_id': '1701031-1'}}
    open(command[1], 'w').write(yaml.safe_dump(site))
    before_bytes = (root / 'due' / 'certificate.pem').read_bytes()
    before = sandbox.calls()
    done = run(command, tmp_path, {'IR_TEST_SERVICE_LOG': str(service_log)})
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert sandbox.calls() == before
    assert (root / 'due' / 'certificate.pem').read_bytes() == before_bytes
    assert not (root / 'due' / 'certificate.pem.state.json').exists()
    rows = json.loads((tmp_path / 'summaries' / 'firm.json').read_text())['certificates']
    assert [row['status'] for row in rows] == ['failed']
    assert rows[0]['message'].startswith('This certificate has no customer_id')
