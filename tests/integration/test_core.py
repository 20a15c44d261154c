"""The integration core (enroll, a no-op rerun, renew in the window, audit) on the local connection.

`make matrix` runs these tests (pytest -m core) under every supported ansible-core, from that core's own
virtual environment, and, with IR_TEST_HOST_PYTHON naming another interpreter, with the modules running on
each managed-host Python and library set (docs/compatibility.md)."""
import os
import shutil
import subprocess
import sys

import pytest

import core_flow

pytestmark = [pytest.mark.integration, pytest.mark.core]


def host_python():
    return os.environ.get('IR_TEST_HOST_PYTHON') or sys.executable


def test_core_flow_on_the_local_connection(sandbox, run_playbook, tmp_path):
    python = host_python()
    root = tmp_path / 'hosts'
    trust_src = tmp_path / 'trust-src'
    shutil.copytree(os.path.dirname(sandbox.service_ca_pem), str(trust_src))
    core_flow.prepare_hosts(sandbox, root)
    inventory = core_flow.write_inventory(tmp_path / 'inventory.yml', sandbox, root, trust_src, {
        'ansible_connection': 'local', 'ansible_python_interpreter': python})
    runs = core_flow.run_core(sandbox, run_playbook, inventory, tmp_path, root)
    # The modules really ran on the interpreter under test: Ansible names it in its verbose output only, so
    # ask that interpreter for the versions it has, which the matrix records.
    versions = subprocess.run([python, '-c', 'import sys, importlib.metadata as m; print(sys.version.split()[0], '
                               '*(m.version(n) for n in ("cryptography", "lxml", "signxml", "requests")))'],
                              capture_output=True, text=True, check=True).stdout.split()
    print('host python %s cryptography %s lxml %s signxml %s requests %s' % tuple(versions))
    assert set(runs) == {'enroll', 'enroll_again', 'renew', 'renew_again', 'audit'}
