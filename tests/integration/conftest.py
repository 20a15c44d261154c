"""Fixtures for the integration tests: a real sandbox over HTTPS and real ansible-playbook runs."""
import json
import os
import subprocess
import sys

import pytest

from irsandbox.testing import RunningSandbox

# With --import-mode=importlib the test files' directory is not on sys.path: put it there for module_helpers.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')


@pytest.fixture(scope='session')
def sandbox(tmp_path_factory):
    with RunningSandbox(str(tmp_path_factory.mktemp('sandbox')), retrieval_delay=0) as running:
        yield running


class PlaybookRun(object):
    def __init__(self, completed, results_path):
        self.returncode = completed.returncode
        self.output = completed.stdout + completed.stderr
        self.results = {}
        if os.path.exists(results_path):
            with open(results_path) as handle:
                self.results = json.load(handle)

    def __repr__(self):
        return 'PlaybookRun(rc=%s)\n%s' % (self.returncode, self.output[-6000:])


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'PATH': os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', ''),
    })
    env.update(extra or {})
    return env


@pytest.fixture
def run_playbook(tmp_path):
    """Run a playbook (an FQCN or a path) with extra vars from a file.

    The playbooks write what they register to {{ results_file }} so the tests read real results.
    """
    counter = [0]

    def run(playbook, extra_vars=None, inventory=None, args=(), env=None):
        counter[0] += 1
        results_path = str(tmp_path / ('results-%d.json' % counter[0]))
        vars_path = str(tmp_path / ('vars-%d.json' % counter[0]))
        variables = dict(extra_vars or {}, results_file=results_path)
        with open(vars_path, 'w') as handle:
            json.dump(variables, handle)
        os.chmod(vars_path, 0o600)
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook,
                   '-i', inventory or 'localhost,', '-c', 'local', '-e', '@' + vars_path] + list(args)
        completed = subprocess.run(command, capture_output=True, text=True, env=ansible_env(env),
                                   cwd=str(tmp_path), timeout=600, check=False)
        return PlaybookRun(completed, results_path)
    return run


MODULE_PLAYBOOK = """
- name: Run one module of the collection under test
  hosts: all
  gather_facts: false
  tasks:
    - name: Run {module}
      incomes_register.certificates.{module}:
      args: "{{{{ module_args }}}}"
      register: module_result
      ignore_errors: true

    - name: Save the result for the test
      ansible.builtin.copy:
        content: "{{{{ module_result | to_nice_json }}}}"
        dest: "{results}"
        mode: '0600'
      delegate_to: localhost
      check_mode: false
      diff: false
"""


def module_playbook(module, results='{{ results_file }}'):
    """A playbook that runs one module with each host's module_args and saves what it returned at results."""
    return MODULE_PLAYBOOK.format(module=module, results=results)


@pytest.fixture(scope='session')
def module_playbook_text():
    return module_playbook


@pytest.fixture
def run_module(run_playbook, tmp_path):
    """Run one collection module through a real ansible-playbook; returns (PlaybookRun, result dict)."""
    def run(module, module_args, args=(), env=None):
        playbook = tmp_path / ('%s.yml' % module)
        playbook.write_text(module_playbook(module))
        run_ = run_playbook(str(playbook), {'module_args': module_args}, args=args, env=env)
        return run_, run_.results
    return run
