import os

import pytest
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.incomes_register.certificates.plugins.action import certificate_renew
from ansible_collections.incomes_register.certificates.plugins.module_utils import service_options
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import trust_copy


class Task(object):
    def __init__(self, args, check_mode=False):
        self.args = args
        self.async_val = 0
        self.check_mode = check_mode
        self.action = 'incomes_register.certificates.certificate_renew'

    def copy(self):
        return Task(dict(self.args), self.check_mode)


class Copy(object):
    """ansible.builtin.copy's action, as the plugin gets it from the action loader: its outcome by file name."""

    def __init__(self, outcomes, task, runs):
        self.outcomes, self.task, self.runs = outcomes, task, runs

    def run(self, task_vars=None):
        self.runs.append(dict(self.task.args))
        outcome = self.outcomes.get(os.path.basename(self.task.args['src']))
        if isinstance(outcome, Exception):
            raise outcome
        return dict(outcome or {'changed': False})


def run(monkeypatch, args, copies=None, module=None, check_mode=False):
    """The plugin's result, the copies it made (their arguments) and what it sent the module (None: not run)."""
    runs, sent = [], []
    action = object.__new__(certificate_renew.ActionModule)
    action._task = Task(args, check_mode)
    action._connection = type('Connection', (), {'has_native_async': False, '_shell': type('Shell', (), {'tmpdir': None})()})()
    action._play_context = action._loader = action._templar = None

    class Loader(object):
        def get(self, name, task=None, **kwargs):
            assert name == 'ansible.legacy.copy'
            return Copy(copies or {}, task, runs)

    action._shared_loader_obj = type('Shared', (), {'action_loader': Loader()})()
    monkeypatch.setattr(ActionBase, 'run', lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(action, '_remove_tmp_path', lambda path: None, raising=False)

    def execute(module_args=None, task_vars=None, wrap_async=False):
        sent.append(module_args)
        return dict(module or {'changed': False, 'msg': 'nothing due'})

    monkeypatch.setattr(action, '_execute_module', execute, raising=False)
    result = action.run(task_vars={})
    return result, runs, sent[0] if sent else None


def test_without_a_source_directory_nothing_is_copied_and_the_module_gets_none_of_the_trust_options(monkeypatch):
    result, runs, sent = run(monkeypatch, {'certificates': [{'path': '/srv/a.pem'}], 'trust_files': ['a.pem'],
                                           'trust_dir': '/etc/t'})
    assert runs == [] and sent == {'certificates': [{'path': '/srv/a.pem'}]}
    assert result == {'changed': False, 'msg': 'nothing due'}


def test_each_file_is_copied_by_copys_action_before_the_module_and_a_copy_makes_the_task_changed(monkeypatch, tmp_path):
    result, runs, sent = run(monkeypatch, {'trust_src_dir': str(tmp_path), 'trust_dir': '/etc/t', 'wait': False},
                             copies={'issuing-ca.pem': {'changed': True, 'dest': '/etc/t/issuing-ca.pem'}})
    assert runs == [dict(src=os.path.join(os.path.realpath(str(tmp_path)), name), dest='/etc/t/', mode='0644',
                         directory_mode='0755') for name in trust_copy.DEFAULT_FILES]
    assert sent == {'wait': False}
    assert result['changed'] is True and result['msg'] == 'nothing due'
    assert result['trust_files'] == [
        {'name': 'service-signing-ca.pem', 'dest': '/etc/t/service-signing-ca.pem', 'changed': False},
        {'name': 'issuing-ca.pem', 'dest': '/etc/t/issuing-ca.pem', 'changed': True}]


def test_a_relative_source_is_the_working_directorys_and_the_home_is_expanded(monkeypatch, tmp_path):
    monkeypatch.chdir(str(tmp_path))
    dummy, runs, dummy = run(monkeypatch, {'trust_src_dir': 'trust-src', 'trust_files': ['a.pem']})
    assert runs[0]['src'] == os.path.join(os.path.realpath(str(tmp_path)), 'trust-src', 'a.pem')
    assert runs[0]['dest'] == trust_copy.DEFAULT_DIR + '/'
    monkeypatch.setenv('HOME', str(tmp_path))
    dummy, runs, dummy = run(monkeypatch, {'trust_src_dir': '~/trust', 'trust_files': ['a.pem']})
    assert runs[0]['src'] == os.path.join(os.path.realpath(str(tmp_path)), 'trust', 'a.pem')


@pytest.mark.parametrize('failure', [{'failed': True, 'msg': 'Could not find or access a.pem'},
                                     AnsibleActionFail('Could not find or access a.pem')])
def test_a_copy_that_fails_or_raises_stops_the_module_and_names_the_file(monkeypatch, tmp_path, failure):
    result, runs, sent = run(monkeypatch, {'trust_src_dir': str(tmp_path), 'trust_files': ['a.pem', 'b.pem']},
                             copies={'a.pem': failure, 'b.pem': {'changed': True}})
    assert sent is None
    assert result['failed'] is True and result['changed'] is True
    assert result['msg'].startswith('trust_src_dir: a.pem: Could not find or access a.pem')
    assert 'nothing was sent to the service' in result['msg']
    assert [(entry['name'], entry.get('failed', False)) for entry in result['trust_files']] == [
        ('a.pem', True), ('b.pem', False)]


def test_the_copies_diffs_come_before_the_modules_own(monkeypatch, tmp_path):
    result, dummy, dummy = run(monkeypatch, {'trust_src_dir': str(tmp_path), 'trust_files': ['a.pem']},
                               copies={'a.pem': {'changed': True, 'diff': [{'after_header': 'a.pem'}]}},
                               module={'changed': True, 'diff': {'before': 'old', 'after': 'new'}})
    assert result['diff'] == [{'after_header': 'a.pem'}, {'before': 'old', 'after': 'new'}]


def test_in_check_mode_a_module_failure_over_a_file_only_predicted_says_so(monkeypatch, tmp_path):
    missing = {'failed': True, 'msg': 'issuing_ca_path /etc/t/b.pem does not exist'}
    copies = {'a.pem': {'changed': True, 'dest': '/etc/t/a.pem'}, 'b.pem': {'changed': True, 'dest': '/etc/t/b.pem'}}
    args = {'trust_src_dir': str(tmp_path), 'trust_files': ['a.pem', 'b.pem'], 'trust_dir': '/etc/t'}
    result, dummy, dummy = run(monkeypatch, args, copies=copies, module=missing, check_mode=True)
    assert result['msg'] == missing['msg'] + (' (Check mode: trust_src_dir would first copy /etc/t/b.pem, which it'
                                              ' does not in check mode.)')
    # Not in check mode, or over another file, the module's message stands alone.
    result, dummy, dummy = run(monkeypatch, args, copies=copies, module=missing)
    assert result['msg'] == missing['msg']
    result, dummy, dummy = run(monkeypatch, args, copies=copies, module=dict(missing, msg='key /k does not exist'),
                               check_mode=True)
    assert result['msg'] == 'key /k does not exist'


@pytest.mark.parametrize('option', sorted(service_options.TRUST_COPY))
def test_the_plugins_defaults_are_the_modules(option):
    default = service_options.TRUST_COPY[option].get('default')
    expected = {'trust_src_dir': None, 'trust_files': list(trust_copy.DEFAULT_FILES),
                'trust_dir': trust_copy.DEFAULT_DIR}[option]
    assert default == expected
