# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_info on the controller: with neither path nor certificates, the renewal role's certificates
(plugin_utils/role_action.py), and the host's renewal_renew_before_days; then the description of what the module
read on the host (plugin_utils/certificate_report.py)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.utils.vars import merge_hash

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_entries as entries
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_report
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.role_action import RoleVariablesAction


class ActionModule(RoleVariablesAction):

    NAMING = ('path', 'certificates', 'private_key_path', 'private_key_passphrase', 'state_path')
    # The module's result is what it read, which only this plugin turns into the report: async_status would
    # return the readings.
    _supports_async = False

    def role_options(self, args, variable):
        args['certificates'] = entries.role_certificates(variable, entries.INFO_KEYS, entries.INFO_DEFAULTS)
        entries.fill_options(args, variable, (entries.ROLE_WINDOW,))

    def run_module(self, result, args, task_vars):
        problem = certificate_report.controller_problem()
        if problem:
            raise AnsibleActionFail(problem)
        module = self.execute(args, task_vars)
        if module.get('failed') or 'readings' not in module:
            return merge_hash(result, module)
        return merge_hash(result, certificate_report.task_result(module))
