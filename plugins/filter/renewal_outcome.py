# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""renewal_outcome: the renewal role's per-host summary, computed in Python on the controller.

It runs once per host on every renew run, also when nothing is due; as Jinja it cost ~62 ms of controller
CPU per host (docs/benchmarks.md), most of a no-op run's margin."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: renewal_outcome
short_description: The renewal role's summary of one host's certificates
version_added: 0.1.0
description:
  - What the renewal role records as C(renewal_summary) for a host, from the certificates it keeps and
    what C(certificate_renew), the wave (C(certificate_retrieve)) and C(certificate_install) said of them.
  - One row per certificate with its status (V(ok), V(renewed), V(failed), V(expired), V(missing)); the
    host's own line is its certificate's, or, with several, the worst status and counts.
  - Used by the role; documented because it is part of the collection.
options:
  _input:
    description: The host's certificates, complete (the role's C(renewal_all_certificates)).
    type: list
    elements: dict
    required: true
  renew_result:
    description:
      - The registered result of C(certificate_renew) (its C(results), one per certificate).
      - A certificate it holds no result for is V(failed), and
        P(incomes_register.certificates.install_plan#filter) does not deploy it either.
    type: dict
    required: true
  wave_outcomes:
    description: The wave's C(certificate_retrieve) results, keyed by the certificate's position as a string.
    type: dict
    default: {}
  install_result:
    description: The registered result of C(certificate_install) (its C(results), one per target).
    type: dict
    default: {}
  host:
    description: The host's name.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Record the outcome of every certificate
  ansible.builtin.set_fact:
    renewal_summary: >-
      {{ renewal_all_certificates | incomes_register.certificates.renewal_outcome(
           renewal_result, renewal_wave_outcomes | default({}), renewal_install_result | default({}),
           inventory_hostname) }}
'''

RETURN = r'''
_value:
  description:
    - The host's summary; C(certificates) holds one row per certificate.
    - C(changed) is true when any certificate was renewed or any of its deployments changed.
  type: dict
'''


def renewal_outcome(certificates, renew_result, wave_outcomes=None, install_result=None, host=''):
    # Imported when called: ansible-core loads every filter file of the collection, in every worker, to look up any
    # one of them, and the audit's only filter is certificate_entries (docs/benchmarks.md).
    from ansible_collections.incomes_register.certificates.plugins.plugin_utils import renewal_outcome as implementation
    return implementation.renewal_outcome(certificates, renew_result, wave_outcomes, install_result, host)


class FilterModule(object):

    def filters(self):
        return {'renewal_outcome': renewal_outcome}
