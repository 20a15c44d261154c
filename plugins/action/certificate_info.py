# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_info on the controller: with neither path nor certificates, the renewal role's certificates.

The audit used to give them as one template through the certificate_entries filter; ansible-core compiles a
template and loads the collection's filter files in every host's worker, while this plugin is loaded once by
the controller before it forks (docs/benchmarks.md)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_entries as entries


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if all(args.get(name) is None for name in ('path', 'certificates', 'private_key_path', 'private_key_passphrase')):

            def variable(name, default):
                if name not in task_vars:
                    return default
                return self._templar.template(task_vars[name])

            try:
                args['certificates'] = entries.role_certificates(variable)
            except entries.EntryError as error:
                raise AnsibleActionFail('certificate_info: renewal_certificates: %s' % error)
            if args.get('renew_before_days') is None:
                name, default = entries.ROLE_RENEW_BEFORE_DAYS
                args['renew_before_days'] = variable(name, default)
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_args=args, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
