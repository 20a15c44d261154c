# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_preflight on the controller: with none of certificates, customer_id, path, private_key_path and
private_key_passphrase, the renewal role's certificates (plugin_utils/role_action.py), and its proxy, timeout
and signer pattern where the task gives none."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_entries as entries
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.role_action import RoleVariablesAction

# What a host still to be enrolled has nothing of (check_installed false): not even sent to it.
INSTALLED_KEYS = ('certificate_path', 'private_key_path', 'private_key_passphrase')


class ActionModule(RoleVariablesAction):

    NAMING = ('certificates', 'customer_id', 'path', 'private_key_path', 'private_key_passphrase')

    def role_options(self, args, variable):
        keys = entries.PREFLIGHT_KEYS
        if not boolean(args.get('check_installed', True), strict=False):
            keys = tuple(key for key in keys if key not in INSTALLED_KEYS)
        args['certificates'] = entries.role_certificates(variable, keys)
        entries.fill_options(args, variable, entries.ROLE_SERVICE_VARIABLES)
