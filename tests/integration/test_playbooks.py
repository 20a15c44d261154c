"""The renewal role and the enroll/renew/audit playbooks over a five-host inventory (issue 4)."""
import csv
import datetime
import html.parser
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import ansible_env
from cryptography import x509
from module_helpers import encrypt_key

pytestmark = pytest.mark.integration

PLAYBOOKS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'playbooks')

STORIES = {
    # host: (customer_id, expires_in_days or None for no certificate)
    'fresh': ('1000001-1', 700),
    'window': ('1000002-2', 45),
    # The same organisation on another server, with its own certificate and key.
    'window-twin': ('1000002-2', 50),
    'five': ('1000003-3', 5),
    'expired': ('1000004-4', -3),
    'missing': ('1000005-5', None),
}
EXPECTED_FIRST_RUN = {'fresh': 'ok', 'window': 'renewed', 'window-twin': 'renewed', 'five': 'renewed',
                      'expired': 'expired', 'missing': 'missing'}


def write_inventory(path, sandbox, root, hosts):
    trust_src = os.path.join(os.path.dirname(str(root)), 'trust-src')
    if not os.path.exists(trust_src):
        shutil.copytree(os.path.dirname(sandbox.service_ca_pem), trust_src)
    inventory = {'all': {
        'vars': {
            'ansible_connection': 'local',
            'ansible_python_interpreter': '{{ ansible_playbook_python }}',
            'renewal_environment': 'TEST',
            'renewal_endpoint': sandbox.url,
            # The role copies the trust files into a directory it creates on each host, and the
            # service and issuing CA paths follow from renewal_trust_dir by default.
            # Relative, as in the README: run_playbook runs ansible-playbook in the directory above root.
            'renewal_trust_src_dir': 'trust-src',
            'renewal_trust_files': ['service-signing-ca.pem', 'issuing-ca.pem', 'tls-ca.pem'],
            'renewal_trust_dir': str(root) + '/{{ inventory_hostname }}/trust',
            'renewal_tls_ca_path': '{{ renewal_trust_dir }}/tls-ca.pem',
            'renewal_certificate_path': str(root) + '/{{ inventory_hostname }}/certificate.pem',
            'renewal_private_key_path': str(root) + '/{{ inventory_hostname }}/private/key.pem',
            'renewal_initial_delay': 0,
            'renewal_poll_interval': 0.2,
            'renewal_install_targets': [{
                'layout': 'combined', 'dest': str(root) + '/{{ inventory_hostname }}/deploy/combined.pem'}],
        },
        'hosts': dict((name, {'renewal_customer_id': customer}) for name, customer in hosts.items()),
    }}
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


@pytest.fixture
def fleet(sandbox, tmp_path):
    root = tmp_path / 'hosts'
    for name, (customer, days) in STORIES.items():
        (root / name / 'private').mkdir(parents=True, mode=0o700)
        if days is not None:
            sandbox.issue(customer, new_key_path=str(root / name / 'private' / 'key.pem'), expires_in_days=days,
                          out=str(root / name / 'certificate.pem'))
    inventory = write_inventory(tmp_path / 'inventory.yml', sandbox, root,
                                dict((name, customer) for name, (customer, days) in STORIES.items()))
    return root, inventory


def recap_changed(output):
    """{host: changed count} from the PLAY RECAP lines."""
    counts = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == ':' and parts[3].startswith('changed='):
            counts[parts[0]] = int(parts[3].split('=')[1])
    return counts


def test_renew_playbook_over_five_hosts_then_rerun_changes_nothing(sandbox, fleet, run_playbook, tmp_path):
    root, inventory = fleet
    summary_file = str(tmp_path / 'renew-summary.json')
    before = sandbox.calls()
    run = run_playbook('incomes_register.certificates.renew', {'incomes_register_renew_summary_file': summary_file},
                       inventory=inventory)
    assert run.returncode != 0, 'expired and missing hosts must turn the scheduled job red'
    assert 'need attention' in run.output
    with open(summary_file) as handle:
        outcomes = json.load(handle)
    assert dict((host, o['status']) for host, o in outcomes.items()) == EXPECTED_FIRST_RUN
    after = sandbox.calls()
    assert after['renewCertificate'] - before['renewCertificate'] == 3
    assert after['signNewCertificate'] == before['signNewCertificate']
    assert after['getCertificate'] - before['getCertificate'] >= 2
    for host in ('window', 'five', 'fresh'):
        assert (root / host / 'deploy' / 'combined.pem').exists(), host
    trust = root / 'fresh' / 'trust'
    assert oct(trust.stat().st_mode & 0o777) == '0o755'
    assert sorted(os.listdir(trust)) == ['issuing-ca.pem', 'service-signing-ca.pem', 'tls-ca.pem']
    assert (trust / 'issuing-ca.pem').read_bytes() == open(sandbox.issuing_ca_pem, 'rb').read()
    assert oct((trust / 'issuing-ca.pem').stat().st_mode & 0o777) == '0o644'
    assert not (root / 'expired' / 'deploy').exists()
    twins = [x509.load_pem_x509_certificate((root / host / 'certificate.pem').read_bytes())
             for host in ('window', 'window-twin')]
    assert twins[0].subject == twins[1].subject, 'one organisation'
    assert twins[0].public_key() != twins[1].public_key(), 'each server keeps its own key'

    # A relative summary file lands where ansible-playbook runs (run_playbook's cwd is tmp_path),
    # not in the playbook's directory inside the collection.
    os.remove(summary_file)
    before = sandbox.calls()
    run = run_playbook('incomes_register.certificates.renew', {'incomes_register_renew_summary_file': 'renew-summary.json'},
                       inventory=inventory)
    assert not os.path.exists(os.path.join(PLAYBOOKS_DIR, 'renew-summary.json'))
    with open(summary_file) as handle:
        outcomes = json.load(handle)
    assert dict((host, o['status']) for host, o in outcomes.items()) == dict(
        EXPECTED_FIRST_RUN, window='ok', five='ok', **{'window-twin': 'ok'})
    assert sandbox.calls()['total'] == before['total'], 'a rerun must not call the service'
    changed = recap_changed(run.output)
    assert changed['fresh'] == changed['window'] == changed['five'] == 0, run.output[-3000:]


def test_renew_playbook_names_a_host_that_failed_the_role_argument_validation(sandbox, run_playbook, tmp_path):
    root = tmp_path / 'hosts'
    (root / 'good' / 'private').mkdir(parents=True, mode=0o700)
    sandbox.issue('1000011-1', new_key_path=str(root / 'good' / 'private' / 'key.pem'), expires_in_days=400,
                  out=str(root / 'good' / 'certificate.pem'))
    inventory_path = write_inventory(tmp_path / 'inventory.yml', sandbox, root,
                                     {'good': '1000011-1', 'nocustomer': '1000012-2', 'typo': '1000013-3'})
    inventory = yaml.safe_load(open(inventory_path))
    del inventory['all']['hosts']['nocustomer']['renewal_customer_id']
    # A misspelt install option is refused up front rather than ignored.
    inventory['all']['hosts']['typo']['renewal_install_targets'] = [
        {'layout': 'pkcs12', 'dest': str(root / 'typo' / 'keystore.p12'), 'pkcs12_pasphrase': 'typo-phrase-Q1'}]
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    run = run_playbook('incomes_register.certificates.renew', {'incomes_register_renew_summary_file': 'summary.json'},
                       inventory=inventory_path)
    assert run.returncode != 0, run
    assert 'renewal_customer_id' in run.output
    outcomes = json.loads((tmp_path / 'summary.json').read_text())
    assert outcomes['good']['status'] == 'ok'
    # renewal_customer_id is no longer required by the argument specification (renewal_certificates may give
    # each certificate's): the host's one certificate fails, naming the variable, and nothing is sent.
    assert outcomes['nocustomer']['status'] == 'failed'
    assert 'renewal_customer_id' in outcomes['nocustomer']['message']
    assert 'nocustomer=failed' in run.output
    assert outcomes['typo']['status'] == 'unreachable'
    assert 'pkcs12_pasphrase' in run.output
    assert 'typo-phrase-Q1' not in run.output
    assert not (root / 'typo' / 'keystore.p12').exists()


def test_renew_playbook_writes_its_summary_without_becoming_anyone_on_the_controller(sandbox, run_playbook, tmp_path):
    """`--become` is how the guide runs the renewal, and it is for the hosts: the summary file is written by the
    user who runs ansible-playbook, with no module and no privilege escalation on the controller as a host."""
    root = tmp_path / 'hosts'
    (root / 'fresh' / 'private').mkdir(parents=True, mode=0o700)
    sandbox.issue('1000021-1', new_key_path=str(root / 'fresh' / 'private' / 'key.pem'), expires_in_days=400,
                  out=str(root / 'fresh' / 'certificate.pem'))
    inventory_path = write_inventory(tmp_path / 'inventory.yml', sandbox, root, {'fresh': '1000021-1'})
    inventory = yaml.safe_load(open(inventory_path))
    # The host does not escalate here. The controller, as the implicit localhost, would: to another user than
    # the one running the test (ansible-core skips becoming the user one already is), with a command that
    # does not exist.
    inventory['all']['hosts']['fresh']['ansible_become'] = False
    (tmp_path / 'inventory.yml').write_text(yaml.safe_dump(inventory))
    run = run_playbook('incomes_register.certificates.renew',
                       {'incomes_register_renew_summary_file': 'summary.json',
                        'ansible_become_exe': str(tmp_path / 'no-such-sudo')},
                       inventory=inventory_path, args=('--become', '--become-user', 'nobody'))
    assert run.returncode == 0, run.output[-3000:]
    outcomes = json.loads((tmp_path / 'summary.json').read_text())
    assert outcomes['fresh']['status'] == 'ok'
    assert oct((tmp_path / 'summary.json').stat().st_mode & 0o777) == '0o644'
    assert 'OK fresh 1000021-1 TEST %s' % (root / 'fresh' / 'certificate.pem') in run.output

    # A dry run writes its forecast too.
    run = run_playbook('incomes_register.certificates.renew', {'incomes_register_renew_summary_file': 'forecast.json'},
                       inventory=inventory_path, args=('--check',))
    assert run.returncode == 0, run.output[-3000:]
    forecast = json.loads((tmp_path / 'forecast.json').read_text())
    assert forecast['fresh']['status'] == 'ok' and forecast['fresh']['changed'] is False


class TableParser(html.parser.HTMLParser):
    """The rows of the page's certificates table (not those of the views grouped by customer and host)."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._in_body, self._certificates = [], None, False, False

    def handle_starttag(self, tag, attrs):
        if tag == 'table':
            self._in_body = False
            self._certificates = dict(attrs).get('id') == 'certificates'
        elif tag == 'tbody' and self._certificates:
            self._in_body = True
        elif tag == 'tr' and self._in_body:
            self._row = []
        elif tag == 'td' and self._row is not None:
            self._row.append('')

    def handle_endtag(self, tag):
        if tag == 'tr' and self._row is not None:
            self.rows.append([cell.strip() for cell in self._row])
            self._row = None

    def handle_data(self, data):
        if self._row:
            self._row[-1] += data


def parse_prometheus(text):
    samples = []
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        name_labels, value = line.rsplit(' ', 1)
        name, dummy, labels = name_labels.partition('{')
        pairs = dict(part.split('=', 1) for part in labels.rstrip('}').split('",') if part)
        samples.append((name, dict((k, v.strip('"')) for k, v in pairs.items()), float(value)))
    return samples


def test_audit_playbook_writes_readable_report_and_gates(sandbox, fleet, run_playbook, tmp_path):
    root, inventory = fleet
    out = tmp_path / 'report'
    before = sandbox.calls()['total']
    # Relative: where ansible-playbook runs (run_playbook's cwd is tmp_path).
    run = run_playbook('incomes_register.certificates.audit', {'audit_output_dir': 'report'},
                       inventory=inventory, args=['--check'])
    assert run.returncode == 0, run
    assert sandbox.calls()['total'] == before, 'an audit never calls the service'

    with open(out / 'certificate-expiry.csv') as handle:
        rows = list(csv.DictReader(handle))
    status = dict((row['host'], row['status']) for row in rows)
    assert status == {'fresh': 'ok', 'window': 'renew', 'window-twin': 'renew', 'five': 'critical',
                      'expired': 'expired', 'missing': 'missing'}
    days = dict((row['host'], row['days_remaining']) for row in rows)
    assert days['five'] in ('4', '5') and days['window'] in ('44', '45')
    # The missing certificate's row still names its customer and environment: the inventory's.
    labels = dict((row['host'], (row['customer_id'], row['environment'])) for row in rows)
    assert labels['missing'] == ('1000005-5', 'TEST') and labels['five'][0] == '1000003-3'

    report = json.loads((out / 'certificate-expiry.json').read_text())
    assert report['summary']['total'] == 6

    parser = TableParser()
    parser.feed((out / 'certificate-expiry.html').read_text())
    hosts_in_order = [row[0] for row in parser.rows]
    assert hosts_in_order == ['missing', 'expired', 'five', 'window', 'window-twin', 'fresh']

    samples = parse_prometheus((out / 'certificate-expiry.prom').read_text())
    remaining = dict((s[1]['host'], s[2]) for s in samples if s[0] == 'incomes_register_certificate_days_remaining')
    assert set(remaining) == {'fresh', 'window', 'window-twin', 'five', 'expired'}
    assert remaining['expired'] < 0 < remaining['five'] < remaining['window'] < remaining['fresh']

    assert not os.path.exists(os.path.join(PLAYBOOKS_DIR, 'report'))

    # Without audit_output_dir: audit-report in the directory ansible-playbook runs in.
    run = run_playbook('incomes_register.certificates.audit', {'audit_fail_within_days': 10}, inventory=inventory)
    assert run.returncode != 0
    assert 'Certificate audit gate' in run.output and 'expired' in run.output
    assert (tmp_path / 'audit-report' / 'certificate-expiry.csv').exists()


def test_audit_tells_a_renewal_in_flight_until_the_renew_run_finishes_it(
        sandbox, fleet, run_playbook, run_module, tmp_path):
    root, inventory = fleet
    window = root / 'window'
    # A renewal submitted and not yet retrieved, as a run killed while it waited for the service leaves it.
    run, result = run_module('certificate_renew', dict(
        customer_id='1000002-2', environment='TEST', endpoint=sandbox.url, service_ca_path=sandbox.service_ca_pem,
        issuing_ca_path=sandbox.issuing_ca_pem, tls_ca_path=sandbox.tls_ca_pem, path=str(window / 'certificate.pem'),
        private_key_path=str(window / 'private' / 'key.pem'), wait=False))
    assert run.returncode == 0 and result['action'] == 'pending', run
    with open(window / 'certificate.pem.state.json') as handle:
        retrieval_id = json.load(handle)['retrieval_id']
    before = sandbox.calls()['total']

    run = run_playbook('incomes_register.certificates.audit', {'audit_output_dir': 'report'}, inventory=inventory)
    assert run.returncode == 0, run
    assert sandbox.calls()['total'] == before, 'an audit never calls the service, also with a request in flight'
    with open(tmp_path / 'report' / 'certificate-expiry.csv') as handle:
        rows = dict((row['host'], row) for row in csv.DictReader(handle))
    assert (rows['window']['status'], rows['window']['request_operation'], rows['window']['request_phase'],
            rows['window']['retrieval_id']) == ('renew', 'renew', 'submitted', retrieval_id)
    assert 'waits for its certificate (RetrievalId %s)' % retrieval_id in rows['window']['note']
    assert rows['window']['request_since'].startswith(datetime.datetime.now(datetime.timezone.utc).strftime('%Y-'))
    assert all(rows[host]['request_phase'] == '' for host in rows if host != 'window')
    samples = parse_prometheus((tmp_path / 'report' / 'certificate-expiry.prom').read_text())
    assert [(s[1]['host'], s[1]['phase']) for s in samples
            if s[0] == 'incomes_register_certificate_request_since_timestamp_seconds'] == [('window', 'submitted')]
    assert 'RetrievalId %s' % retrieval_id in (tmp_path / 'report' / 'certificate-expiry.html').read_text()

    # The renew run finishes it with the recorded RetrievalId, and the next audit has nothing in flight.
    run = run_playbook('incomes_register.certificates.renew', {'incomes_register_hosts': 'window'}, inventory=inventory)
    assert run.returncode == 0, run
    run = run_playbook('incomes_register.certificates.audit', {'audit_output_dir': 'report'}, inventory=inventory)
    assert run.returncode == 0, run
    report = json.loads((tmp_path / 'report' / 'certificate-expiry.json').read_text())
    window_row = [row for row in report['certificates'] if row['host'] == 'window'][0]
    assert window_row['status'] == 'ok' and window_row['request'] is None, window_row


def test_audit_reads_a_passphrase_protected_key_with_the_role_passphrase(sandbox, run_playbook, tmp_path):
    root = tmp_path / 'hosts'
    (root / 'locked' / 'private').mkdir(parents=True, mode=0o700)
    key_path = root / 'locked' / 'private' / 'key.pem'
    sandbox.issue('1000010-0', new_key_path=str(key_path), expires_in_days=300,
                  out=str(root / 'locked' / 'certificate.pem'))
    passphrase = 'audit-key-phrase-Z4r7'
    encrypt_key(key_path, passphrase)
    inventory = write_inventory(tmp_path / 'inventory.yml', sandbox, root, {'locked': '1000010-0'})
    run = run_playbook('incomes_register.certificates.audit',
                       {'audit_output_dir': 'report', 'renewal_private_key_passphrase': passphrase},
                       inventory=inventory, args=['-v'])
    assert run.returncode == 0, run
    assert passphrase not in run.output
    with open(tmp_path / 'report' / 'certificate-expiry.csv') as handle:
        rows = list(csv.DictReader(handle))
    assert [(row['host'], row['status'], row['note']) for row in rows] == [('locked', 'ok', '')]


def test_enroll_playbook_keeps_the_password_out_of_the_log(sandbox, run_playbook, tmp_path):
    root = tmp_path / 'hosts'
    inventory = write_inventory(tmp_path / 'inventory.yml', sandbox, root, {'newhost': '1000009-9'})
    transfer_id, transfer_password = sandbox.subscribe('1000009-9', 'Enroll Oy', 'TEST')
    secrets = {'incomes_register_transfer_id': transfer_id, 'incomes_register_transfer_password': transfer_password}
    # The enroll playbook honours the role's variables, so the first certificate is kept as renewals keep it.
    run = run_playbook('incomes_register.certificates.enroll', dict(secrets, renewal_certificate_mode='0640'),
                       inventory=inventory, args=['-vvv'])
    assert run.returncode == 0, run
    assert transfer_password not in run.output
    assert oct(os.stat(root / 'newhost' / 'certificate.pem').st_mode & 0o777) == '0o640'
    assert oct(os.stat(root / 'newhost' / 'private' / 'key.pem').st_mode & 0o777) == '0o600'
    state = root / 'newhost' / 'certificate.pem.state.json'
    assert not state.exists()

    before = sandbox.calls()['total']
    run = run_playbook('incomes_register.certificates.enroll', secrets, inventory=inventory)
    assert run.returncode == 0, run
    assert sandbox.calls()['total'] == before, 'enrolling an enrolled host makes no call'


def ad_hoc(inventory, tmp_path, module, *arguments):
    """`ansible all -m module` over inventory, with -vvv, in tmp_path, which one host of the inventory fails: its
    output, and each host's result by name (--tree)."""
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible'), 'all', '-i', inventory, '-m', module,
                           '-vvv', '--tree', str(tmp_path / 'tree')] + list(arguments),
                          capture_output=True, text=True, env=ansible_env(), cwd=str(tmp_path), timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output

    def tree(host):
        return json.loads((tmp_path / 'tree' / host).read_text())
    return output, tree


def test_certificate_info_without_options_reads_what_the_role_keeps(sandbox, tmp_path):
    """Ad hoc, with no options: the renewal role's certificates of each host, from its variables."""
    root = tmp_path / 'hosts'
    (root / 'single' / 'private').mkdir(parents=True, mode=0o700)
    sandbox.issue('5100055-3', new_key_path=str(root / 'single' / 'private' / 'key.pem'), expires_in_days=50,
                  out=str(root / 'single' / 'certificate.pem'))
    # Two certificates, the second with a passphrase-protected key whose passphrase is the single variable's: a
    # template of a vault-encrypted host variable, as a project kept in git has it.
    (root / 'two' / 'private').mkdir(parents=True, mode=0o700)
    passphrase = 'info-adhoc-phrase-K2m9'
    for name, customer, days in (('a', '5100056-1', 300), ('b', '5100058-8', 10)):
        sandbox.issue(customer, new_key_path=str(root / 'two' / 'private' / (name + '.pem')), expires_in_days=days,
                      out=str(root / 'two' / (name + '.pem')))
    key_path = root / 'two' / 'private' / 'b.pem'
    encrypt_key(key_path, passphrase)
    inventory = write_inventory(tmp_path / 'inventory.yml', sandbox, root, {'single': '5100055-3', 'two': '5100056-1'})
    data = yaml.safe_load(open(inventory))
    data['all']['hosts']['single']['renewal_renew_before_days'] = 30
    password_file = tmp_path / 'vault-password'
    password_file.write_text('info-adhoc-vault-R4t8')
    vaulted = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-vault'), 'encrypt_string',
                              '--vault-password-file', str(password_file), passphrase],
                             capture_output=True, text=True, env=ansible_env(), check=True).stdout
    (tmp_path / 'host_vars').mkdir()
    (tmp_path / 'host_vars' / 'two.yml').write_text('ir_key_phrase: ' + vaulted)
    data['all']['hosts']['two'].update({
        'renewal_private_key_passphrase': '{{ ir_key_phrase }}',
        'renewal_certificates': [
            {'certificate_path': str(root / 'two' / 'a.pem'), 'private_key_path': str(root / 'two' / 'private' / 'a.pem'),
             'private_key_passphrase': '', 'restart_services': ['payroll']},
            {'customer_id': '5100058-8', 'certificate_path': str(root / 'two' / 'b.pem'),
             'private_key_path': str(root / 'two' / 'private' / 'b.pem')},
            # Missing: the row still names the customer and environment the inventory gives it.
            {'customer_id': '5100059-6', 'environment': 'PRODUCTION', 'certificate_path': str(root / 'two' / 'c.pem')},
        ]})
    # A host whose renewal_certificates is not a list is told so, and the other hosts are still read.
    data['all']['hosts']['broken'] = {'renewal_certificates': '/etc/incomes-register/certificate.pem'}
    open(inventory, 'w').write(yaml.safe_dump(data))
    output, tree = ad_hoc(inventory, tmp_path, 'incomes_register.certificates.certificate_info',
                          '--vault-password-file', str(password_file))
    assert passphrase not in output
    broken = tree('broken')
    assert broken['msg'] == 'certificate_info: renewal_certificates: the certificates must be a list of dictionaries, not str'
    assert 'broken | FAILED!' in output

    single = tree('single')['results']
    assert [(row['path'], row['customer_id'], row['key_matches'], row['days_remaining'] in (49, 50)) for row in single] == [
        (str(root / 'single' / 'certificate.pem'), '5100055-3', True, True)]
    # The host's own window: 50 days left is outside renewal_renew_before_days 30.
    assert single[0]['in_renewal_window'] is False

    two = tree('two')['results']
    assert [(row['path'], row['exists'], row['customer_id'], row.get('key_matches')) for row in two] == [
        (str(root / 'two' / 'a.pem'), True, '5100056-1', True),
        (str(root / 'two' / 'b.pem'), True, '5100058-8', True),
        (str(root / 'two' / 'c.pem'), False, '5100059-6', None)]
    assert two[1]['in_renewal_window'] is True and two[2]['environment'] == 'PRODUCTION'


def test_certificate_renew_without_a_certificate_renews_what_the_role_keeps(sandbox, tmp_path):
    """Ad hoc, naming no certificate: each host's renewal_certificates and settings, as the role's own task reads
    them, with the trust files of renewal_trust_src_dir copied first."""
    root = tmp_path / 'hosts'
    (root / 'two' / 'private').mkdir(parents=True, mode=0o700)
    passphrase = 'renew-adhoc-phrase-Q7w3'
    # a is inside the module's default window (60 days), not inside the host's (30).
    for name, customer, days in (('a', '5100056-1', 45), ('b', '5100058-8', 10)):
        sandbox.issue(customer, new_key_path=str(root / 'two' / 'private' / (name + '.pem')), expires_in_days=days,
                      out=str(root / 'two' / (name + '.pem')))
    encrypt_key(root / 'two' / 'private' / 'b.pem', passphrase)
    inventory = write_inventory(tmp_path / 'inventory.yml', sandbox, root, {'two': '5100056-1'})
    data = yaml.safe_load(open(inventory))
    data['all']['hosts']['two'].update({
        'renewal_private_key_passphrase': passphrase, 'renewal_renew_before_days': 30, 'renewal_key_size': 3072,
        'renewal_certificates': [
            {'certificate_path': str(root / 'two' / 'a.pem'), 'private_key_path': str(root / 'two' / 'private' / 'a.pem'),
             'private_key_passphrase': ''},
            {'customer_id': '5100058-8', 'certificate_path': str(root / 'two' / 'b.pem'),
             'private_key_path': str(root / 'two' / 'private' / 'b.pem'), 'mode': '0640'},
        ]})
    data['all']['hosts']['broken'] = {'renewal_certificates': [str(root / 'two' / 'a.pem')]}
    open(inventory, 'w').write(yaml.safe_dump(data))
    before = sandbox.calls()
    output, tree = ad_hoc(inventory, tmp_path, 'incomes_register.certificates.certificate_renew', '-a', 'change_mark=true')
    assert passphrase not in output
    assert tree('broken')['msg'] == 'certificate_renew: renewal_certificates: certificate 1 is not a dictionary but str'

    two = tree('two')
    assert two['changed'] is True and not two.get('failed'), two
    assert [(row['path'], row['customer_id'], row['changed']) for row in two['results']] == [
        (str(root / 'two' / 'a.pem'), '5100056-1', False), (str(root / 'two' / 'b.pem'), '5100058-8', True)]
    # The host's trust directory was filled from the controller's trust-src before the module ran.
    assert [entry['name'] for entry in two['trust_files']] == ['service-signing-ca.pem', 'issuing-ca.pem', 'tls-ca.pem']
    for name in ('service-signing-ca.pem', 'issuing-ca.pem', 'tls-ca.pem'):
        assert (root / 'two' / 'trust' / name).is_file(), name
    after = sandbox.calls()
    assert after['renewCertificate'] - before['renewCertificate'] == 1
    assert after['signNewCertificate'] == before['signNewCertificate']
    renewed = x509.load_pem_x509_certificate((root / 'two' / 'b.pem').read_bytes())
    assert renewed.not_valid_after_utc.year >= datetime.datetime.now(datetime.timezone.utc).year + 1
    assert renewed.public_key().key_size == 3072
    assert oct((root / 'two' / 'b.pem').stat().st_mode & 0o777) == '0o640'
    # The new key keeps the host's passphrase, and the mark tells the role's next run to restart the services.
    assert b'ENCRYPTED' in (root / 'two' / 'private' / 'b.pem').read_bytes()
    assert (root / 'two' / 'b.pem.changed').exists() and not (root / 'two' / 'a.pem.changed').exists()
