#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: certificate_preflight
short_description: Check that a host can renew its Incomes Register certificate, spending nothing
version_added: 0.1.0
description:
  - Checks, on the managed host, everything a renewal or an enrolment depends on, and reports each check
    as V(ok), V(warn), V(fail) or V(skipped) with a message that says what to do.
  - "The checks, in order: the Python libraries the service needs (C(python_cryptography), C(python_lxml),
    C(python_signxml), C(python_requests)); the trust files O(service_ca_path), O(issuing_ca_path) and
    O(tls_ca_path) (present, PEM certificates, none expired, a warning when a CA expires within 60 days);
    the installed C(certificate) (key matches, customer id, days left) and its C(certificate_chain) to
    O(issuing_ca_path), when O(path) is given; C(reachability) of O(endpoint) through O(proxy) and TLS;
    C(clock_skew) between this host and the service's HTTP C(Date) header; C(signed_answer), a signed answer
    of the service verified against O(service_ca_path)."
  - The network checks make one GetCertificate call with a random RetrievalId that matches no request.
    GetCertificate only reads, so nothing is spent, no transfer credentials are used and no key is made;
    the service's V(FAIL) answer to it is signed like every answer, which is what C(signed_answer) verifies.
  - When a chain cannot be built, the message names the missing CA's subject and the option whose file
    should hold it.
  - A library that is missing is reported, not a crash; the checks that need it are V(skipped) with the
    reason.
  - The task fails when any check fails, and returns every check either way.
author:
  - Incomes Register certificates collection maintainers (@incomes-register)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - incomes_register.certificates.service
attributes:
  check_mode:
    support: full
    details: Runs every check in check mode too, the GetCertificate call included, because that call only
      reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  path:
    description:
      - Path of the installed certificate. When given, the C(certificate) and C(certificate_chain) checks
        read it; without it they are V(skipped), for a host that is still to be enrolled.
    type: path
  private_key_path:
    description: Path of the certificate's private key; when given, the C(certificate) check tells whether it
      belongs to the certificate and can sign. Needs O(path).
    type: path
  private_key_passphrase:
    description: Passphrase of the private key. Never logged.
    type: str
  max_clock_skew:
    description:
      - Seconds this host's clock may differ from the service's before C(clock_skew) fails (at least 1).
        More than 60 seconds is a warning.
    type: int
    default: 300
requirements:
  - cryptography >= 43, lxml, signxml and requests on the managed host, as for the other modules; the module
    reports each one that is missing instead of failing on it.
notes:
  - Run it against V(TEST) and V(PRODUCTION) before a renewal window opens; the
    C(incomes_register.certificates.preflight) playbook runs it on every host and writes a report.
  - When the service sends no HTTP C(Date) header, C(clock_skew) is a warning saying the clock could not be
    compared, not a failure.
seealso:
  - module: incomes_register.certificates.preflight_report
  - module: incomes_register.certificates.certificate_info
'''

EXAMPLES = r'''
- name: Check that the host can renew its certificate
  incomes_register.certificates.certificate_preflight:
    environment: PRODUCTION
    customer_id: 1234567-8
    service_ca_path: /etc/incomes-register/trust/service-ca.pem
    issuing_ca_path: /etc/incomes-register/trust/issuing-ca.pem
    proxy: http://proxy.example.com:3128
    path: /etc/incomes-register/certificate.pem
    private_key_path: /etc/incomes-register/private/key.pem
  register: preflight

- name: Show the warnings
  ansible.builtin.debug:
    msg: "{{ preflight.checks | selectattr('status', 'equalto', 'warn') | map(attribute='message') | list }}"
'''

RETURN = r'''
checks:
  description: Every check, in order, also when the task fails.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check.
      type: str
      choices: [python_cryptography, python_lxml, python_signxml, python_requests, service_ca_path,
                issuing_ca_path, tls_ca_path, certificate, certificate_chain, reachability, clock_skew,
                signed_answer]
    status:
      description: The verdict.
      type: str
      choices: [ok, warn, fail, skipped]
    message:
      description: What was found and, unless V(ok), what to do about it.
      type: str
  sample:
    - name: clock_skew
      status: fail
      message: "This host's clock is 600 seconds behind the service's (HTTP Date Tue, 01 Dec 2026 10:10:00 GMT),
        more than max_clock_skew 300. Certificate validity, response signatures and the renewal window are judged
        by this clock: fix time synchronisation (chrony, systemd-timesyncd, ntpd)."
passed:
  description: Whether no check failed (warnings and skipped checks pass).
  returned: always
  type: bool
msg:
  description: A one-line summary; when a check failed, the failed checks with their messages.
  returned: always
  type: str
  sample: 'Preflight passed: 12 checks, 11 ok, 1 warning, 0 skipped (clock_skew)'
'''

from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, module_support
from ansible_collections.incomes_register.certificates.plugins.module_utils import preflight


def main():
    module = argspec.create_module(
        argspec.SERVICE,
        dict(
            path=dict(type='path'),
            private_key_path=dict(type='path'),
            private_key_passphrase=dict(type='str', no_log=True),
            max_clock_skew=dict(type='int', default=preflight.DEFAULT_MAX_CLOCK_SKEW),
        ),
        required_by=dict(private_key_path='path', private_key_passphrase='private_key_path'),
    )
    checks = preflight.run(module.params, client_factory=module_support.build_client)
    passed, msg = preflight.summary(checks)
    if not passed:
        module.fail_json(msg=msg, checks=checks, passed=False)
    module.exit_json(changed=False, msg=msg, checks=checks, passed=True)


if __name__ == '__main__':
    main()
