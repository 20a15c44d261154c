#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: expiry_report
short_description: Write the expiry report of Incomes Register certificates across an inventory
version_added: 0.1.0
description:
  - Takes the M(incomes_register.certificates.certificate_info) results of every audited host, classifies
    each certificate, and writes the report as an HTML page, CSV, JSON and a Prometheus textfile.
  - An action plugin that runs in the controller's process, whatever host the task runs for, and sends no module
    to any host. Run it once (C(run_once)) after the hosts were audited; it needs no C(delegate_to).
  - A relative O(output_dir) is relative to the directory C(ansible-playbook) was started in.
  - "Each certificate gets one status, the first that applies: V(unreachable) (the host or its
    certificate_info task failed), V(missing), V(unreadable), V(expired), V(key-mismatch) (the private key
    does not belong to the certificate), V(critical) (O(critical_days) days or fewer left), V(restart-pending)
    (the renewal role replaced the certificate and its handlers have not restarted its services since, so they
    may still use the certificate it replaced; see RV(rows.replaced_days_remaining)), V(renew) (inside the
    O(renew_before_days) window), V(ok)."
  - Rows are ordered with the undated ones (unreachable, missing, unreadable) first, then by days remaining (for a
    certificate whose services may still use the one it replaced, the fewer of its own and that one's; the
    timeline places it the same way).
  - "The HTML page, one file with nothing loaded from anywhere else, shows: the counts per status; an expiry
    timeline (an inline SVG) of the certificates expiring per week over the next 52 weeks, stacked by status, with
    the current renewal window (O(renew_before_days)) and the critical days (O(critical_days)) shaded and the
    expired, missing, unreadable and unreachable ones called out beside it (hover a bar or a callout for the
    certificates); the certificates grouped by customer and by host (status counts and next expiry per group);
    and the table of every certificate."
  - "A few lines of inline script let people filter the table by status, customer, environment and host and
    sort it by any column. The view is kept in the URL's fragment (for example
    C(certificate-expiry.html#status=renew&environment=PRODUCTION&sort=-days)), so it can be bookmarked or
    linked, and the names in the grouped views link to the table filtered by them. Without scripts the page
    is complete: no filter controls, the table in report order."
  - "The page's Content-Security-Policy lets nothing load and nothing run but that script; text read from the
    hosts is escaped everywhere (table, grouped views, filter options, timeline tooltips) and never placed
    inside the script."
  - The timeline counts weeks from the day the report is made (UTC), so the page of a rerun the same day
    differs only in its generation time.
  - In the CSV, a text cell that would start with C(=), C(+), C(-), C(@), a tab or a carriage return gets a
    leading apostrophe, so that a spreadsheet does not run text read from the hosts as a formula. Numbers are
    written as they are; the JSON keeps every value unchanged.
  - Files are replaced atomically with mode C(0644). A file whose content differs from the new report only
    in its generation time is left alone, so a rerun over an unchanged inventory reports no change; the
    report's generation time (and C(incomes_register_audit_timestamp_seconds)) is then that of the last run
    that changed it. Days remaining change daily, so a daily audit rewrites the files daily.
  - The module never fails because of what it finds; RV(gate_failed) tells the playbook whether to.
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
    details: Builds the report and tells which files would change, writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  host_results:
    description:
      - Each audited host mapped to its certificate_info results.
      - A value may be a list of results, a looped certificate_info task registered as a whole (a dict with
        C(results)), or a failed or unreachable task result, which becomes one V(unreachable) row with the
        task's message.
      - Skipped results are left out; a certificate listed twice for the same host counts once.
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
    default: certificate-expiry
  formats:
    description:
      - The files to write.
      - V(prometheus) is in the node_exporter textfile-collector format; point the collector's
        C(--collector.textfile.directory) at O(output_dir) to scrape it. Each certificate's series are labelled
        with C(host), C(customer_id), C(path), C(environment) and C(serial).
    type: list
    elements: str
    choices: [html, csv, json, prometheus]
    default: [html, csv, json, prometheus]
  critical_days:
    description: Certificates with this many days or fewer left are V(critical). At most O(renew_before_days).
    type: int
    default: 14
  renew_before_days:
    description: Certificates inside this many days of expiry are V(renew). The service renews at most 60 days
      before expiry, so larger values are refused.
    type: int
    default: 60
  fail_within_days:
    description:
      - Also fail the gate (RV(gate_failed)) when a certificate has this many days or fewer left.
      - Without it, only broken certificates (V(expired), V(key-mismatch), V(missing), V(unreadable)) fail the gate,
        and one whose services may still use a certificate it replaced that has expired.
      - A certificate whose services may still use the certificate it replaced (RV(rows.replaced_days_remaining))
        also fails it when that one has this many days or fewer left.
    type: int
  title:
    description: Title of the HTML page.
    type: str
    default: Incomes Register certificate expiry
requirements:
  - jmespath (on the controller)
notes:
  - Unreachable hosts are reported but do not fail the gate; Ansible already reports them, and with
    C(ignore_unreachable) the playbook can decide for itself.
seealso:
  - module: incomes_register.certificates.certificate_info
'''

EXAMPLES = r'''
- name: Audit the Incomes Register certificates
  hosts: incomes_register
  gather_facts: false
  tasks:
    - name: Read every certificate of the host
      incomes_register.certificates.certificate_info:
        path: "{{ item.path }}"
        private_key_path: "{{ item.private_key_path | default(omit) }}"
      loop: "{{ incomes_register_certificates }}"
      register: certificate_audit

    - name: Write the report
      incomes_register.certificates.expiry_report:
        host_results: >-
          {{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)
                  | map(attribute='certificate_audit', default={'unreachable': true, 'msg': 'Not audited'}))) }}
        output_dir: /var/lib/node_exporter/textfile
        fail_within_days: 21
      run_once: true
      register: expiry

    - name: Stop the pipeline when a certificate needs a human
      ansible.builtin.fail:
        msg: "{{ expiry.gate_reasons | join('; ') }}"
      when: expiry.gate_failed
      run_once: true
'''

RETURN = r'''
files:
  description: Path of each report file by format; in check mode, the files that would be written.
  returned: always
  type: dict
  sample:
    html: /srv/reports/certificate-expiry.html
    prometheus: /srv/reports/certificate-expiry.prom
summary:
  description: Counts of the report.
  returned: always
  type: dict
  contains:
    total:
      description: Number of rows (certificates and hosts that could not be audited).
      type: int
    hosts:
      description: Number of hosts with at least one row.
      type: int
    counts:
      description: Rows per status; every status is present, zeros included.
      type: dict
      sample: {expired: 0, critical: 1, key-mismatch: 0, restart-pending: 0, renew: 2, ok: 9, missing: 0, unreadable: 0,
               unreachable: 0}
    soonest_expiry:
      description: The unexpired certificate with the fewest days left (host, path, customer_id, organisation,
        environment, not_after, expires, days_remaining, status); V(null) when there is none.
      type: dict
    in_flight:
      description: Number of certificates whose state file records a request in flight (RV(rows.request)); the HTML
        page says so beside the counts.
      type: int
rows:
  description: One row per certificate, or per host that could not be audited, in report order.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The inventory host.
      type: str
    status:
      description: The verdict.
      type: str
      choices: [unreachable, missing, unreadable, expired, key-mismatch, critical, restart-pending, renew, ok]
    days_remaining:
      description: Whole days until expiry, negative once expired; V(null) for unreachable, missing and unreadable.
      type: int
    replaced_days_remaining:
      description:
        - Whole days until the certificate this one replaced expires, negative once expired, when the certificate has
          a change mark that records it (certificate_info's C(replaced_days_remaining), by the host's clock); else
          V(null). Also a column of the CSV and the metric C(incomes_register_certificate_replaced_days_remaining).
        - Until the services are restarted, they may still use that certificate.
      type: int
    expires:
      description: Expiry date, YYYY-MM-DD (UTC).
      type: str
    note:
      description:
        - The certificate_info error or the task's failure message, else advice for the status.
        - Then, when the certificate's state file records a request in flight (RV(rows.request)), what it is and what
          the next run does about it, and the keys set aside by renewals that got no answer (RV(rows.set_aside_keys)).
      type: str
    request:
      description:
        - The request in flight that the certificate's state file records, as certificate_info returns it (operation,
          phase, retrieval_id, times, or the error that kept the file from being read); V(null) when there is none.
          Also the CSV columns C(request_operation), C(request_phase) (V(unreadable) when the file could not be read,
          V(refused) when the modules would refuse it), C(request_since) and C(retrieval_id), and the metric
          C(incomes_register_certificate_request_since_timestamp_seconds) (labelled with C(operation) and C(phase), the
          phase as in the CSV).
        - It changes neither the status nor the gate, since the services use the certificate in place until the
          request is finished.
      type: dict
    set_aside_keys:
      description:
        - Keys set aside beside the certificate's key by renewals that got no answer (in the CSV, the column of that
          name, one path per line).
      type: list
      elements: str
    path:
      description: The certificate path; the remaining certificate_info keys (customer_id, organisation,
        environment, issuer, serial, not_after, key_matches, chain_valid, fingerprint_sha256, ...) are kept as
        certificate_info returned them.
      type: str
gate_failed:
  description: Whether a certificate is expired, has a mismatched key, is missing or unreadable, or has
    O(fail_within_days) days or fewer left; or its services may still use the certificate it replaced, and that one
    has expired or has O(fail_within_days) days or fewer left.
  returned: always
  type: bool
gate_reasons:
  description: One short reason per certificate that failed the gate.
  returned: always
  type: list
  elements: str
  sample: ['app1 /etc/incomes-register/certificate.pem: expired', 'app2 /etc/ir/cert.pem: expires in 9 days (fail_within_days 21)']
generated_at:
  description: When this run built the report, ISO 8601 UTC. The files keep their earlier time when only it would
    have changed.
  returned: always
  type: str
  sample: '2025-11-25T12:00:00Z'
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: '12 certificates on 5 hosts: 1 critical, 2 renew, 9 ok'
'''
