# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""install_plan: the renewal role's certificate_install targets, computed in Python on the controller.

The role decides on every host and every run whether there is anything to install, also when nothing is
due; as a Jinja loop that decision cost a good part of a no-op run's controller CPU (docs/benchmarks.md)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: install_plan
short_description: The renewal role's deployments of the certificates that ended well
version_added: 0.1.0
description:
  - The targets C(certificate_install) takes for one host, that is every install target of every certificate
    that ended well (valid, renewed, or retrieved in the wave), each over its certificate's files, chain and
    ownership, which the target may override.
  - A certificate whose renewal failed, or that the wave did not retrieve, is not deployed.
  - Used by the renewal role; documented because it is part of the collection.
options:
  _input:
    description:
      - The host's certificates, complete (the role's C(renewal_all_certificates)), each with its
        C(install_targets).
    type: list
    elements: dict
    required: true
  renew_result:
    description: The registered result of C(certificate_renew) (its C(results), one per certificate).
    type: dict
    required: true
  wave_outcomes:
    description: The wave's C(certificate_retrieve) results, keyed by the certificate's position as a string.
    type: dict
    default: {}
'''

EXAMPLES = r'''
- name: Install the certificates where the services read them
  incomes_register.certificates.certificate_install:
    targets: "{{ renewal_install_plan }}"
  vars:
    renewal_install_plan: >-
      {{ renewal_all_certificates | incomes_register.certificates.install_plan(
           renewal_result, renewal_wave_outcomes | default({})) }}
'''

RETURN = r'''
_value:
  description: The targets, in the order of the certificates and of their install targets.
  type: list
  elements: dict
'''


def install_plan(certificates, renew_result, wave_outcomes=None):
    # Imported when called: ansible-core loads every filter file of the collection, in every worker, to look up any
    # one of them, and the audit's only filter is certificate_entries (docs/benchmarks.md).
    from ansible_collections.incomes_register.certificates.plugins.plugin_utils import install_plan as implementation
    return implementation.install_plan(certificates, renew_result, wave_outcomes)


class FilterModule(object):

    def filters(self):
        return {'install_plan': install_plan}
