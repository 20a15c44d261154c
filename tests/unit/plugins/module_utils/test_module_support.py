"""run_lifecycle_many: what it refuses across the certificates of one task before any of them runs its flow."""
import os
import sys

import pytest
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pki_fixtures  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils import lifecycle, module_support  # noqa: E402


class Exited(Exception):
    pass


class FakeModule(object):
    """What run_lifecycle_many uses of AnsibleModule: params, check mode, diff, and the two exits."""

    def __init__(self, params):
        self.params = params
        self.check_mode = False
        self._diff = False
        self.result = None

    def exit_json(self, **result):
        self.result = dict(result, failed=False)
        raise Exited()

    def fail_json(self, **result):
        self.result = dict(result, failed=True)
        raise Exited()


@pytest.fixture
def task(tmp_path):
    root, root_key = pki_fixtures.make_root()
    issuing, dummy = pki_fixtures.make_intermediate(root, root_key)
    bundle = tmp_path / 'issuing.pem'
    bundle.write_bytes(issuing.public_bytes(serialization.Encoding.PEM))
    return dict(customer_id=pki_fixtures.CUSTOMER_ID, customer_name=None, environment='TEST',
                issuing_ca_path=str(bundle), service_ca_path=str(bundle), tls_ca_path=None, endpoint=None,
                private_key_path=str(tmp_path / 'private' / 'key.pem'), private_key_passphrase=None, path=None,
                state_path=None, owner=None, group=None, mode='0644', backup=True, lock_timeout=5, timeout=30,
                wait_timeout=0, initial_delay=0, poll_interval=10, renew_before_days=60, key_size=2048)


def run(params, entries):
    ran = []

    def flow(store, connect, flow_params, issuing_bundle, wait_options, check_mode):
        ran.append(store.path)
        return lifecycle.Outcome()
    module = FakeModule(dict(params, certificates=entries))
    with pytest.raises(Exited):
        module_support.run_lifecycle_many(module, flow, required=('customer_id', 'path', 'private_key_path'))
    return module.result, ran


def test_two_certificates_on_the_tasks_key_path_the_second_is_refused_before_it_runs(task, tmp_path):
    first, second = str(tmp_path / 'a.pem'), str(tmp_path / 'b.pem')
    result, ran = run(task, [dict(path=first), dict(path=second)])
    assert ran == [first]
    assert result['failed'] and [r['failed'] for r in result['results']] == [False, True]
    assert result['results'][1]['msg'] == (
        "private_key_path %s is also private_key_path of certificate 1 of this task: each certificate needs files of "
        "its own (an entry without private_key_path takes the task's). Nothing was sent."
        % os.path.realpath(task['private_key_path']))


def test_a_certificate_on_another_ones_state_file_is_refused(task, tmp_path):
    first, second = str(tmp_path / 'a.pem'), str(tmp_path / 'b.pem')
    result, ran = run(task, [dict(path=first, private_key_path=str(tmp_path / 'ka.pem')),
                             dict(path=second, private_key_path=str(tmp_path / 'kb.pem'), state_path=first + '.state.json')])
    assert ran == [first]
    assert 'state_path %s.state.json is also state_path of certificate 1' % os.path.realpath(first) in \
        result['results'][1]['msg']


def test_certificates_with_files_of_their_own_all_run(task, tmp_path):
    entries = [dict(path=str(tmp_path / name / 'cert.pem'), private_key_path=str(tmp_path / name / 'key.pem'))
               for name in ('a', 'b', 'c')]
    result, ran = run(task, entries)
    assert ran == [entry['path'] for entry in entries] and not result['failed']
