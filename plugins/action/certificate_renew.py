# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_renew on the controller: the service's trust files first, when trust_src_dir names them
(plugin_utils/trust_copy.py), then the module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.incomes_register.certificates.plugins.plugin_utils.trust_copy import TrustCopyAction


class ActionModule(TrustCopyAction):
    pass
