import json
import os
import stat

import pytest
from ansible.plugins.action import ActionBase

from ansible_collections.incomes_register.certificates.plugins.action import renewal_report
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import renewal_report as report

OK = {'host': 'app1', 'status': 'ok', 'message': 'The certificate is valid.',
      'certificates': [{'host': 'app1', 'status': 'ok', 'customer_id': '1234567-8', 'environment': 'TEST',
                        'path': '/etc/ir/c.pem', 'message': 'The certificate is valid.'}]}


class Task(object):
    def __init__(self, args, check_mode=False):
        self.args = args
        self.check_mode = check_mode
        self.async_val = 0
        self.action = 'incomes_register.certificates.renewal_report'


def run(monkeypatch, args, check_mode=False):
    action = object.__new__(renewal_report.ActionModule)
    action._task = Task(args, check_mode)
    monkeypatch.setattr(ActionBase, 'run', lambda self, tmp=None, task_vars=None: {})
    return action.run(task_vars={})


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_summary_file_is_written_where_ansible_playbook_runs_and_rewritten_only_when_it_changes(monkeypatch, workdir):
    args = {'host_outcomes': {'app1': OK, 'app2': {}}, 'summary_file': 'summary.json'}
    result = run(monkeypatch, args)
    path = str(workdir / 'summary.json')
    assert result['changed'] is True and result['summary_file'] == path
    assert json.loads(open(path).read()) == {'app1': OK, 'app2': report.NO_OUTCOME}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert result['gate_failed'] is True and result['attention'] == ['app2=unreachable']
    assert result['gate_reasons'] == ['1 certificate(s) need attention: app2=unreachable']
    assert result['lines'][0] == 'OK app1 1234567-8 TEST /etc/ir/c.pem The certificate is valid.'
    assert result['msg'] == '2 certificates on 2 hosts: 1 ok, 1 unreachable'
    assert run(monkeypatch, args)['changed'] is False
    args['host_outcomes'] = {'app1': OK}
    assert run(monkeypatch, args)['changed'] is True
    assert list(json.loads(open(path).read())) == ['app1']


def test_check_mode_tells_whether_the_file_would_change_and_writes_nothing(monkeypatch, workdir):
    result = run(monkeypatch, {'host_outcomes': {'app1': OK}, 'summary_file': 'summary.json'}, check_mode=True)
    assert result['changed'] is True and not (workdir / 'summary.json').exists()
    assert result['gate_failed'] is False and result['gate_reasons'] == []


def test_a_link_is_followed_to_the_file_it_names(monkeypatch, workdir):
    (workdir / 'out').mkdir()
    os.symlink(str(workdir / 'out' / 'real.json'), str(workdir / 'summary.json'))
    result = run(monkeypatch, {'host_outcomes': {'app1': OK}, 'summary_file': 'summary.json'})
    assert result['summary_file'] == str(workdir / 'out' / 'real.json')
    assert os.path.islink(str(workdir / 'summary.json'))
    assert json.loads((workdir / 'out' / 'real.json').read_text()) == {'app1': OK}


def test_a_file_that_cannot_be_written_fails_the_gate_not_the_task(monkeypatch, workdir):
    """So that the playbook prints every certificate's line before it fails."""
    result = run(monkeypatch, {'host_outcomes': {'app1': OK}, 'summary_file': 'missing/summary.json'})
    assert not result.get('failed') and result['changed'] is False
    assert result['gate_failed'] is True
    assert result['gate_reasons'] == ['The outcome was not written: the directory %s does not exist.'
                                      % (workdir / 'missing')]
    assert result['lines'] and not (workdir / 'missing').exists()
    (workdir / 'taken').mkdir()
    result = run(monkeypatch, {'host_outcomes': {'app1': OK}, 'summary_file': 'taken'})
    assert result['gate_failed'] is True and 'Is a directory' in result['gate_reasons'][0]


def test_attention_fails_the_gate_only_when_asked(monkeypatch, workdir):
    result = run(monkeypatch, {'host_outcomes': {'app1': OK, 'app2': None}, 'fail_on_attention': 'false'})
    assert result['attention'] == ['app2=unreachable'] and result['gate_failed'] is False
    assert result['summary_file'] is None and result['changed'] is False
    assert os.listdir(str(workdir)) == []


@pytest.mark.parametrize('args, message', [
    ({'host_outcomes': {'app1': OK}, 'summary_file': ''}, 'summary_file must name a file'),
    ({'summary_file': 'summary.json'}, 'host_outcomes'),
    ({'host_outcomes': {'app1': OK}, 'summary': 'summary.json'}, 'summary'),
])
def test_invalid_options_fail_and_write_nothing(monkeypatch, workdir, args, message):
    result = run(monkeypatch, args)
    assert result['failed'] is True and message in result['msg']
    assert os.listdir(str(workdir)) == []
