"""Renewal at fleet scale (issue 15): hosts submit first and wait together; the throttle bounds calls, not waits.

A sandbox of its own issues certificates DELAY seconds after the request, so a host that waited inside
its throttle slot (the old role) would make the run last about HOSTS / THROTTLE x DELAY.
"""
import json
import os
import subprocess
import sys
import time

import pytest
from cryptography import x509

from irsandbox.testing import RunningSandbox

from conftest import ansible_env
from module_helpers import fleet_inventory
from process_kill import kill_tree

pytestmark = pytest.mark.integration

HOSTS = 12
THROTTLE = 3
DELAY = 6
POLL_INTERVAL = 2


@pytest.fixture(scope='module')
def slow_sandbox(tmp_path_factory):
    with RunningSandbox(str(tmp_path_factory.mktemp('slow-sandbox')), retrieval_delay=DELAY) as running:
        yield running


def prepare_wave(sandbox, tmp_path, prefix):
    """HOSTS hosts, each with its own customer's certificate 30 days from expiry; returns (root, inventory)."""
    root = tmp_path / 'hosts'
    customers = {}
    for index in range(HOSTS):
        name = 'wave%02d' % index
        customers[name] = '%s%05d-1' % (prefix, index)
        (root / name / 'private').mkdir(parents=True, mode=0o700)
        sandbox.issue(customers[name], new_key_path=str(root / name / 'private' / 'key.pem'), expires_in_days=30,
                      out=str(root / name / 'certificate.pem'))
    inventory = fleet_inventory(
        tmp_path / 'inventory.yml', sandbox, root,
        dict((name, {'renewal_customer_id': customer}) for name, customer in customers.items()),
        renewal_initial_delay=POLL_INTERVAL, renewal_poll_interval=POLL_INTERVAL, renewal_throttle=THROTTLE)
    return root, inventory


def renew_command(inventory, summary_file):
    return [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), 'incomes_register.certificates.renew',
            '-i', inventory, '--forks', str(HOSTS), '-e', 'incomes_register_renew_summary_file=' + summary_file]


def assert_all_renewed(root, summary_file):
    with open(summary_file) as handle:
        outcomes = json.load(handle)
    assert dict((host, o['status']) for host, o in outcomes.items()) == dict(
        ('wave%02d' % index, 'renewed') for index in range(HOSTS)), outcomes
    for host in outcomes:
        cert = x509.load_pem_x509_certificate((root / host / 'certificate.pem').read_bytes())
        assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days > 700, host
        assert not (root / host / 'certificate.pem.state.json').exists(), host


def test_a_wave_of_hosts_waits_once_and_the_throttle_bounds_the_calls(slow_sandbox, tmp_path):
    root, inventory = prepare_wave(slow_sandbox, tmp_path, '81')
    summary_file = str(tmp_path / 'summary.json')
    slow_sandbox.reset_calls()
    started = time.monotonic()
    run = subprocess.run(renew_command(inventory, summary_file), capture_output=True, text=True,
                         env=ansible_env(), cwd=str(tmp_path), timeout=600, check=False)
    elapsed = time.monotonic() - started
    calls = slow_sandbox.calls()

    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert_all_renewed(root, summary_file)
    assert calls['renewCertificate'] == HOSTS, 'one RenewCertificate per host'
    assert calls['signNewCertificate'] == 0
    # Each host polls on certificate_renew's own schedule, never more often.
    assert HOSTS <= calls['getCertificate'] <= HOSTS * (1 + DELAY / POLL_INTERVAL), calls
    assert 1 <= calls['peak_concurrent'] <= THROTTLE, calls
    # The waits overlap: the play pauses once per round for all hosts (never per host or per throttle
    # batch), and there are no more rounds than one host's own schedule has. Wall time is the bench's
    # to measure (docs/benchmarks.md); a timed assertion would fail on a loaded machine.
    pauses = run.stdout.count('Pausing for ')
    assert 1 <= pauses <= 1 + DELAY / POLL_INTERVAL, run.stdout[-3000:]
    print('\n%d hosts, throttle %d, delay %d s: %.1f s; calls %s' % (HOSTS, THROTTLE, DELAY, elapsed, calls))


def test_a_run_killed_between_submission_and_collection_resumes_without_resending(slow_sandbox, tmp_path):
    root, inventory = prepare_wave(slow_sandbox, tmp_path, '82')
    summary_file = str(tmp_path / 'summary.json')
    slow_sandbox.reset_calls()
    first = subprocess.Popen(renew_command(inventory, summary_file), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=ansible_env(), cwd=str(tmp_path), start_new_session=True)
    try:
        # Every host has submitted once all state files record a RetrievalId; the certificates come
        # DELAY seconds after that, so the kill lands inside the wave.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            submitted = 0
            for index in range(HOSTS):
                state = root / ('wave%02d' % index) / 'certificate.pem.state.json'
                try:
                    submitted += json.loads(state.read_text()).get('phase') == 'submitted'
                except (OSError, ValueError):
                    pass
            if submitted == HOSTS:
                break
            time.sleep(0.1)
        kill_tree(first.pid)
    finally:
        first.communicate(timeout=60)
    assert submitted == HOSTS, 'the first run did not submit every host'
    renewals = slow_sandbox.calls()['renewCertificate']
    assert renewals == HOSTS

    run = subprocess.run(renew_command(inventory, summary_file), capture_output=True, text=True,
                         env=ansible_env(), cwd=str(tmp_path), timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert slow_sandbox.calls()['renewCertificate'] == renewals, 'the rerun sent no RenewCertificate'
    assert_all_renewed(root, summary_file)


def test_enroll_playbook_enrolls_many_hosts_with_their_own_credentials_in_one_wave(slow_sandbox, tmp_path):
    hosts = 4
    root = tmp_path / 'hosts'
    host_vars = {}
    for index in range(hosts):
        name = 'new%02d' % index
        customer = '83%05d-1' % index
        transfer_id, transfer_password = slow_sandbox.subscribe(customer, 'Wave %d Oy' % index, 'TEST')
        host_vars[name] = {'renewal_customer_id': customer, 'enroll_transfer_id': transfer_id,
                           'enroll_transfer_password': transfer_password}
    inventory = fleet_inventory(tmp_path / 'inventory.yml', slow_sandbox, root, host_vars,
                                renewal_initial_delay=POLL_INTERVAL, renewal_poll_interval=POLL_INTERVAL,
                                renewal_throttle=2)
    slow_sandbox.reset_calls()
    # The prompts are answered as a scheduled job would: empty, each host has its own credentials.
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), 'incomes_register.certificates.enroll',
               '-i', str(inventory), '--forks', str(hosts),
               '-e', 'incomes_register_transfer_id=', '-e', 'incomes_register_transfer_password=']
    run = subprocess.run(command, capture_output=True, text=True, env=ansible_env(), cwd=str(tmp_path), timeout=600,
                         check=False)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    calls = slow_sandbox.calls()
    assert calls['signNewCertificate'] == hosts, 'one SignNewCertificate per host'
    assert hosts <= calls['getCertificate'] <= hosts * (1 + DELAY / POLL_INTERVAL), calls
    assert calls['peak_concurrent'] <= 2, calls
    for name, values in host_vars.items():
        cert = x509.load_pem_x509_certificate((root / name / 'certificate.pem').read_bytes())
        assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == values['renewal_customer_id']
        assert not (root / name / 'certificate.pem.state.json').exists(), name
        assert values['enroll_transfer_password'] not in run.stdout
