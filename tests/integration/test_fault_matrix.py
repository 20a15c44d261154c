"""The fault matrix (issue 5): every row runs real ansible-playbook against the sandbox's fault injection.

Each test states one row of docs/guarantees.md: what the fault is and what must hold afterwards,
checked on the files, on the sandbox's call counters and on the module results.
"""
import datetime
import errno
import fcntl
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from process_kill import descendants, kill_tree

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
OPERATIONS = ('signNewCertificate', 'getCertificate', 'renewCertificate')


@pytest.fixture(autouse=True)
def no_fault_survives(sandbox):
    """The sandbox is shared by the whole session: a fault left behind would break other tests."""
    yield
    sandbox.clear_faults()


class Finished(object):
    def __init__(self, returncode, output, results):
        self.returncode = returncode
        self.output = output
        self.results = results

    def __repr__(self):
        return 'Finished(rc=%s)\n%s' % (self.returncode, self.output[-6000:])


class Started(object):
    """An ansible-playbook run that a test can wait for, or kill with everything it started."""

    def __init__(self, process, results_dir, log_path):
        self.process = process
        self.results_dir = results_dir
        self.log_path = log_path

    def signal_all(self, signum):
        for pid in [self.process.pid] + descendants(self.process.pid):
            os.kill(pid, signum)

    def kill(self):
        """SIGKILL the run and the module processes under it, as a power cut or the OOM killer would."""
        kill_tree(self.process.pid)
        self.process.wait(timeout=30)

    def wait(self, timeout=300):
        self.process.wait(timeout=timeout)
        with open(self.log_path) as handle:
            output = handle.read()
        results = {}
        for name in os.listdir(self.results_dir):
            with open(os.path.join(self.results_dir, name)) as handle:
                results[name[:-len('.json')]] = json.load(handle)
        return Finished(self.process.returncode, output, results)


class Ansible(object):
    """Runs one collection module over an inventory of local hosts, each with its own module_args."""

    def __init__(self, tmp_path, playbook_text):
        self.tmp_path = tmp_path
        self.playbook_text = playbook_text
        self.runs = 0
        # Ansible's own temporary files (AnsiballZ payloads, remote tmp) land here, inside the test's
        # directory, so the secret scans see whatever a killed run leaves behind.
        self.temp = tmp_path / 'ansible-tmp'
        self.temp.mkdir(mode=0o700)

    def start(self, module, hosts, env=None):
        """hosts: {inventory name: module_args}."""
        self.runs += 1
        work = self.tmp_path / ('run-%d' % self.runs)
        results_dir = work / 'results'
        results_dir.mkdir(parents=True)
        playbook = work / 'playbook.yml'
        playbook.write_text(self.playbook_text(module, '{{ results_dir }}/{{ inventory_hostname }}.json'))
        inventory = work / 'inventory.yml'
        inventory.write_text(yaml.safe_dump({'all': {
            'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                     'results_dir': str(results_dir)},
            'hosts': dict((name, {'module_args': module_args}) for name, module_args in hosts.items()),
        }}))
        os.chmod(str(inventory), 0o600)
        environment = dict(os.environ)
        environment.update({
            'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_LOCALHOST_WARNING': 'False',
            'ANSIBLE_REMOTE_TMP': str(self.temp / 'remote'),
            'ANSIBLE_LOCAL_TEMP': str(self.temp / 'local'),
            'TMPDIR': str(self.temp),
            'PATH': os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''),
        })
        environment.update(env or {})
        log_path = work / 'output.log'
        with open(str(log_path), 'w') as log:
            process = subprocess.Popen(
                [ANSIBLE_PLAYBOOK, str(playbook), '-i', str(inventory)],
                stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=str(work),
                start_new_session=True)
        return Started(process, str(results_dir), str(log_path))

    def run(self, module, hosts, **options):
        return self.start(module, hosts, **options).wait()


@pytest.fixture
def ansible(tmp_path, module_playbook_text):
    return Ansible(tmp_path, module_playbook_text)


class Calls(object):
    """What the sandbox counted from here on, per operation."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.before = sandbox.calls()

    def delta(self):
        after = self.sandbox.calls()
        return dict((op, after[op] - self.before[op]) for op in OPERATIONS)


class Lineage(object):
    """The files of one certificate on one simulated host: <home>/certs/cert.pem, <home>/private/key.pem."""

    def __init__(self, home):
        self.home = home
        self.cert_path = str(home / 'certs' / 'cert.pem')
        self.key_path = str(home / 'private' / 'key.pem')
        self.state_path = self.cert_path + '.state.json'
        self.new_key_path = self.key_path + '.new'
        self.lock_path = self.cert_path + '.lock'
        self.original = None

    def issue(self, sandbox, customer_id, expires_in_days):
        (self.home / 'certs').mkdir(parents=True, exist_ok=True)
        (self.home / 'private').mkdir(parents=True, exist_ok=True, mode=0o700)
        sandbox.issue(customer_id, new_key_path=self.key_path, expires_in_days=expires_in_days, out=self.cert_path)
        self.original = (read(self.cert_path), read(self.key_path))
        return self

    def args(self, sandbox, customer_id, **extra):
        args = dict(
            environment='TEST', endpoint=sandbox.url, customer_id=customer_id, customer_name='Example Oy',
            service_ca_path=sandbox.service_ca_pem, issuing_ca_path=sandbox.issuing_ca_pem,
            tls_ca_path=sandbox.tls_ca_pem, initial_delay=0, poll_interval=0.2, wait_timeout=20, timeout=10,
            path=self.cert_path, private_key_path=self.key_path)
        args.update(extra)
        return args

    def state(self):
        data = read(self.state_path)
        return json.loads(data) if data is not None else None

    def certificate(self):
        return x509.load_pem_x509_certificate(read(self.cert_path))

    def assert_old_pair_intact(self):
        """The pair from before the run is in place, byte for byte, and still a valid pair."""
        cert_pem, key_pem = self.original
        assert read(self.cert_path) == cert_pem, 'the old certificate was changed'
        assert read(self.key_path) == key_pem, 'the old private key was changed'
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = load_pem_private_key(key_pem, None)
        assert key.public_key() == cert.public_key()
        assert cert.not_valid_after_utc > datetime.datetime.now(datetime.timezone.utc)
        assert mode(self.key_path) == 0o600

    def assert_renewed(self, new_key_pem=None):
        """A new certificate for the key in place; the old pair is in the backups."""
        cert = self.certificate()
        key_pem = read(self.key_path)
        assert key_pem != self.original[1]
        assert load_pem_private_key(key_pem, None).public_key() == cert.public_key()
        if new_key_pem is not None:
            assert key_pem == new_key_pem, 'the renewal must use the key it was requested for'
        assert cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc) > datetime.timedelta(days=700)
        assert mode(self.key_path) == 0o600
        assert not os.path.exists(self.state_path)
        assert not os.path.exists(self.new_key_path)
        assert not os.path.exists(self.cert_path + '.new')


def read(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def wait_for_phase(lineage, phases, started, timeout=60):
    """Block until the run has written a state file in one of phases (the run must still be going)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = lineage.state()
        if state and state['phase'] in phases:
            return state
        assert started.process.poll() is None, 'the run ended before reaching %s:\n%s' % (
            phases, started.wait().output[-4000:])
        time.sleep(0.05)
    raise AssertionError('no state file in phase %s after %s s' % (phases, timeout))


def wait_for_calls(sandbox, operation, count, timeout=60):
    deadline = time.monotonic() + timeout
    while sandbox.calls()[operation] < count:
        assert time.monotonic() < deadline, 'the sandbox never saw %d %s calls' % (count, operation)
        time.sleep(0.1)


def lock_is_free(path):
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as error:
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    finally:
        os.close(fd)


def private_material(root):
    """Every file under root that holds a private key, with its mode and its directory's mode."""
    found = []
    for directory, dirs, files in os.walk(str(root)):
        for name in files:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                continue
            data = read(path) or b''
            if b'PRIVATE KEY-----' in data:
                found.append((path, mode(path), mode(directory)))
    return found


def assert_no_loose_secrets(root):
    material = private_material(root)
    assert material, 'expected at least the key itself under %s' % root
    loose = [entry for entry in material if entry[1] & 0o077 or entry[2] & 0o077]
    assert not loose, 'private keys readable by others (path, mode, directory mode): %s' % loose


def request_meets_sign_fault(sandbox, ansible, tmp_path, customer, kind):
    """A first request whose SignNewCertificate meets fault kind, leaving its outcome unknown to the client.

    Checks what every such run leaves; returns (lineage, args, transfer_id, transfer_password, result).
    """
    lineage = Lineage(tmp_path / 'host')
    transfer_id, transfer_password = sandbox.subscribe(customer, 'Example Oy')
    args = lineage.args(sandbox, customer, transfer_id=transfer_id, transfer_password=transfer_password)
    sandbox.set_fault('signNewCertificate', kind, times=1)
    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': args})
    result = run.results['host']
    assert result['failed'] is True, run
    assert 'may have processed the request' in result['msg']
    assert result['request_may_have_been_processed'] is True
    assert calls.delta()['signNewCertificate'] == 1
    assert lineage.state()['phase'] == 'sent'
    assert lineage.state()['transfer_id'] == transfer_id
    return lineage, args, transfer_id, transfer_password, result


def renewal_meets_renew_fault(sandbox, ansible, tmp_path, customer, kind):
    """A renewal whose RenewCertificate meets fault kind, leaving its outcome unknown to the client.

    Checks what every such run leaves; returns (lineage, args, result, the new key waiting as .new).
    """
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    args = lineage.args(sandbox, customer)
    sandbox.set_fault('renewCertificate', kind, times=1)
    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    result = run.results['host']
    assert result['failed'] is True, run
    assert result['request_may_have_been_processed'] is True
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 1}
    assert lineage.state()['phase'] == 'sent'
    lineage.assert_old_pair_intact()
    assert mode(lineage.new_key_path) == 0o600
    return lineage, args, result, read(lineage.new_key_path)


# Row: connection dropped after SignNewCertificate was processed.

def test_dropped_sign_never_resends_transfer_password(sandbox, ansible, tmp_path):
    customer = '5100001-1'
    lineage, args, transfer_id, transfer_password, result = request_meets_sign_fault(
        sandbox, ansible, tmp_path, customer, 'drop-after-processing')
    assert not os.path.exists(lineage.cert_path)
    used = [t for t in sandbox.state()['transfers'] if t['transfer_id'] == transfer_id]
    assert used[0]['used_at'], 'the sandbox did process the request: the credentials are spent'

    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': args})
    result = run.results['host']
    assert result['failed'] is True, run
    assert calls.delta()['signNewCertificate'] == 0, 'the one-time credentials were sent again'
    assert 'not sent again' in result['msg']
    assert 'Apply for a new certificate in the Incomes Register e-service' in result['msg']
    assert 'delete the state file' in result['msg']
    assert lineage.state()['phase'] == 'sent'

    # The way out: new credentials from the e-service.
    new_id, new_password = sandbox.subscribe(customer, 'Example Oy')
    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': dict(args, transfer_id=new_id, transfer_password=new_password)})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert result['changed'] is True
    assert calls.delta()['signNewCertificate'] == 1
    assert result['certificate']['customer_id'] == customer and result['certificate']['key_matches'] is True
    assert not os.path.exists(lineage.state_path)
    for secret in (transfer_password, new_password):
        assert secret not in run.output


def test_a_mistyped_retrieval_id_is_not_recorded_and_the_right_one_still_collects(sandbox, ansible, tmp_path):
    """After a dropped SignNewCertificate the RetrievalId is only known from elsewhere (here the sandbox's
    list; in life the service's support). A wrong one given to certificate_retrieve must not be written into
    the state file, or every later run would poll it and refuse the right one."""
    customer = '5100029-7'
    lineage, args, dummy, dummy, dummy = request_meets_sign_fault(
        sandbox, ansible, tmp_path, customer, 'drop-after-processing')
    issued = [r['retrieval_id'] for r in sandbox.state()['retrievals'] if r['customer_id'] == customer]
    assert len(issued) == 1
    retrieve_args = dict(lineage.args(sandbox, customer, wait_timeout=1), retrieval_id='MISTYPED000000000000000000000001')

    run = ansible.run('certificate_retrieve', {'host': retrieve_args})
    assert run.results['host']['failed'] is True and run.results['host']['error_type'] == 'RetrievalPending', run
    assert lineage.state()['phase'] == 'sent' and lineage.state().get('retrieval_id') is None

    calls = Calls(sandbox)
    run = ansible.run('certificate_retrieve', {'host': dict(retrieve_args, retrieval_id=issued[0], wait_timeout=20)})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert result['certificate']['customer_id'] == customer and result['certificate']['key_matches'] is True
    assert calls.delta()['signNewCertificate'] == 0
    assert not os.path.exists(lineage.state_path)


def test_an_earlier_transfer_id_is_refused_after_a_later_one_also_went_unanswered(sandbox, ansible, tmp_path):
    """T1 went out and its answer was lost, then T2 too: a run given T1 again (stale CI variables) must not
    resend it, although the state file now records T2's request."""
    customer = '5100032-6'
    lineage, first_args, first_id, dummy, dummy = request_meets_sign_fault(
        sandbox, ansible, tmp_path, customer, 'drop-after-processing')
    second_id, second_password = sandbox.subscribe(customer, 'Example Oy')
    sandbox.set_fault('signNewCertificate', 'drop-after-processing', times=1)
    run = ansible.run('certificate_request', {'host': dict(first_args, transfer_id=second_id,
                                                           transfer_password=second_password)})
    assert run.results['host']['failed'] is True and run.results['host']['request_may_have_been_processed'], run
    assert lineage.state()['transfer_id'] == second_id

    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': first_args})
    result = run.results['host']
    assert result['failed'] is True, run
    assert 'The one-time credentials TransferID %s were sent in an earlier run' % first_id in result['msg']
    assert calls.delta()['signNewCertificate'] == 0


def test_earlier_transfer_ids_outlive_a_later_attempt_that_sent_nothing(sandbox, ansible, tmp_path):
    """T1's outcome is unknown; T2 is refused by a SOAP Client fault, which spends nothing: the state is T1's again,
    so a run given T1 still does not resend it."""
    customer = '5100034-2'
    lineage, first_args, first_id, dummy, dummy = request_meets_sign_fault(
        sandbox, ansible, tmp_path, customer, 'drop-after-processing')
    recorded = lineage.state()
    second_id, second_password = sandbox.subscribe(customer, 'Example Oy')
    sandbox.set_fault('signNewCertificate', 'client-fault', times=1)
    run = ansible.run('certificate_request', {'host': dict(first_args, transfer_id=second_id,
                                                           transfer_password=second_password)})
    assert run.results['host']['failed'] is True and not run.results['host']['request_may_have_been_processed'], run
    assert dict((k, v) for k, v in lineage.state().items() if k != 'updated') == \
        dict((k, v) for k, v in recorded.items() if k != 'updated')

    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': first_args})
    assert run.results['host']['failed'] is True, run
    assert 'TransferID %s were sent in an earlier run' % first_id in run.results['host']['msg']
    assert calls.delta()['signNewCertificate'] == 0


# Row: connection dropped after RenewCertificate was processed.

def test_dropped_renew_keeps_old_pair_then_rerun_completes(sandbox, ansible, tmp_path):
    lineage, args, dummy, new_key = renewal_meets_renew_fault(
        sandbox, ansible, tmp_path, '5100002-2', 'drop-after-processing')

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert result['action'] == 'renewed'
    # A renewal spends nothing one-time: the rerun asks again, for the same new key.
    assert calls.delta()['renewCertificate'] == 1
    lineage.assert_renewed(new_key_pem=new_key)
    assert read(result['backups']['certificate']) == lineage.original[0]
    assert read(result['backups']['private_key']) == lineage.original[1]


def test_a_lost_renewal_refused_when_asked_again_is_asked_with_a_fresh_key_the_next_time(sandbox, ansible, tmp_path):
    """The answer to a renewal was lost and the service refuses the same key again (as a CA may refuse a key it was
    asked to certify before; the sandbox's `refused` fault stands for it): every later run would send the same refused
    request until the certificate expired. The next one asks with a fresh key, the unanswered one kept aside."""
    lineage, args, dummy, unanswered_key = renewal_meets_renew_fault(
        sandbox, ansible, tmp_path, '5100063-3', 'drop-after-processing')
    sandbox.set_fault('renewCertificate', 'refused', times=1)
    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    result = run.results['host']
    assert result['failed'] is True and result['error_type'] == 'ServiceFault', run
    assert 'PKI015' in result['msg'] and 'the next run keeps that key aside and asks again with a fresh key' in result['msg']
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 1}
    assert lineage.state()['phase'] == 'sent' and lineage.state()['resubmit_refused_at']
    assert read(lineage.new_key_path) == unanswered_key
    lineage.assert_old_pair_intact()

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': dict(args, wait=False)})
    result = run.results['host']
    assert result.get('failed') is not True and result['action'] == 'pending', run
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 1}
    aside = [name for name in os.listdir(os.path.dirname(lineage.key_path)) if '.unanswered-' in name]
    assert len(aside) == 1 and aside[0].startswith('key.pem.new.unanswered-'), aside
    aside_path = os.path.join(os.path.dirname(lineage.key_path), aside[0])
    assert read(aside_path) == unanswered_key and mode(aside_path) == 0o600
    assert result['msg'].startswith('A renewal sent by an earlier run got no answer, and the service refused it when '
                                    'it was asked again for the same key: a fresh key is asked for now. The earlier '
                                    'key is kept at %s' % aside_path)

    # Once the fresh key's certificate is installed, the key kept aside has nothing left to wait for.
    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    result = run.results['host']
    assert result.get('failed') is not True and result['action'] == 'renewed', run
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 1, 'renewCertificate': 0}
    assert not os.path.lexists(aside_path)
    assert result['msg'].startswith('Removed %s, set aside for a renewal that got no answer: the certificate '
                                    'installed now takes the place of any the service issued for it.' % aside_path)
    lineage.assert_renewed()
    assert read(lineage.key_path) != unanswered_key


# Row: the process is killed in the middle of a renewal.

@pytest.mark.parametrize('operation, phase, renewals_on_rerun', [
    # Killed while RenewCertificate was being answered: the outcome is unknown, so the rerun asks again.
    ('renewCertificate', 'prepared', 1),
    # Killed while waiting for GetCertificate: the RetrievalId is on disk, so the rerun only retrieves.
    ('getCertificate', 'submitted', 0),
])
def test_killed_mid_renew_keeps_old_pair_and_rerun_completes(sandbox, ansible, tmp_path, operation, phase,
                                                             renewals_on_rerun):
    customer = '5100003-3'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    args = lineage.args(sandbox, customer)
    sandbox.set_fault(operation, 'delay', seconds=60, times=1)

    calls = Calls(sandbox)
    started = ansible.start('certificate_renew', {'host': args})
    wait_for_phase(lineage, (phase,), started)
    # The request has reached the service (it is processed before the delay) when the run dies.
    wait_for_calls(sandbox, operation, calls.before[operation] + 1)
    started.kill()

    lineage.assert_old_pair_intact()
    assert lineage.state()['phase'] == phase
    assert mode(lineage.new_key_path) == 0o600
    assert mode(lineage.state_path) == 0o600
    assert lock_is_free(lineage.lock_path), 'a killed run must not keep the certificate locked'
    assert_no_loose_secrets(tmp_path)
    new_key = read(lineage.new_key_path)

    sandbox.clear_faults()
    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert result['action'] == 'renewed'
    assert calls.delta()['renewCertificate'] == renewals_on_rerun
    lineage.assert_renewed(new_key_pem=new_key)
    assert_no_loose_secrets(tmp_path)


def test_killed_between_the_two_renames_rerun_finishes_the_swap(sandbox, ansible, tmp_path):
    """The swap is two renames, key then certificate; a crash between them is the one moment the pair in
    place does not match. The window is too short to hit with a signal, so the test builds the files such
    a crash leaves from a real renewal (with the collection's own state writer), then reruns."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.pending_request import (
        PendingRequest)

    customer = '5100024-4'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    args = lineage.args(sandbox, customer)
    run = ansible.run('certificate_renew', {'host': args})
    renewed = run.results['host']
    assert renewed['action'] == 'renewed', run
    new_cert, new_key = read(lineage.cert_path), read(lineage.key_path)
    # Backups written, key moved in, certificate not yet: the old certificate beside the new key.
    os.rename(lineage.cert_path, lineage.cert_path + '.new')
    with open(lineage.cert_path, 'wb') as handle:
        handle.write(lineage.original[0])
    PendingRequest(lineage.state_path, dict(
        operation='renew', phase='retrieved', customer_id=customer, environment='TEST', endpoint=sandbox.url,
        retrieval_id=renewed['retrieval_id'], new_key_path=lineage.new_key_path)).save()

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 0}
    assert read(lineage.cert_path) == new_cert and read(lineage.key_path) == new_key
    assert not os.path.exists(lineage.state_path)
    # Only the file that was still to be replaced is backed up: a "backup" of the new key would pair with
    # the old certificate's backup and make a restore by hand install a mismatched pair.
    assert 'private_key' not in result['backups']
    assert read(result['backups']['certificate']) == lineage.original[0]
    key_backups = [name for name in os.listdir(str(lineage.home / 'private')) if name.endswith('~')]
    assert [read(str(lineage.home / 'private' / name)) for name in key_backups] == [lineage.original[1]]


# Row: HTTP 500 or a timeout on GetCertificate.

def get_poll_times(sandbox, customer):
    """Monotonic-enough timestamps of the sandbox's GetCertificate log lines for one customer."""
    times = []
    with open(sandbox.log_path) as handle:
        for line in handle:
            if 'operation=getCertificate customer=%s ' % customer in line:
                stamp = datetime.datetime.strptime(line[:23], '%Y-%m-%d %H:%M:%S,%f')
                times.append(stamp)
    return times


def test_get_certificate_http500_is_retried_with_backoff_then_fails_and_rerun_resumes(sandbox, ansible, tmp_path):
    customer = '5100004-4'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    # Polls start 0.4 s apart and the waits grow by 1.5x: 0.4, 0.6, 0.9, 1.35, 2.0 s.
    args = lineage.args(sandbox, customer, poll_interval=0.4)
    sandbox.set_fault('getCertificate', 'http500')

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    result = run.results['host']
    assert result['failed'] is True, run
    # One poll and five retries (max_transient_errors), not one and not forever.
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 6, 'renewCertificate': 1}
    assert 'failed 6 times in a row' in result['msg']
    state = lineage.state()
    assert state['phase'] == 'submitted'
    assert 'retrieval_id=%s' % state['retrieval_id'] in result['msg'], 'the message must say how to resume'
    polls = get_poll_times(sandbox, customer)[-6:]
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(polls, polls[1:])]
    assert gaps[-1] - gaps[0] > 1.0, 'the waits between retries must grow: %s' % gaps
    lineage.assert_old_pair_intact()

    sandbox.clear_faults()
    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 1, 'renewCertificate': 0}
    assert result['retrieval_id'] == state['retrieval_id']
    lineage.assert_renewed()


def test_get_certificate_timeouts_are_retried_within_the_run(sandbox, ansible, tmp_path):
    customer = '5100005-5'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    # Two answers arrive later than the client's 3-second timeout; the third poll gets the certificate.
    sandbox.set_fault('getCertificate', 'delay', seconds=6, times=2)

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer, timeout=3)})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 3, 'renewCertificate': 1}
    lineage.assert_renewed()


# Row: a SOAP fault (HTTP 500) on SignNewCertificate or RenewCertificate. certificate-service.md says nothing of the
# service's faults, so only a Client fault (SOAP 1.1: refused as sent) means "not processed"; after a Server fault
# the service may have acted, as the sandbox's server-fault-after-processing does and its http500 does not.

@pytest.mark.parametrize('kind, processed', [('http500', False), ('server-fault-after-processing', True)])
def test_sign_server_fault_counts_the_credentials_as_possibly_spent(sandbox, ansible, tmp_path, kind, processed):
    customer = '5100048-1' if processed else '5100050-2'
    lineage, args, transfer_id, transfer_password, result = request_meets_sign_fault(
        sandbox, ansible, tmp_path, customer, kind)
    assert 'answered the SignNewCertificate request with a fault (SOAP fault ' in result['msg']
    assert 'they will not be sent again' in result['msg']
    used = [t for t in sandbox.state()['transfers'] if t['transfer_id'] == transfer_id][0]['used_at']
    assert bool(used) is processed

    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': args})
    assert run.results['host']['failed'] is True, run
    assert 'TransferID %s were sent in an earlier run' % transfer_id in run.results['host']['msg']
    assert 'the Tax Administration confirms the TransferID is unused' in run.results['host']['msg']
    assert calls.delta()['signNewCertificate'] == 0, 'the one-time credentials were sent again'

    if processed:
        transfer_id, transfer_password = sandbox.subscribe(customer, 'Example Oy')
    else:
        # The way out the message gives when the credentials are known to be unused.
        os.unlink(lineage.state_path)
    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': dict(args, transfer_id=transfer_id,
                                                           transfer_password=transfer_password)})
    assert run.results['host'].get('failed') is not True, run
    assert calls.delta()['signNewCertificate'] == 1
    assert run.results['host']['certificate']['key_matches'] is True
    assert transfer_password not in run.output


def test_sign_client_fault_is_not_resent_and_says_what_to_do(sandbox, ansible, tmp_path):
    customer = '5100051-0'
    lineage = Lineage(tmp_path / 'host')
    transfer_id, transfer_password = sandbox.subscribe(customer, 'Example Oy')
    args = lineage.args(sandbox, customer, transfer_id=transfer_id, transfer_password=transfer_password)
    sandbox.set_fault('signNewCertificate', 'client-fault')

    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': args})
    result = run.results['host']
    assert result['failed'] is True, run
    assert calls.delta()['signNewCertificate'] == 1, 'no automatic resend of one-time credentials'
    assert result['request_may_have_been_processed'] is False
    assert 'refused the SignNewCertificate request as it was sent and did not act on it' in result['msg']
    assert 'not used' in result['msg'] and 'run again' in result['msg']
    assert not os.path.exists(lineage.state_path)
    unused = [t for t in sandbox.state()['transfers'] if t['transfer_id'] == transfer_id]
    assert unused[0]['used_at'] is None
    assert transfer_password not in run.output

    sandbox.clear_faults()
    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': args})
    assert run.results['host'].get('failed') is not True, run
    assert calls.delta()['signNewCertificate'] == 1
    assert run.results['host']['certificate']['key_matches'] is True


@pytest.mark.parametrize('kind', ['http500', 'server-fault-after-processing'])
def test_renew_server_fault_keeps_the_new_key_and_the_rerun_renews(sandbox, ansible, tmp_path, kind):
    customer = '5100007-7' if kind == 'http500' else '5100053-7'
    lineage, args, result, new_key = renewal_meets_renew_fault(sandbox, ansible, tmp_path, customer, kind)
    assert 'answered the RenewCertificate request with a fault' in result['msg']
    assert 'current certificate stays in use' in result['msg'] and 'run again' in result['msg']

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    assert run.results['host'].get('failed') is not True, run
    assert calls.delta()['renewCertificate'] == 1
    lineage.assert_renewed(new_key_pem=new_key)


def test_renew_client_fault_was_not_processed_and_the_rerun_renews(sandbox, ansible, tmp_path):
    customer = '5100054-5'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    args = lineage.args(sandbox, customer)
    sandbox.set_fault('renewCertificate', 'client-fault', times=1)
    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    result = run.results['host']
    assert result['failed'] is True and result['request_may_have_been_processed'] is False, run
    assert 'refused the RenewCertificate request as it was sent and did not act on it' in result['msg']
    assert not os.path.exists(lineage.state_path)
    lineage.assert_old_pair_intact()

    run = ansible.run('certificate_renew', {'host': args})
    assert run.results['host'].get('failed') is not True, run
    assert calls.delta()['renewCertificate'] == 2
    lineage.assert_renewed()


# Row: a gateway in front of the service answers HTTP 503 with an HTML page, no SOAP fault. The
# sandbox's gateway did not forward the request, but a client cannot know that.

# A SOAP Client fault to a poll is retried as well: the real "not ready" answer is unknown, and the public clients
# poll through any failure (certificate-service.md); GetCertificate spends nothing.
@pytest.mark.parametrize('fault, customer', [('gateway-503', '5100031-1'), ('client-fault', '5100061-7')])
def test_a_failed_get_certificate_is_retried_within_the_run(sandbox, ansible, tmp_path, fault, customer):
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    sandbox.set_fault('getCertificate', fault, times=2)

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 3, 'renewCertificate': 1}
    lineage.assert_renewed()


def test_gateway_503_on_renew_keeps_old_pair_and_rerun_completes(sandbox, ansible, tmp_path):
    lineage, args, result, new_key = renewal_meets_renew_fault(sandbox, ansible, tmp_path, '5100032-2', 'gateway-503')
    assert 'HTTP 503' in result['msg']

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 1, 'renewCertificate': 1}
    lineage.assert_renewed(new_key_pem=new_key)


def test_gateway_503_on_sign_is_not_resent_until_the_state_file_is_removed(sandbox, ansible, tmp_path):
    lineage, args, transfer_id, transfer_password, result = request_meets_sign_fault(
        sandbox, ansible, tmp_path, '5100033-3', 'gateway-503')
    assert 'HTTP 503' in result['msg']
    new_key = read(lineage.new_key_path)

    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': args})
    assert run.results['host']['failed'] is True, run
    assert calls.delta()['signNewCertificate'] == 0, 'the one-time credentials were sent again'

    # The documented way out when the request surely never reached the service (here the gateway
    # refused it): delete the state file and run again with the same credentials and the same key.
    unused = [t for t in sandbox.state()['transfers'] if t['transfer_id'] == transfer_id]
    assert unused[0]['used_at'] is None
    os.remove(lineage.state_path)
    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': args})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert calls.delta()['signNewCertificate'] == 1
    assert read(lineage.key_path) == new_key
    assert result['certificate']['key_matches'] is True
    assert transfer_password not in run.output


# Row: answers that cannot be trusted.

UNTRUSTED_ANSWERS = [
    # (operation, fault, words of the error, phase the state file is left in)
    ('getCertificate', 'bad-signature', 'signature', 'submitted'),
    ('getCertificate', 'untrusted-signer', 'not in service_ca_path', 'submitted'),
    ('getCertificate', 'tampered-certificate', 'signature', 'submitted'),
    ('getCertificate', 'wrong-cn', 'Subject check failed', 'submitted'),
    ('getCertificate', 'wrong-key', 'key', 'submitted'),
    ('getCertificate', 'dtd', 'DOCTYPE', 'submitted'),
    ('getCertificate', 'oversized', 'bytes', 'submitted'),
    ('getCertificate', 'malformed', 'XML', 'submitted'),
    # An untrusted answer to RenewCertificate: the service may have acted, nothing one-time was spent.
    ('renewCertificate', 'bad-signature', 'signature', 'sent'),
]


@pytest.mark.parametrize('operation, kind, words, phase', UNTRUSTED_ANSWERS,
                         ids=['%s-%s' % (op[:3], kind) for op, kind, dummy, dummy in UNTRUSTED_ANSWERS])
def test_untrusted_answer_is_refused_and_nothing_is_installed(sandbox, ansible, tmp_path, operation, kind, words,
                                                              phase):
    customer = '5100008-8'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    sandbox.set_fault(operation, kind)

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    result = run.results['host']
    assert result['failed'] is True, run
    assert words.lower() in result['msg'].lower(), result['msg']
    # Refused at once: an untrusted answer is not retried as if it were a network hiccup.
    assert calls.delta()[operation] == 1
    lineage.assert_old_pair_intact()
    assert not os.path.exists(lineage.cert_path + '.new')
    assert lineage.state()['phase'] == phase


def test_untrusted_answer_to_sign_keeps_credentials_spent(sandbox, ansible, tmp_path):
    customer = '5100009-9'
    lineage = Lineage(tmp_path / 'host')
    transfer_id, transfer_password = sandbox.subscribe(customer, 'Example Oy')
    args = lineage.args(sandbox, customer, transfer_id=transfer_id, transfer_password=transfer_password)
    sandbox.set_fault('signNewCertificate', 'untrusted-signer')

    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': args})
    assert run.results['host']['failed'] is True, run
    assert 'not in service_ca_path' in run.results['host']['msg']
    assert lineage.state()['phase'] == 'sent'
    run = ansible.run('certificate_request', {'host': args})
    assert run.results['host']['failed'] is True, run
    assert 'not sent again' in run.results['host']['msg']
    assert calls.delta()['signNewCertificate'] == 1
    assert not os.path.exists(lineage.cert_path)


def test_a_sign_answer_refused_for_a_wrong_trust_file_is_kept_and_accepted_once_it_is_fixed(
        sandbox, ansible, tmp_path):
    """The classic mistake: service_ca_path holds the customers' issuing CA. The credentials are spent when the
    answer arrives; the answer, kept beside the state file, gives the RetrievalId once the file is right."""
    customer = '5100031-8'
    lineage = Lineage(tmp_path / 'host')
    transfer_id, transfer_password = sandbox.subscribe(customer, 'Example Oy')
    good = lineage.args(sandbox, customer, transfer_id=transfer_id, transfer_password=transfer_password)
    wrong = dict(good, service_ca_path=sandbox.issuing_ca_pem)
    answer_path = lineage.state_path + '.answer.xml'

    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': wrong})
    result = run.results['host']
    assert result['failed'] is True, run
    assert result['msg'].endswith('The answer is kept at %s: once its cause is fixed, a rerun checks it again and '
                                  'collects the certificate, without sending the credentials again.' % answer_path)
    assert lineage.state()['phase'] == 'sent' and mode(answer_path) == 0o600
    assert transfer_password.encode() not in read(answer_path)

    run = ansible.run('certificate_request', {'host': wrong})
    result = run.results['host']
    assert result['failed'] is True and result['error_type'] == 'StateError', run
    assert 'kept at %s, still cannot be accepted' % answer_path in result['msg']
    assert 'The credentials are not sent again.' in result['msg']

    run = ansible.run('certificate_request', {'host': good})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert result['msg'] == 'Accepted the answer an earlier run kept and installed its certificate.'
    assert result['certificate']['customer_id'] == customer and result['certificate']['key_matches'] is True
    assert calls.delta()['signNewCertificate'] == 1
    assert not os.path.exists(lineage.state_path) and not os.path.exists(answer_path)


def test_a_renewal_answer_refused_for_a_wrong_trust_file_is_kept_and_accepted_once_it_is_fixed(
        sandbox, ansible, tmp_path):
    """The service issued the renewal's certificate; only the trust file kept the client from reading its RetrievalId.
    Nothing documents that the service renews a certificate twice, so the rerun asks for no other renewal: it checks
    the kept answer again, and collects that certificate once the file is right."""
    customer = '5100052-9'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    good = lineage.args(sandbox, customer)
    wrong = dict(good, service_ca_path=sandbox.issuing_ca_pem)
    answer_path = lineage.state_path + '.answer.xml'

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': wrong})
    result = run.results['host']
    assert result['failed'] is True and result['error_type'] == 'ResponseRejected', run
    assert ('The answer is kept at %s: once its cause is fixed, a rerun checks it again and collects the certificate, '
            'without asking for another renewal. Nothing was installed and the current certificate stays in use.'
            % answer_path) in result['msg']
    assert lineage.state()['phase'] == 'sent' and mode(answer_path) == 0o600
    new_key = read(lineage.new_key_path)
    lineage.assert_old_pair_intact()

    run = ansible.run('certificate_renew', {'host': wrong})
    result = run.results['host']
    assert result['failed'] is True and result['error_type'] == 'StateError', run
    assert 'kept at %s, still cannot be accepted' % answer_path in result['msg']
    assert 'No other renewal is asked for' in result['msg']
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 1}

    run = ansible.run('certificate_renew', {'host': good})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert (result['action'], result['msg']) == ('renewed', 'Accepted the answer an earlier run kept and installed its '
                                                            'certificate.')
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 1, 'renewCertificate': 1}, 'one renewal'
    lineage.assert_renewed(new_key_pem=new_key)
    assert not os.path.exists(lineage.state_path) and not os.path.exists(answer_path)


def test_new_credentials_give_up_a_kept_answer(sandbox, ansible, tmp_path):
    """A kept answer that the user gives up on (new credentials from the e-service) does not block them."""
    customer = '5100033-4'
    lineage = Lineage(tmp_path / 'host')
    first_id, first_password = sandbox.subscribe(customer, 'Example Oy')
    good = lineage.args(sandbox, customer, transfer_id=first_id, transfer_password=first_password)
    run = ansible.run('certificate_request', {'host': dict(good, service_ca_path=sandbox.issuing_ca_pem)})
    assert run.results['host']['failed'] is True and 'The answer is kept at' in run.results['host']['msg'], run
    answer_path = lineage.state_path + '.answer.xml'
    assert os.path.exists(answer_path)

    second_id, second_password = sandbox.subscribe(customer, 'Example Oy')
    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': dict(good, transfer_id=second_id,
                                                           transfer_password=second_password)})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert result['msg'] == 'Requested and installed a new certificate.'
    assert calls.delta()['signNewCertificate'] == 1
    assert not os.path.exists(answer_path) and not os.path.exists(lineage.state_path)


def test_a_kept_answer_that_turns_out_a_refusal_frees_its_transfer_id_only(sandbox, ansible, tmp_path):
    """T-0's outcome is unknown; T-1 (a mistyped password) is answered with a FAIL that the wrong trust file
    cannot verify, so it is kept. Once the file is right, the kept refusal frees T-1, never T-0."""
    customer = '5100036-9'
    lineage, first_args, first_id, dummy, dummy = request_meets_sign_fault(
        sandbox, ansible, tmp_path, customer, 'drop-after-processing')
    second_id, second_password = sandbox.subscribe(customer, 'Example Oy')
    mistyped = dict(first_args, transfer_id=second_id, transfer_password=second_password[::-1])
    run = ansible.run('certificate_request', {'host': dict(mistyped, service_ca_path=sandbox.issuing_ca_pem)})
    assert run.results['host']['failed'] is True and 'The answer is kept at' in run.results['host']['msg'], run

    calls = Calls(sandbox)
    run = ansible.run('certificate_request', {'host': mistyped})
    result = run.results['host']
    assert result['failed'] is True and result['msg'].startswith('The answer an earlier run kept says: '), run
    assert lineage.state()['transfer_id'] == first_id
    run = ansible.run('certificate_request', {'host': first_args})
    assert 'TransferID %s were sent in an earlier run' % first_id in run.results['host']['msg'], run
    run = ansible.run('certificate_request', {'host': dict(first_args, transfer_id=second_id,
                                                           transfer_password=second_password)})
    assert run.results['host'].get('failed') is not True, run
    assert calls.delta()['signNewCertificate'] == 1


def test_rejected_certificate_is_retrieved_again_on_rerun(sandbox, ansible, tmp_path):
    customer = '5100010-0'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    args = lineage.args(sandbox, customer)
    sandbox.set_fault('getCertificate', 'wrong-key', times=1)
    run = ansible.run('certificate_renew', {'host': args})
    assert run.results['host']['failed'] is True, run
    lineage.assert_old_pair_intact()

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': args})
    assert run.results['host'].get('failed') is not True, run
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 1, 'renewCertificate': 0}
    lineage.assert_renewed()


# Row: two runs at once on one host.

def test_concurrent_runs_renew_once(sandbox, ansible, tmp_path):
    customer = '5100011-1'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    args = lineage.args(sandbox, customer)
    # A slow GetCertificate answer gives the test time to catch the first run holding the lock; the run is
    # then stopped (SIGSTOP) until the impatient one has given up, so no timing decides the outcome.
    sandbox.set_fault('getCertificate', 'delay', seconds=2, times=1)

    calls = Calls(sandbox)
    first = ansible.start('certificate_renew', {'host': args})
    wait_for_phase(lineage, ('submitted',), first)
    first.signal_all(signal.SIGSTOP)
    patient = ansible.start('certificate_renew', {'host': args})
    impatient = ansible.start('certificate_renew', {'host': dict(args, lock_timeout=1)}).wait()
    first.signal_all(signal.SIGCONT)
    first, patient = first.wait(), patient.wait()

    assert first.results['host'].get('failed') is not True, first
    assert first.results['host']['action'] == 'renewed'
    assert impatient.results['host']['failed'] is True, impatient
    assert 'Another run is in progress' in impatient.results['host']['msg']
    assert patient.results['host'].get('failed') is not True, patient
    assert patient.results['host']['changed'] is False
    assert patient.results['host']['certificate']['serial'] == first.results['host']['certificate']['serial']
    assert calls.delta()['renewCertificate'] == 1
    lineage.assert_renewed()


# Row: unsafe destinations.

def test_symlinks_and_loose_key_permissions_are_refused_before_any_call(sandbox, ansible, tmp_path):
    hosts, lineages = {}, {}
    for name, customer in (('cert_link', '5100012-2'), ('key_link', '5100013-3'), ('key_loose', '5100014-4'),
                           ('state_link', '5100015-5')):
        lineages[name] = Lineage(tmp_path / name).issue(sandbox, customer, expires_in_days=30)
        hosts[name] = lineages[name].args(sandbox, customer)
    # The real files sit elsewhere and the configured path is a link to them.
    for name, path in (('cert_link', lineages['cert_link'].cert_path), ('key_link', lineages['key_link'].key_path)):
        real = tmp_path / name / 'elsewhere'
        real.mkdir(mode=0o700)
        os.rename(path, str(real / os.path.basename(path)))
        os.symlink(str(real / os.path.basename(path)), path)
    os.chmod(lineages['key_loose'].key_path, 0o644)
    planted = tmp_path / 'state_link' / 'planted.json'
    planted.write_text('{}')
    os.symlink(str(planted), lineages['state_link'].state_path)

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', hosts)
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 0}, run
    for name in ('cert_link', 'key_link', 'state_link'):
        assert run.results[name]['failed'] is True, run
        assert 'symbolic link' in run.results[name]['msg'], run.results[name]['msg']
    assert run.results['key_loose']['failed'] is True
    assert 'chmod 0600' in run.results['key_loose']['msg']
    assert mode(lineages['key_loose'].key_path) == 0o644, 'a loose key is reported, not silently changed'
    assert os.path.islink(lineages['cert_link'].cert_path) and os.path.islink(lineages['key_link'].key_path)
    assert planted.read_text() == '{}'
    for lineage in lineages.values():
        assert read(lineage.cert_path) == lineage.original[0]
        assert read(lineage.key_path) == lineage.original[1]
        assert not os.path.lexists(lineage.new_key_path)

    # A deployment target that is a link is refused too, and what it points to is left alone.
    lineage = lineages['key_loose']
    os.chmod(lineage.key_path, 0o600)
    target = tmp_path / 'deploy' / 'combined.pem'
    target.parent.mkdir()
    decoy = tmp_path / 'deploy' / 'decoy'
    decoy.write_text('not to be overwritten')
    os.symlink(str(decoy), str(target))
    run = ansible.run('certificate_install', {'install': dict(
        certificate_path=lineage.cert_path, private_key_path=lineage.key_path, layout='combined', dest=str(target))})
    assert run.results['install']['failed'] is True, run
    assert 'symbolic link' in run.results['install']['msg']
    assert decoy.read_text() == 'not to be overwritten' and os.path.islink(str(target))


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs: a real 'No space left on device'. Needs mount privileges (root in CI containers)."""
    mountpoint = tmp_path / 'disk'
    mountpoint.mkdir()
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', str(mountpoint)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip('cannot mount a tmpfs here (%s): the disk-full row needs mount privileges'
                    % mounted.stderr.strip())
    try:
        yield mountpoint
    finally:
        subprocess.run(['umount', '-l', str(mountpoint)], check=False)


def fill(directory):
    """Take every free byte of directory's filesystem; returns the filler to delete."""
    filler = os.path.join(str(directory), 'filler')
    chunk = b'\0' * 4096
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC
                return filler
    finally:
        os.close(fd)


def test_disk_full_before_the_request_makes_no_call_and_leaves_files_intact(sandbox, ansible, small_disk):
    customer = '5100016-6'
    lineage = Lineage(small_disk / 'host').issue(sandbox, customer, expires_in_days=30)
    fill(small_disk)

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    result = run.results['host']
    assert result['failed'] is True, run
    assert 'No space left on device' in result['msg']
    assert calls.delta()['renewCertificate'] == 0
    lineage.assert_old_pair_intact()
    assert not os.path.exists(lineage.state_path)
    # The key's lock file stays by design (it names the certificate the key belongs to); nothing else may be left.
    leftovers = [name for name in os.listdir(str(small_disk / 'host' / 'private'))
                 if name not in ('key.pem', 'key.pem.lock')]
    assert leftovers == []


def run_until_disk_full(ansible, module, args, lineage, phase, disk):
    """Run module and fill disk once the state file reaches phase (the sandbox delays the answer meanwhile);
    returns (the finished run, the filler to delete)."""
    started = ansible.start(module, {'host': args})
    wait_for_phase(lineage, (phase,), started)
    filler = fill(disk)
    return started.wait(), filler


def test_disk_full_after_the_request_keeps_old_pair_and_rerun_completes(sandbox, ansible, small_disk):
    customer = '5100017-7'
    lineage = Lineage(small_disk / 'host').issue(sandbox, customer, expires_in_days=30)
    args = lineage.args(sandbox, customer)
    sandbox.set_fault('getCertificate', 'delay', seconds=3, times=1)

    calls = Calls(sandbox)
    run, filler = run_until_disk_full(ansible, 'certificate_renew', args, lineage, 'submitted', small_disk)
    result = run.results['host']
    assert result['failed'] is True, run
    assert 'No space left on device' in result['msg']
    lineage.assert_old_pair_intact()
    assert lineage.state()['phase'] == 'submitted'
    new_key = read(lineage.new_key_path)

    os.unlink(filler)
    run = ansible.run('certificate_renew', {'host': args})
    assert run.results['host'].get('failed') is not True, run
    assert calls.delta()['renewCertificate'] == 1
    lineage.assert_renewed(new_key_pem=new_key)


def test_disk_full_when_the_retrieval_id_arrives_names_it_and_retrieve_collects_the_certificate(
        sandbox, ansible, small_disk):
    """The credentials are spent once SignNewCertificate is answered: if the state file cannot take the
    RetrievalId, the error gives it, and certificate_retrieve collects the certificate with it."""
    customer = '5100028-9'
    lineage = Lineage(small_disk / 'host')
    transfer_id, transfer_password = sandbox.subscribe(customer, 'Example Oy')
    args = lineage.args(sandbox, customer, transfer_id=transfer_id, transfer_password=transfer_password)
    sandbox.set_fault('signNewCertificate', 'delay', seconds=3, times=1)

    calls = Calls(sandbox)
    run, filler = run_until_disk_full(ansible, 'certificate_request', args, lineage, 'prepared', small_disk)
    result = run.results['host']
    assert result['failed'] is True and result['error_type'] == 'StateError', run
    found = re.search(r'answered RetrievalId (\S+), but the state file could not record it: .*No space left on device',
                      result['msg'])
    assert found, result['msg']
    assert 'run incomes_register.certificates.certificate_retrieve with retrieval_id: %s' % found.group(1) in \
        result['msg']
    assert lineage.state()['phase'] == 'prepared'
    assert transfer_password not in run.output

    os.unlink(filler)
    run = ansible.run('certificate_retrieve', {'host': dict(
        lineage.args(sandbox, customer), retrieval_id=found.group(1))})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert result['certificate']['customer_id'] == customer and result['certificate']['key_matches'] is True
    assert calls.delta() == dict(signNewCertificate=1, renewCertificate=0, getCertificate=1)
    assert not os.path.exists(lineage.state_path) and not os.path.exists(lineage.new_key_path)


# Row: the 60-day renewal rule.

def test_renewal_rules_make_no_call_and_name_the_rule(sandbox, ansible, tmp_path):
    cases = {
        # renew_before_days above 60 would ask the service for a renewal it refuses.
        'too_early': ('5100018-8', 90, dict(renew_before_days=61)),
        'outside_window': ('5100019-9', 400, {}),
        'expired': ('5100020-0', -3, {}),
    }
    hosts, lineages = {}, {}
    for name, (customer, days, extra) in cases.items():
        lineages[name] = Lineage(tmp_path / name).issue(sandbox, customer, expires_in_days=days)
        hosts[name] = lineages[name].args(sandbox, customer, **extra)

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', hosts)
    assert calls.delta() == {'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 0}, run
    too_early = run.results['too_early']
    assert too_early['failed'] is True
    assert 'refuses renewal earlier than 60 days before expiry' in too_early['msg']
    outside = run.results['outside_window']
    assert outside.get('failed') is not True and outside['changed'] is False
    assert re.search(r'renewal is due from \d{4}-\d\d-\d\d', outside['msg']), outside['msg']
    expired = run.results['expired']
    assert expired['failed'] is True and expired['error_type'] == 'CertificateExpired'
    assert 'cannot be renewed' in expired['msg'] and 'e-service' in expired['msg']
    for lineage in lineages.values():
        assert read(lineage.cert_path) == lineage.original[0]
        assert not os.path.exists(lineage.new_key_path)


# Row: TLS verification failure.

def test_tls_is_verified_against_the_configured_ca_only(sandbox, ansible, tmp_path):
    hosts, lineages = {}, {}
    # The service-signing CA is a real CA, just not the one that issued the HTTPS server certificate.
    for name, customer, tls_ca in (('wrong_ca', '5100021-1', sandbox.service_ca_pem),
                                   ('system_ca', '5100022-2', None),
                                   ('configured_ca', '5100023-3', sandbox.tls_ca_pem)):
        lineages[name] = Lineage(tmp_path / name).issue(sandbox, customer, expires_in_days=30)
        hosts[name] = lineages[name].args(sandbox, customer, tls_ca_path=tls_ca)
    del hosts['system_ca']['tls_ca_path']

    calls = Calls(sandbox)
    # The environment variables that would make requests, OpenSSL or curl trust the sandbox must not count.
    run = ansible.run('certificate_renew', hosts, env={
        'REQUESTS_CA_BUNDLE': sandbox.tls_ca_pem, 'SSL_CERT_FILE': sandbox.tls_ca_pem,
        'CURL_CA_BUNDLE': sandbox.tls_ca_pem})
    for name in ('wrong_ca', 'system_ca'):
        result = run.results[name]
        assert result['failed'] is True, run
        assert 'TLS connection' in result['msg'] and 'tls_ca_path' in result['msg']
        assert result['request_may_have_been_processed'] is False
        lineages[name].assert_old_pair_intact()
        assert not os.path.exists(lineages[name].state_path)
    assert run.results['configured_ca'].get('failed') is not True, run
    assert calls.delta()['renewCertificate'] == 1, 'only the run that trusts the configured CA reaches the service'
    lineages['configured_ca'].assert_renewed()


def test_a_renewal_whose_retrieval_id_never_gives_a_certificate_is_asked_again_after_a_day(sandbox, ansible, tmp_path):
    """A RetrievalId the service keeps answering FAIL for (here one it never issued) is polled within the bound,
    then asked again: its key, which cannot sign, is deleted and one new RenewCertificate renews with a new key."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.pending_request import (
        PendingRequest)

    customer = '5100025-2'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    stale_key = b'stale new key, never used'
    with open(lineage.new_key_path, 'wb') as handle:
        handle.write(stale_key)
    os.chmod(lineage.new_key_path, 0o600)

    def record(hours_ago):
        submitted = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours_ago)
        PendingRequest(lineage.state_path, dict(
            operation='renew', phase='submitted', customer_id=customer, environment='TEST', endpoint=sandbox.url,
            retrieval_id='NEVERISSUED000000000000000000001', new_key_path=lineage.new_key_path,
            submitted_at=submitted.isoformat())).save()

    record(hours_ago=2)
    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer, wait_timeout=1)})
    result = run.results['host']
    assert result.get('failed') is True and result['error_type'] == 'RetrievalPending', run
    assert calls.delta()['renewCertificate'] == 0 and calls.delta()['getCertificate'] >= 1
    lineage.assert_old_pair_intact()
    assert read(lineage.new_key_path) == stale_key

    record(hours_ago=25)
    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert result['action'] == 'renewed' and result['changed'] is True
    assert result['msg'].startswith('RetrievalId NEVERISSUED000000000000000000001, submitted ')
    assert 'and was still not ready now: the renewal is requested again' in result['msg']
    # One last GetCertificate before it is given up, then one RenewCertificate and the new one's retrieval.
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=1, getCertificate=2)
    lineage.assert_renewed()
    assert read(lineage.key_path) != stale_key


@pytest.mark.parametrize('module', ['certificate_renew', 'certificate_retrieve'])
def test_wait_false_polls_a_recorded_retrieval_once_and_leaves_it_pending(sandbox, ansible, tmp_path, module):
    """A rerun with wait false that finds a RetrievalId asks once and returns, instead of waiting wait_timeout."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.pending_request import (
        PendingRequest)
    customer = '5100046-5'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    with open(lineage.new_key_path, 'wb') as handle:
        handle.write(b'new key of the request in flight')
    os.chmod(lineage.new_key_path, 0o600)
    PendingRequest(lineage.state_path, dict(
        operation='renew', phase='submitted', customer_id=customer, environment='TEST', endpoint=sandbox.url,
        retrieval_id='NEVERISSUED000000000000000000003', new_key_path=lineage.new_key_path,
        submitted_at=datetime.datetime.now(datetime.timezone.utc).isoformat())).save()
    calls = Calls(sandbox)
    started = time.monotonic()
    run = ansible.run(module, {'host': lineage.args(sandbox, customer, wait=False, wait_timeout=60)})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert (result['action'], result['changed']) == ('pending', False)
    assert result['msg'].startswith('RetrievalId NEVERISSUED000000000000000000003 has no certificate yet')
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=0, getCertificate=1)
    assert time.monotonic() - started < 45, 'the run waited for wait_timeout'
    lineage.assert_old_pair_intact()
    assert lineage.state()['retrieval_id'] == 'NEVERISSUED000000000000000000003'


def backdate_submission(lineage, hours):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.pending_request import (
        PendingRequest)
    state = lineage.state()
    state['submitted_at'] = (datetime.datetime.now(datetime.timezone.utc)
                             - datetime.timedelta(hours=hours)).isoformat()
    PendingRequest(lineage.state_path, state).save()


def test_a_day_old_renewal_whose_certificate_is_ready_is_collected_not_asked_again(sandbox, ansible, tmp_path):
    """A run that comes more than resubmit_after_hours after the submission polls once more before giving up,
    and installs the certificate the service has by then instead of asking again."""
    customer = '5100026-2'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer, wait=False)})
    assert run.results['host']['action'] == 'pending', run
    new_key = read(lineage.new_key_path)
    backdate_submission(lineage, hours=30)

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert (result['action'], result['changed']) == ('renewed', True)
    assert result['msg'] == 'Completed the renewal started by an earlier run.'
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=0, getCertificate=1)
    lineage.assert_renewed(new_key_pem=new_key)


def test_a_day_old_renewal_whose_certificate_is_refused_is_asked_again(sandbox, ansible, tmp_path):
    """The last poll of a stale renewal gives a certificate that cannot be used (not for the pending key):
    as without that poll, the renewal is asked again, and the run says why."""
    customer = '5100035-0'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer, wait=False)})
    assert run.results['host']['action'] == 'pending', run
    backdate_submission(lineage, hours=30)
    sandbox.set_fault('getCertificate', 'wrong-key', times=1)

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    result = run.results['host']
    assert result.get('failed') is not True, run
    assert result['msg'].startswith('The certificate of RetrievalId ') and ' was refused: ' in result['msg']
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=1, getCertificate=2)
    lineage.assert_renewed()


def test_a_day_old_renewal_asked_again_keeps_its_retrieval_id_and_key_until_the_new_request_is_accepted(
        sandbox, ansible, tmp_path):
    """A renewal still without a certificate after resubmit_after_hours is asked again for the same new key, and the
    old RetrievalId is replaced only once the service accepts that request: one refused leaves the waiting renewal
    as it was, whose certificate may still come. (It used to delete the waiting key before asking again.)"""
    customer = '5100060-9'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    sandbox.configure(retrieval_delay=3600)
    try:
        run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer, wait=False)})
    finally:
        sandbox.configure(retrieval_delay=0)
    assert run.results['host']['action'] == 'pending', run
    waiting_key, waiting_id = read(lineage.new_key_path), lineage.state()['retrieval_id']
    backdate_submission(lineage, hours=30)

    sandbox.set_fault('renewCertificate', 'client-fault', times=1)
    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer, wait=False)})
    result = run.results['host']
    assert result.get('failed') is True, run
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=1, getCertificate=1)
    assert lineage.state()['retrieval_id'] == waiting_id and lineage.state()['phase'] == 'submitted'
    assert read(lineage.new_key_path) == waiting_key
    lineage.assert_old_pair_intact()

    # Asked again and accepted: the same key, so a certificate for either request fits it.
    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    result = run.results['host']
    assert result.get('failed') is not True and (result['action'], result['changed']) == ('renewed', True), run
    assert ': the renewal is requested again.' in result['msg']
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=1, getCertificate=2)
    lineage.assert_renewed(new_key_pem=waiting_key)


@pytest.mark.skipif(os.geteuid() != 0, reason='giving files to another group needs root')
def test_a_renewal_keeps_the_group_the_certificate_and_key_were_given(sandbox, ansible, tmp_path):
    """Without owner or group, the renewed pair is the old pair's: a service that reads them through its group
    still can. The new files are written beside the old ones, then renamed over them."""
    customer = '5100045-7'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    for path in (lineage.cert_path, lineage.key_path):
        os.chown(path, -1, 1)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    assert run.results['host']['action'] == 'renewed', run
    lineage.assert_renewed()
    assert (os.stat(lineage.cert_path).st_gid, os.stat(lineage.key_path).st_gid) == (1, 1)
    assert mode(lineage.key_path) == 0o600


def root_only_bundle(sandbox, tmp_path):
    """The issuing bundle without its intermediate: as after an issuing-CA rollover the trust file has not seen."""
    blocks = read(sandbox.issuing_ca_pem).split(b'-----END CERTIFICATE-----')
    path = tmp_path / 'issuing-root-only.pem'
    path.write_bytes(blocks[-2].strip() + b'\n-----END CERTIFICATE-----\n')
    return str(path)


def test_a_certificate_refused_for_its_chain_is_kept_and_installed_once_trusted(sandbox, ansible, tmp_path):
    """The service's certificate fails only for the trust file: it is kept with the request, and the run after
    the trust file is put right installs it without asking the service for it again."""
    customer = '5100043-0'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer, wait=False)})
    assert run.results['host']['action'] == 'pending', run
    new_key = read(lineage.new_key_path)

    calls = Calls(sandbox)
    run = ansible.run('certificate_retrieve', {'host': lineage.args(
        sandbox, customer, issuing_ca_path=root_only_bundle(sandbox, tmp_path))})
    result = run.results['host']
    assert result.get('failed') is True and result['error_type'] == 'CertificateRejected', run
    assert result['msg'].startswith('Chain check failed: ')
    assert 'is kept with the request in %s: once that is put right' % lineage.state_path in result['msg']
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=0, getCertificate=1)
    lineage.assert_old_pair_intact()
    assert read(lineage.new_key_path) == new_key and lineage.state()['certificate']

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    result = run.results['host']
    assert result.get('failed') is not True and result['action'] == 'renewed', run
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=0, getCertificate=0)
    lineage.assert_renewed(new_key_pem=new_key)


def test_a_typed_retrieval_id_refused_for_its_chain_records_nothing(sandbox, ansible, tmp_path):
    """A RetrievalId given as certificate_retrieve's option is not recorded, not even to keep its certificate: the
    record would name a first certificate, and the renewal it may belong to could not go on."""
    customer = '5100047-3'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer, wait=False)})
    retrieval_id = run.results['host']['retrieval_id']
    os.unlink(lineage.state_path)
    run = ansible.run('certificate_retrieve', {'host': lineage.args(
        sandbox, customer, retrieval_id=retrieval_id, issuing_ca_path=root_only_bundle(sandbox, tmp_path))})
    result = run.results['host']
    assert result.get('failed') is True and result['msg'].startswith('Chain check failed: '), run
    assert result['msg'].endswith('Run certificate_retrieve with retrieval_id %s again once that is put right.'
                                  % retrieval_id)
    assert not os.path.exists(lineage.state_path)
    run = ansible.run('certificate_retrieve', {'host': lineage.args(sandbox, customer, retrieval_id=retrieval_id)})
    assert run.results['host']['action'] == 'retrieved', run
    lineage.assert_renewed()


def test_a_day_old_renewal_refused_for_its_chain_is_not_asked_again(sandbox, ansible, tmp_path):
    """Giving up a renewal whose certificate only the trust file refuses would throw away a certificate the service
    issued, and the next one would be refused the same way: the run fails instead, with the key kept."""
    customer = '5100044-9'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer, wait=False)})
    assert run.results['host']['action'] == 'pending', run
    new_key, retrieval_id = read(lineage.new_key_path), lineage.state()['retrieval_id']
    backdate_submission(lineage, hours=30)

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(
        sandbox, customer, issuing_ca_path=root_only_bundle(sandbox, tmp_path))})
    result = run.results['host']
    assert result.get('failed') is True and result['msg'].startswith('Chain check failed: '), run
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=0, getCertificate=1)
    lineage.assert_old_pair_intact()
    assert read(lineage.new_key_path) == new_key and lineage.state()['retrieval_id'] == retrieval_id

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    assert run.results['host']['msg'] == 'Completed the renewal started by an earlier run.', run
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=0, getCertificate=0)
    lineage.assert_renewed(new_key_pem=new_key)


def test_a_day_old_renewal_is_kept_when_the_current_key_cannot_sign_a_new_one(sandbox, ansible, tmp_path):
    """Giving a renewal up deletes its key; that waits until the current pair has been checked, so a replaced
    current key leaves the pending request (the way back) in place and sends nothing."""
    customer = '5100027-0'
    lineage = Lineage(tmp_path / 'host').issue(sandbox, customer, expires_in_days=30)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer, wait=False)})
    assert run.results['host']['action'] == 'pending', run
    state = lineage.state()
    state['retrieval_id'] = 'NEVERISSUED000000000000000000002'
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.pending_request import (
        PendingRequest)
    PendingRequest(lineage.state_path, state).save()
    backdate_submission(lineage, hours=30)
    new_key = read(lineage.new_key_path)
    other = Lineage(tmp_path / 'other').issue(sandbox, customer, expires_in_days=30)
    with open(lineage.key_path, 'wb') as handle:
        handle.write(read(other.key_path))

    calls = Calls(sandbox)
    run = ansible.run('certificate_renew', {'host': lineage.args(sandbox, customer)})
    result = run.results['host']
    assert result.get('failed') is True and 'does not belong to the certificate' in result['msg'], run
    assert calls.delta() == dict(signNewCertificate=0, renewCertificate=0, getCertificate=1)
    assert read(lineage.new_key_path) == new_key
    assert lineage.state()['retrieval_id'] == 'NEVERISSUED000000000000000000002'
