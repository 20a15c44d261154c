# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin behind a module that, told of no certificate, checks those the renewal role keeps.

certificate_info (the audit), certificate_preflight and certificate_renew (the renewal role's own task) read the
host's renewal_* variables here, in the controller's process, and complete them as the role does
(certificate_entries.role_certificates): the playbooks and the role used to do it in one template per host,
which ansible-core compiles in every host's worker and which completed an entry otherwise than the role
(docs/benchmarks.md). The module then runs as it would with those options given."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.incomes_register.certificates.plugins.plugin_utils.certificate_entries import EntryError


class RoleVariablesAction(ActionBase):
    """A subclass sets NAMING, the options any of which names a certificate (and then nothing is read), and
    implements role_options(args, variable), which fills args from the role's variables. run_module runs the
    module with the options so completed; a subclass that does more around it overrides that."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = True
    NAMING = ()

    def role_options(self, args, variable):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(RoleVariablesAction, self).run(tmp, task_vars)
        del tmp
        return self.run_module(result, self.module_args(task_vars), task_vars)

    def module_args(self, task_vars):
        """The task's options, completed from the host's variables when none of NAMING is given."""
        args = dict(self._task.args)
        if self.NAMING and all(args.get(name) is None for name in self.NAMING):

            templated = {}

            def variable(name, default):
                # Once each: renewal_trust_dir, for one, is read for both trust files and for the trust copy.
                if name not in task_vars:
                    return default
                if name not in templated:
                    templated[name] = self._templar.template(task_vars[name])
                return templated[name]

            try:
                self.role_options(args, variable)
            except EntryError as error:
                raise AnsibleActionFail('%s: renewal_certificates: %s' % (self._task.action.split('.')[-1], error))
            # An option given as null (the renewal role's task gives several, so that a play's module_defaults
            # cannot) is left out: sent as null, it would keep the module from its default, and fail a choice.
            args = dict((name, value) for name, value in args.items() if value is not None)
        return args

    def run_module(self, result, args, task_vars):
        return merge_hash(result, self.execute(args, task_vars))

    def execute(self, args, task_vars):
        """The module's result, run with args on the host (in the background for an async task)."""
        wrap_async = self._task.async_val and not self._connection.has_native_async
        module = self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return module
