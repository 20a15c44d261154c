"""Load (issue 5): the renewal role over 100 local hosts at forks=20 renews every host exactly once.

Run it with `pytest -m slow tests/integration/test_load.py -s` to see the sandbox's peak concurrency and
the time taken; both are printed, not asserted (speed targets belong in the benchmarks).
"""
import datetime
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from module_helpers import fleet_inventory

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HOSTS = 100
FORKS = 20


def prepare_host(sandbox, root, index):
    """One directory per host with its own customer's certificate, 30 days from expiry."""
    name = 'host%03d' % index
    (root / name / 'private').mkdir(parents=True, mode=0o700)
    sandbox.issue('7%06d-1' % index, new_key_path=str(root / name / 'private' / 'key.pem'), expires_in_days=30,
                  out=str(root / name / 'certificate.pem'))
    return name


def test_renewal_role_over_100_hosts_renews_each_exactly_once(sandbox, run_playbook, tmp_path):
    root = tmp_path / 'hosts'
    # The sandbox CLI is a process per certificate; a few at a time keeps the set-up short.
    with ThreadPoolExecutor(max_workers=4) as pool:
        names = list(pool.map(lambda index: prepare_host(sandbox, root, index), range(HOSTS)))
    inventory = fleet_inventory(
        tmp_path / 'inventory.yml', sandbox, root,
        dict((name, {'renewal_customer_id': '7%06d-1' % index}) for index, name in enumerate(names)),
        renewal_initial_delay=0, renewal_poll_interval=0.2,
        # The role's default throttle (5) would hide the concurrency this test is about.
        renewal_throttle=FORKS)
    summary_file = str(tmp_path / 'summary.json')

    sandbox.reset_calls()
    started = time.monotonic()
    run = run_playbook('incomes_register.certificates.renew', {'incomes_register_renew_summary_file': summary_file},
                       inventory=inventory, args=['--forks', str(FORKS)])
    elapsed = time.monotonic() - started
    calls = sandbox.calls()
    with open(summary_file) as handle:
        outcomes = json.load(handle)
    problems = dict((host, outcome['message']) for host, outcome in outcomes.items()
                    if outcome['status'] != 'renewed')
    print('\n%d hosts, forks=%d: %.1f s; sandbox calls %s; peak concurrent requests %d; problems: %s'
          % (HOSTS, FORKS, elapsed, dict((op, calls[op]) for op in ('renewCertificate', 'getCertificate')),
             calls['peak_concurrent'], problems or 'none'))

    assert run.returncode == 0, run
    assert not problems
    assert calls['renewCertificate'] == HOSTS, 'every host renewed exactly once'
    assert calls['signNewCertificate'] == 0
    assert 1 < calls['peak_concurrent'] <= FORKS
    now = datetime.datetime.now(datetime.timezone.utc)
    for name in names:
        with open(str(root / name / 'certificate.pem'), 'rb') as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        with open(str(root / name / 'private' / 'key.pem'), 'rb') as handle:
            key = load_pem_private_key(handle.read(), None)
        assert key.public_key() == cert.public_key(), name
        assert cert.not_valid_after_utc - now > datetime.timedelta(days=700), name
        assert not os.path.exists(str(root / name / 'certificate.pem.state.json')), name
