# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_entries: a host's certificates, each entry over the single-certificate defaults.

The renewal role, the enroll and the audit playbooks read it on every host and every run, several times
per host (a variable is templated again wherever it is used); as a Jinja pipeline of product, combine and
dict2items it was a good part of a no-op run's controller CPU (docs/benchmarks.md)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: certificate_entries
short_description: A host's certificates, each entry completed from the single-certificate defaults
version_added: 0.1.0
description:
  - Each entry of the input over O(defaults); what an entry gives wins, what it leaves out is the default's.
  - An empty or missing input means one certificate, O(defaults) itself (the single-certificate shorthand).
  - Used by the renewal role (C(renewal_all_certificates)) and the audit and enroll playbooks; documented
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

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _empty(value):
    return value is None or (isinstance(value, str) and value == '')


def certificate_entries(certificates, defaults, keys=None, exclude=(), skip_empty=False):
    if certificates is None:
        certificates = []
    if isinstance(certificates, (str, bytes, Mapping)) or not hasattr(certificates, '__iter__'):
        raise AnsibleFilterError('certificate_entries: the certificates must be a list of dictionaries, not %s'
                                 % type(certificates).__name__)
    if not isinstance(defaults, Mapping):
        raise AnsibleFilterError('certificate_entries: defaults must be a dictionary, not %s' % type(defaults).__name__)
    entries = []
    for position, certificate in enumerate(list(certificates) or [{}]):
        if not isinstance(certificate, Mapping):
            raise AnsibleFilterError('certificate_entries: certificate %d is not a dictionary but %s'
                                     % (position + 1, type(certificate).__name__))
        entry = dict(defaults)
        entry.update((name, value) for name, value in certificate.items() if not (skip_empty and _empty(value)))
        wanted = entry if keys is None else keys
        entries.append(dict((name, entry[name]) for name in wanted
                            if name in entry and name not in exclude and not (skip_empty and _empty(entry[name]))))
    return entries


class FilterModule(object):

    def filters(self):
        return {'certificate_entries': certificate_entries}
