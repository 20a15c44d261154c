#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: renewal_report
short_description: Sum up a renewal run over an inventory and write its outcome for the pipeline
version_added: 0.1.0
description:
  - Takes the outcome the C(incomes_register.certificates.renewal) role recorded for every host (its
    C(renewal_summary)) and returns one line per certificate, the certificates that did not end valid, and
    whether the run should fail; with O(summary_file), it also writes the outcome there as JSON.
  - The C(incomes_register.certificates.renew) playbook's summary; use it in a playbook of your own that runs the role.
  - An action plugin that runs in the controller's process, whatever host the task runs for, and sends no module
    to any host. Run it once (C(run_once)) after the role; it needs no C(delegate_to). The summary file is written
    by the user who runs C(ansible-playbook), also when the play uses C(become) for the hosts.
  - A host without an outcome (unreachable, or stopped before the role recorded one, for example by the role's
    argument validation) is one row with status V(unreachable).
  - The module fails only for invalid options. A summary file it could not write is a reason of RV(gate_reasons),
    so a playbook can print RV(lines) before it fails.
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
    details: Tells whether the summary file would change and writes nothing. The renew playbook runs it with
      C(check_mode=false), so that a dry run's forecast is written too.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  host_outcomes:
    description:
      - Each host of the play mapped to the C(renewal_summary) the role recorded for it.
      - An empty or missing value (a dict without keys, or V(null)) stands for a host without an outcome.
    type: dict
    required: true
  summary_file:
    description:
      - Where to write the outcome as JSON on the controller, a host name mapped to its outcome (the host's status,
        with several certificates the worst, its message and C(certificates), the outcome of each). Mode C(0644),
        replaced atomically, and left alone when the outcome is the same. Its directory must exist.
      - Relative to the directory C(ansible-playbook) was started in; C(~) and environment variables are expanded; a
        symbolic link is followed.
      - Written as the user who runs C(ansible-playbook). A file another user owns (for example root, left by a
        playbook whose controller escalated) is replaced by one of that user, in a directory that user may write.
      - Without it nothing is written.
    type: path
  fail_on_attention:
    description: Whether a certificate that did not end valid (any status but V(ok) and V(renewed)) fails the gate
      (RV(gate_failed)). A value that is not a boolean fails the task.
    type: bool
    default: true
notes:
  - Unreachable hosts are listed, and fail the gate as certificates that need attention; Ansible also reports them.
seealso:
  - module: incomes_register.certificates.certificate_renew
  - module: incomes_register.certificates.expiry_report
'''

EXAMPLES = r'''
- name: Renew, then tell the pipeline
  hosts: incomes_register
  gather_facts: false
  roles:
    - role: incomes_register.certificates.renewal
  post_tasks:
    - name: Sum up the renewal
      incomes_register.certificates.renewal_report:
        host_outcomes: >-
          {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)
                  | map(attribute='renewal_summary', default={}))) }}
        summary_file: "{{ lookup('ansible.builtin.env', 'CI_PROJECT_DIR') }}/renew-summary.json"
      run_once: true
      check_mode: false
      register: renewal

    - name: Print one line per certificate
      ansible.builtin.debug:
        msg: "{{ renewal.lines }}"
      run_once: true

    - name: Fail when a certificate needs a human
      ansible.builtin.fail:
        msg: "{{ renewal.gate_reasons | join(' ') }}"
      run_once: true
      when: renewal.gate_failed
'''

RETURN = r'''
lines:
  description: One line per certificate, C(STATUS host customer_id environment path message).
  returned: always
  type: list
  elements: str
  sample: ['RENEWED app1 1234567-8 PRODUCTION /etc/incomes-register/certificate.pem Renewed: the new certificate is
           valid until 2027-03-01T10:00:00Z (the old one expires 2025-03-10T09:00:00Z).']
attention:
  description: One entry per certificate that did not end valid, C(host=status) and, in brackets, its customer_id,
    environment and path.
  returned: always
  type: list
  elements: str
  sample: ['app2=expired (1234567-8 PRODUCTION /etc/incomes-register/certificate.pem)', 'app3=unreachable']
gate_failed:
  description: Whether the playbook should fail; RV(gate_reasons) says why.
  returned: always
  type: bool
gate_reasons:
  description: The certificates that need attention, in one sentence (when O(fail_on_attention)), and why the
    summary file was not written.
  returned: always
  type: list
  elements: str
  sample: ['1 certificate(s) need attention: app2=expired (1234567-8 PRODUCTION /etc/incomes-register/certificate.pem)']
summary_file:
  description: The summary file's absolute path, links resolved; V(null) without O(summary_file).
  returned: always
  type: str
outcomes:
  description: Each host's outcome as written to the summary file.
  returned: always
  type: dict
certificates:
  description: One row per certificate (host, customer_id, customer_name, environment, path, status, not_after,
    days_remaining, message, ...), a host without certificates one row with its status.
  returned: always
  type: list
  elements: dict
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: '6 certificates on 6 hosts: 1 expired, 1 missing, 1 ok, 3 renewed'
'''
