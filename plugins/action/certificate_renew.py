# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_renew on the controller: with none of certificates, path and private_key_path, the renewal
role's certificates and the host's renewal settings (plugin_utils/role_action.py); then the service's trust
files, when trust_src_dir names them (plugin_utils/trust_copy.py), and the module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_entries as entries
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.trust_copy import TrustCopyAction


class ActionModule(TrustCopyAction):

    # Not customer_id nor private_key_passphrase: a task's (or its module_defaults') fills what the role's
    # variables leave out, as the task's options fill what an entry of certificates leaves out. The role's own
    # task gives every per-certificate option as null, so that module_defaults cannot name a certificate nor give
    # a customer, endpoint or passphrase that its wave's polls would not have (roles/renewal/tasks/main.yml).
    NAMING = ('certificates', 'path', 'private_key_path')

    def role_options(self, args, variable):
        # What the task gives (or its module_defaults) stands in for a variable the host does not have, before the
        # role's default: a play's environment PRODUCTION must not become the role's TEST.
        # (The task's path and private_key_path are none here: either would have named a certificate.)
        given = dict((key, args[key]) for key in entries.RENEW_KEYS if args.get(key) is not None)
        args['certificates'] = entries.role_certificates(variable, entries.RENEW_KEYS, given)
        entries.fill_options(args, variable, entries.ROLE_SERVICE_VARIABLES + entries.ROLE_RENEWAL_VARIABLES)
