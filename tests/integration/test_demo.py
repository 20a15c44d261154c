"""`make demo` as a new user runs it: the real-service profile, a 20 s retrieval delay and a not-ready
code the client has never been told about."""
import json
import os
import subprocess

import pytest

from conftest import ansible_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_demo_enrolls_renews_and_audits_against_a_slow_service(tmp_path):
    out = tmp_path / 'demo-output'
    env = ansible_env({'DEMO_OUTPUT': str(out)})
    completed = subprocess.run(['bash', os.path.join(ROOT, 'demo', 'run-demo.sh')], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=900, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-6000:]
    assert 'It takes 20 s to issue a certificate' in output
    assert 'The second renewal run made 0 calls' in output
    # The async enrollment shows the wait as progress while the sandbox answers "not yet".
    assert 'ASYNC POLL' in output or 'ASYNC OK' in output, output[-3000:]
    with open(str(out / 'report' / 'certificate-expiry.json')) as handle:
        report = json.load(handle)
    statuses = dict((row['host'], row['status']) for row in report['certificates'])
    assert statuses['payroll-a'] == statuses['payroll-b'] == 'ok'
    # Both renewed inside the window, the expired one cannot be, the missing one has nothing to renew.
    assert statuses['hr-c'] == statuses['hr-d'] == 'ok'
    assert statuses['legacy-e'] == 'expired' and statuses['new-f'] == 'missing'
    log = (out / 'sandbox' / 'server.log').read_text()
    assert 'PKI517' in log, 'the sandbox never answered "not yet"'
