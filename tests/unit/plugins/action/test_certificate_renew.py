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


class Templar(object):
    """The host's variables as the templar gives them: here already templated; what it was asked, in order."""

    def __init__(self):
        self.asked = []

    def template(self, value):
        self.asked.append(value)
        return value


def run(monkeypatch, args, copies=None, module=None, check_mode=False, task_vars=None):
    """The plugin's result, the copies it made (their arguments) and what it sent the module (None: not run)."""
    runs, sent = [], []
    action = object.__new__(certificate_renew.ActionModule)
    action._task = Task(args, check_mode)
    action._connection = type('Connection', (), {'has_native_async': False, '_shell': type('Shell', (), {'tmpdir': None})()})()
    action._play_context = action._loader = None
    action._templar = Templar()

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
    result = action.run(task_vars=task_vars or {})
    run.asked = action._templar.asked
    return result, runs, sent[0] if sent else None


def test_without_a_source_directory_nothing_is_copied_and_the_module_gets_none_of_the_trust_options(monkeypatch):
    result, runs, sent = run(monkeypatch, {'certificates': [{'path': '/srv/a.pem'}], 'trust_files': ['a.pem'],
                                           'trust_dir': '/etc/t'})
    assert runs == [] and sent == {'certificates': [{'path': '/srv/a.pem'}]}
    assert result == {'changed': False, 'msg': 'nothing due'}


def test_each_file_is_copied_by_copys_action_before_the_module_and_a_copy_makes_the_task_changed(monkeypatch, tmp_path):
    result, runs, sent = run(monkeypatch, {'trust_src_dir': str(tmp_path), 'trust_dir': '/etc/t', 'wait': False,
                                           'path': '/srv/a.pem'},
                             copies={'issuing-ca.pem': {'changed': True, 'dest': '/etc/t/issuing-ca.pem'}})
    assert runs == [dict(src=os.path.join(os.path.realpath(str(tmp_path)), name), dest='/etc/t/', mode='0644',
                         directory_mode='0755') for name in trust_copy.DEFAULT_FILES]
    assert sent == {'wait': False, 'path': '/srv/a.pem'}
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


# The renewal role's task names no certificate: the plugin reads the host's renewal_* variables (role mode).
ROLE_HOST = dict(
    renewal_customer_id='5100055-3', renewal_environment='PRODUCTION', renewal_owner='ir', renewal_key_size=3072,
    renewal_renew_before_days=45, renewal_trust_dir='/opt/ir/trust', renewal_proxy='http://proxy:3128',
    renewal_private_key_passphrase='host phrase',
    renewal_certificates=[
        {'certificate_path': '/srv/a.pem', 'private_key_path': '/srv/a.key', 'mode': '0640',
         'restart_services': ['payroll']},
        {'certificate_path': '/srv/b.pem', 'private_key_path': '/srv/b.key', 'private_key_passphrase': '',
         'customer_id': '5100056-1', 'install_targets': [{'format': 'pem', 'path': '/opt/b.pem'}]},
    ])


def test_the_roles_task_renews_the_hosts_certificates_completed_as_the_role_completes_them(monkeypatch):
    dummy, dummy, sent = run(monkeypatch, {'wait': False, 'wait_timeout': 0, 'initial_delay': 0, 'change_mark': True,
                                           'timeout': 5}, task_vars=ROLE_HOST)
    trust = {'service_ca_path': '/opt/ir/trust/service-signing-ca.pem', 'issuing_ca_path': '/opt/ir/trust/issuing-ca.pem'}
    assert sent['certificates'] == [
        dict(trust, customer_id='5100055-3', environment='PRODUCTION', certificate_path='/srv/a.pem',
             private_key_path='/srv/a.key', private_key_passphrase='host phrase', owner='ir', mode='0640'),
        # An entry's own empty passphrase is none, not the host's; what the role does with a certificate after
        # the renewal (install_targets, services) is not the module's.
        dict(trust, customer_id='5100056-1', environment='PRODUCTION', certificate_path='/srv/b.pem',
             private_key_path='/srv/b.key', owner='ir', mode='0644'),
    ]
    # The task's own options stand; the rest are the host's; one the host does not have, or gives empty, is left
    # to the module's default.
    assert (sent['wait'], sent['wait_timeout'], sent['initial_delay'], sent['change_mark']) == (False, 0, 0, True)
    assert (sent['timeout'], sent['proxy'], sent['key_size'], sent['renew_before_days']) == (5, 'http://proxy:3128',
                                                                                             3072, 45)
    assert not {'poll_interval', 'final_error_codes', 'service_signer_pattern'} & set(sent)
    # Nothing to copy without renewal_trust_src_dir, and the trust options never reach the module.
    assert not set(service_options.TRUST_COPY) & set(sent)


def test_the_roles_trust_source_is_copied_into_the_hosts_trust_directory(monkeypatch, tmp_path):
    host = dict(ROLE_HOST, renewal_trust_src_dir=str(tmp_path), renewal_trust_files=['a.pem'])
    dummy, runs, sent = run(monkeypatch, {}, task_vars=host)
    assert runs == [dict(src=os.path.join(os.path.realpath(str(tmp_path)), 'a.pem'), dest='/opt/ir/trust/',
                         mode='0644', directory_mode='0755')]
    assert len(sent['certificates']) == 2


def test_a_host_without_the_roles_variables_renews_the_roles_default_certificate(monkeypatch):
    # The options as the role's task gives them, null: left out, not sent as null, which would keep the module
    # from its defaults.
    dummy, runs, sent = run(monkeypatch, dict((option, None) for option in (
        'certificates', 'path', 'private_key_path', 'customer_id', 'key_size', 'renew_before_days', 'trust_src_dir',
        'trust_files', 'trust_dir')))
    assert runs == []
    assert sent['certificates'] == [{
        'environment': 'TEST', 'service_ca_path': '/etc/incomes-register/trust/service-signing-ca.pem',
        'issuing_ca_path': '/etc/incomes-register/trust/issuing-ca.pem', 'mode': '0644',
        'certificate_path': '/etc/incomes-register/certificate.pem',
        'private_key_path': '/etc/incomes-register/private/key.pem'}]
    assert set(sent) == {'certificates'}


@pytest.mark.parametrize('given', [{'customer_id': '5100058-8'}, {'private_key_passphrase': 'group phrase'}])
def test_a_customer_or_passphrase_from_module_defaults_fills_what_the_roles_variables_leave_empty(monkeypatch, given):
    # Users set them for the whole service group; they must not turn the role's task into a one-certificate run.
    dummy, dummy, sent = run(monkeypatch, dict(given), task_vars=dict(ROLE_HOST, renewal_customer_id=''))
    assert [entry['certificate_path'] for entry in sent['certificates']] == ['/srv/a.pem', '/srv/b.pem']
    assert 'customer_id' not in sent['certificates'][0]
    name, value = list(given.items())[0]
    assert sent[name] == value


def test_the_roles_task_gives_every_per_certificate_option_as_null():
    # Left out, a play's module_defaults for certificate_renew would stand in for the host's empty variable (an
    # endpoint, a passphrase) or name a state file, which the wave's polls, templated from the host's variables,
    # would not have.
    import yaml
    path = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'renewal', 'tasks', 'main.yml')
    with open(path) as handle:
        block = yaml.safe_load(handle)[0]['block']
    task = [task for task in block if 'incomes_register.certificates.certificate_renew' in task][0]
    args = task['incomes_register.certificates.certificate_renew']
    nulls = set(name for name, value in args.items() if value is None)
    assert nulls == set(service_options.PER_CERTIFICATE) | set(service_options.TRUST_COPY) | {
        'certificates', 'renew_before_days'}


def test_the_naming_options_given_as_null_as_the_role_gives_them_read_the_role(monkeypatch):
    dummy, dummy, sent = run(monkeypatch, {'certificates': None, 'path': None, 'private_key_path': None},
                             task_vars=ROLE_HOST)
    assert [entry['certificate_path'] for entry in sent['certificates']] == ['/srv/a.pem', '/srv/b.pem']
    assert 'path' not in sent and 'private_key_path' not in sent


@pytest.mark.parametrize('naming', [{'path': '/srv/c.pem'}, {'private_key_path': '/srv/c.key'},
                                    {'certificates': [{'path': '/srv/c.pem'}]}])
def test_a_task_that_names_a_certificate_reads_nothing_of_the_role(monkeypatch, naming):
    dummy, dummy, sent = run(monkeypatch, dict(naming), task_vars=ROLE_HOST)
    assert sent == naming


def test_a_broken_renewal_certificates_fails_the_task_before_anything_runs(monkeypatch):
    with pytest.raises(AnsibleActionFail) as raised:
        run(monkeypatch, {}, task_vars=dict(ROLE_HOST, renewal_certificates=['/srv/a.pem']))
    assert str(raised.value) == 'certificate_renew: renewal_certificates: certificate 1 is not a dictionary but str'


def test_a_misspelt_key_of_an_entry_fails_the_task_before_anything_runs(monkeypatch):
    # Ad hoc, or in a play of the user's own, no argument spec of the role's is there to refuse it; left out, the
    # entry would have renewed the certificate at the role's default path.
    with pytest.raises(AnsibleActionFail) as raised:
        run(monkeypatch, {}, task_vars=dict(ROLE_HOST, renewal_certificates=[{'certificate_pth': '/srv/a.pem'}]))
    assert str(raised.value).startswith('certificate_renew: renewal_certificates: certificate 1 has certificate_pth, '
                                        'which the renewal role does not know (an entry takes customer_id, ')


def test_each_of_the_hosts_variables_is_templated_once(monkeypatch):
    dummy, dummy, sent = run(monkeypatch, {}, task_vars=dict(ROLE_HOST, renewal_trust_src_dir=''))
    assert run.asked.count('/opt/ir/trust') == 1
    assert sorted(run.asked, key=repr) == sorted(list(ROLE_HOST.values()) + [''], key=repr)


def test_the_tasks_per_certificate_options_stand_in_for_variables_the_host_does_not_have(monkeypatch):
    # A play's module_defaults for the service group: PRODUCTION must not become the role's TEST.
    given = {'environment': 'PRODUCTION', 'service_ca_path': '/opt/prod/service.pem', 'mode': '0600',
             'customer_id': '5100059-6'}
    dummy, dummy, sent = run(monkeypatch, dict(given))
    assert sent['certificates'] == [dict(given, issuing_ca_path='/etc/incomes-register/trust/issuing-ca.pem',
                                         certificate_path='/etc/incomes-register/certificate.pem',
                                         private_key_path='/etc/incomes-register/private/key.pem')]
    # The host's own variable, or an entry's own value, still wins.
    dummy, dummy, sent = run(monkeypatch, dict(given), task_vars=ROLE_HOST)
    assert [(entry['environment'], entry['customer_id'], entry['mode']) for entry in sent['certificates']] == [
        ('PRODUCTION', '5100055-3', '0640'), ('PRODUCTION', '5100056-1', '0600')]
    assert sent['certificates'][0]['service_ca_path'] == '/opt/prod/service.pem'
