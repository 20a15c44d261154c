# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_entries: a host's certificates, each entry over the single-certificate defaults.

The renewal role reads it on every host and every run, several times per host (a variable is templated again
wherever it is used); as a Jinja pipeline of product, combine and dict2items it was a good part of a no-op run's
controller CPU (docs/benchmarks.md). The implementation is plugin_utils/certificate_entries.py, which the action
plugins of certificate_info and certificate_preflight share."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: certificate_entries
short_description: A host's certificates, each entry completed from the single-certificate defaults
version_added: 0.1.0
description:
  - Each entry of the input over O(defaults); what an entry gives wins, what it leaves out is the default's.
  - An empty or missing input means one certificate, O(defaults) itself (the single-certificate shorthand).
  - Used by the renewal role (C(renewal_all_certificates)); documented
    because it is part of the collection.
options:
  _input:
    description: The host's certificates (C(renewal_certificates)), dictionaries; V(null) is the same as V([]).
    type: list
    elements: dict
    required: true
  defaults:
    description: What an entry leaves out.
    type: dict
    required: true
  keys:
    description: Keep only these keys of each completed entry (for a module that takes no others).
    type: list
    elements: str
  exclude:
    description: Leave out these keys of each completed entry.
    type: list
    elements: str
    default: []
  skip_empty:
    description:
      - An entry's V(null) or empty string does not replace the default, and a key whose completed value is
        still V(null) or empty is left out, so that the module takes its own default.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Every certificate of the host, complete
  ansible.builtin.debug:
    msg: "{{ renewal_certificates | incomes_register.certificates.certificate_entries(renewal_certificate_defaults) }}"

- name: What certificate_info takes of them
  incomes_register.certificates.certificate_info:
    certificates: >-
      {{ renewal_certificates | incomes_register.certificates.certificate_entries(
           {'certificate_path': renewal_certificate_path, 'private_key_path': renewal_private_key_path},
           keys=['certificate_path', 'private_key_path'], skip_empty=true) }}
'''

RETURN = r'''
_value:
  description: One dictionary per certificate, in the input's order.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError


def certificate_entries(certificates, defaults, keys=None, exclude=(), skip_empty=False):
    # Imported when called: ansible-core loads every filter file of the collection to look up any one of them.
    from ansible_collections.incomes_register.certificates.plugins.plugin_utils import certificate_entries as entries
    try:
        return entries.certificate_entries(certificates, defaults, keys=keys, exclude=exclude, skip_empty=skip_empty)
    except entries.EntryError as error:
        raise AnsibleFilterError('certificate_entries: %s' % error)


class FilterModule(object):

    def filters(self):
        return {'certificate_entries': certificate_entries}
