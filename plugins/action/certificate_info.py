# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_info on the controller: with neither path nor certificates, the renewal role's certificates
(plugin_utils/role_action.py), and the host's renewal_renew_before_days."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_entries as entries
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.role_action import RoleVariablesAction


class ActionModule(RoleVariablesAction):

    NAMING = ('path', 'certificates', 'private_key_path', 'private_key_passphrase')

    def role_options(self, args, variable):
        args['certificates'] = entries.role_certificates(variable, entries.INFO_KEYS, entries.INFO_DEFAULTS)
        entries.fill_options(args, variable, (entries.ROLE_WINDOW,))
