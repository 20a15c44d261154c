#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: preflight_report
short_description: Write the preflight report of an inventory
version_added: 0.1.0
description:
  - Takes the M(incomes_register.certificates.certificate_preflight) results of every host and writes one row
    per host, certificate and check (host, certificate, check, status, message) as an HTML page, CSV, JSON and a
    Prometheus textfile, in the formats of M(incomes_register.certificates.expiry_report).
  - A host's result may hold several certificates in C(results), from the C(certificates) option of
    M(incomes_register.certificates.certificate_preflight) or from a loop over that module; the certificate cell
    names each by its customer id, environment and path (or endpoint when no path was checked).
  - An action plugin that runs in the controller's process, whatever host the task runs for, and sends no module
    to any host. Run it once (C(run_once)) after the hosts were checked; it needs no C(delegate_to).
  - A relative O(output_dir) is relative to the directory C(ansible-playbook) was started in.
  - A host whose task was unreachable gets one V(unreachable) row; a host whose task failed without checks
    (a wrong option, no Python) gets one V(fail) row with the task's message, and so does a certificate that
    could not be checked (a required option missing).
  - In the CSV, a text cell that would start with C(=), C(+), C(-), C(@), a tab or a carriage return gets a
    leading apostrophe, so that a spreadsheet does not run text from the hosts as a formula.
  - The files are rewritten on every run, with mode C(0644), because a preflight is a snapshot of its moment.
  - The module never fails because of what the hosts report; RV(gate_failed) tells the playbook whether to.
author:
  - Incomes Register certificates collection maintainers (@incomes-register)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: Runs entirely on the controller; no module is sent to the host the task runs for.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Builds the report and returns the files it would write; writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  host_results:
    description:
      - Each host mapped to its certificate_preflight result (with C(checks), or with C(results) for several
        certificates), or to a failed or unreachable task result.
    type: dict
    required: true
  output_dir:
    description: Directory of the report files on the controller; created (mode C(0755)) when missing. Relative to
      the directory C(ansible-playbook) was started in.
    type: path
    required: true
  basename:
    description: File name of the report files without the extension; the files are C(<basename>.html),
      C(.csv), C(.json) and C(.prom).
    type: str
    default: preflight
  formats:
    description:
      - The files to write.
      - V(prometheus) is in the node_exporter textfile-collector format, with the series
        C(incomes_register_preflight_check_passed{host,certificate,check,status}) (1 passed, 0 failed or
        unreachable); C(certificate) is left out where no certificate is known (an unreachable host).
    type: list
    elements: str
    choices: [html, csv, json, prometheus]
    default: [html, csv, json, prometheus]
  title:
    description: Title of the HTML page.
    type: str
    default: Incomes Register preflight
seealso:
  - module: incomes_register.certificates.certificate_preflight
  - module: incomes_register.certificates.expiry_report
'''

EXAMPLES = r'''
- name: Write the preflight report
  incomes_register.certificates.preflight_report:
    host_results: >-
      {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)
              | map(attribute='preflight', default={'unreachable': true, 'msg': 'Host not checked'}))) }}
    output_dir: /srv/reports/preflight
  run_once: true
  register: preflight_summary

- name: Fail when a host is not ready
  ansible.builtin.fail:
    msg: "{{ preflight_summary.gate_reasons | join('; ') }}"
  when: preflight_summary.gate_failed
  run_once: true
'''

RETURN = r'''
files:
  description: Path of each report file by format; in check mode, the files that would be written.
  returned: always
  type: dict
  sample:
    html: /srv/reports/preflight/preflight.html
    prometheus: /srv/reports/preflight/preflight.prom
rows:
  description: One row per host, certificate and check, hosts in name order, certificates and checks in the order
    they ran.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The inventory host.
      type: str
    certificate:
      description: The certificate checked, as its customer id, environment and path (or endpoint); empty where
        none is known (an unreachable host, a task that failed before it named one).
      type: str
    check:
      description: The check; V(host) for an unreachable host, V(preflight) for a task that returned no checks.
      type: str
    status:
      description: The verdict.
      type: str
      choices: [fail, unreachable, warn, ok, skipped]
    message:
      description: What was found and what to do.
      type: str
summary:
  description: Counts of the report.
  returned: always
  type: dict
  contains:
    total:
      description: Number of rows.
      type: int
    hosts:
      description: Number of hosts.
      type: int
    counts:
      description: Rows per status; every status is present, zeros included.
      type: dict
      sample: {fail: 1, unreachable: 0, warn: 2, ok: 30, skipped: 3}
    failed_hosts:
      description: Hosts with a failed check or unreachable, in name order.
      type: list
      elements: str
gate_failed:
  description: Whether a host failed a check or was unreachable.
  returned: always
  type: bool
gate_reasons:
  description: 'One C(host: check: message) per failed check and unreachable host, the host followed by its
    certificate in parentheses where one is known.'
  returned: always
  type: list
  elements: str
  sample: ['app2 (1234567-8 TEST /etc/incomes-register/certificate.pem): clock_skew: This host''s clock is 600
    seconds behind the service''s ...']
generated_at:
  description: When the report was built, ISO 8601 UTC.
  returned: always
  type: str
  sample: '2026-12-01T10:00:00Z'
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: '3 hosts, 36 checks: 1 fail, 2 warn, 30 ok, 3 skipped; failed: app2'
'''
