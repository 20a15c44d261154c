"""certificate_info's action: which options name a certificate, so that the role's certificates are not read."""
import pytest

from ansible_collections.incomes_register.certificates.plugins.action import certificate_info


class Task(object):
    def __init__(self, args):
        self.args = args


class Templar(object):
    def template(self, value):
        return value


def module_args(args, task_vars):
    action = object.__new__(certificate_info.ActionModule)
    action._task = Task(args)
    action._templar = Templar()
    return action.module_args(task_vars)


HOST = {'renewal_certificate_path': '/etc/ir/cert.pem', 'renewal_private_key_path': '/etc/ir/key.pem'}


def test_without_options_the_roles_certificate_is_read():
    args = module_args({}, HOST)
    assert args == {'certificates': [{'certificate_path': '/etc/ir/cert.pem', 'private_key_path': '/etc/ir/key.pem'}]}


@pytest.mark.parametrize('naming', [{'path': '/a.pem'}, {'state_path': '/a.pem.state.json'},
                                    {'private_key_path': '/a.key'}, {'certificates': [{'path': '/a.pem'}]}])
def test_an_option_that_names_a_certificate_leaves_the_role_alone(naming):
    # state_path alone then fails in the module for want of path, which says so, instead of being read beside the
    # role's certificates, whose state file it may not be.
    assert module_args(dict(naming), HOST) == naming
