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
    per host and check (host, check, status, message) as an HTML page, CSV, JSON and a Prometheus textfile,
    in the formats of M(incomes_register.certificates.expiry_report).
  - Run it once, on the controller (C(run_once) and C(delegate_to) V(localhost)), after the hosts were checked.
  - A host whose task was unreachable gets one V(unreachable) row; a host whose task failed without checks
    (a wrong option, no Python) gets one V(fail) row with the task's message.
  - In the CSV, a text cell that would start with C(=), C(+), C(-), C(@), a tab or a carriage return gets a
    leading apostrophe, so that a spreadsheet does not run text from the hosts as a formula.
  - The files are rewritten on every run, with mode C(0644), because a preflight is a snapshot of its moment.
  - The module never fails because of what the hosts report; RV(gate_failed) tells the playbook whether to.
author:
  - Incomes Register certificates collection maintainers (@incomes-register)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
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
      - Each host mapped to its certificate_preflight result, or to a failed or unreachable task result.
    type: dict
    required: true
  output_dir:
    description: Directory of the report files on the controller; created (mode C(0755)) when missing.
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
        C(incomes_register_preflight_check_passed{host,check,status}) (1 passed, 0 failed or unreachable).
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
  delegate_to: localhost
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
  description: One row per host and check, hosts in name order, checks in the order they ran.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The inventory host.
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
  description: 'One C(host: check: message) per failed check and unreachable host.'
  returned: always
  type: list
  elements: str
  sample: ['app2: clock_skew: This host''s clock is 600 seconds behind the service''s ...']
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

import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.incomes_register.certificates.plugins.module_utils._report import preflight_report as report
from ansible_collections.incomes_register.certificates.plugins.module_utils._report import report_files
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError


def _message(summary):
    parts = ['%d %s' % (summary['counts'][status], status) for status in report.STATUSES if summary['counts'][status]]
    text = '%d host%s, %d checks%s' % (summary['hosts'], '' if summary['hosts'] == 1 else 's', summary['total'],
                                       (': ' + ', '.join(parts)) if parts else '')
    if summary['failed_hosts']:
        text += '; failed: ' + ', '.join(summary['failed_hosts'])
    return text


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host_results=dict(type='dict', required=True),
            output_dir=dict(type='path', required=True),
            basename=dict(type='str', default='preflight'),
            formats=dict(type='list', elements='str', choices=sorted(report.FORMAT_EXTENSIONS),
                         default=['html', 'csv', 'json', 'prometheus']),
            title=dict(type='str', default='Incomes Register preflight'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if report_files.basename_problem(params['basename']):
        module.fail_json(msg=report_files.basename_problem(params['basename']))
    try:
        rows = report.build_rows(params['host_results'])
    except CertificateServiceError as error:
        module.fail_json(msg=error.message, **error.details())
    summary = report.summarize(rows)
    gate_failed, gate_reasons = report.gate(rows)
    generated_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    output_dir = params['output_dir']
    files = report_files.report_paths(output_dir, params['basename'], report.FORMAT_EXTENSIONS, params['formats'])
    try:
        # Every run checks anew, so every run writes its report.
        report_files.write_reports(output_dir, files,
                                   lambda fmt: report.render(fmt, rows, summary, generated_at, params['title']),
                                   check_mode=module.check_mode)
    except CertificateServiceError as error:
        module.fail_json(msg=error.message, files=files, **error.details())
    except OSError as error:
        module.fail_json(msg='Could not write the report in %s: %s' % (output_dir, error.strerror or error),
                         files=files)

    module.exit_json(changed=bool(files), files=files, rows=rows, summary=summary, gate_failed=gate_failed,
                     gate_reasons=gate_reasons, generated_at=generated_at.strftime('%Y-%m-%dT%H:%M:%SZ'),
                     msg=_message(summary))


if __name__ == '__main__':
    main()
