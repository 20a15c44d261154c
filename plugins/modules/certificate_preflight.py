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
  - When nothing can be sent (an O(endpoint) that is not an C(https://) URL, an empty O(customer_id)), the
    C(reachability), C(clock_skew) and C(signed_answer) checks fail, since a renewal would stop there too.
  - How the real service answers an unknown RetrievalId is not documented. A SOAP fault instead of a signed
    answer makes C(signed_answer) a warning (a SOAP service was reached, but no signature was verified);
    another HTTP error, such as 404, fails it.
  - When a chain cannot be built, the message names the missing CA's subject and the option whose file
    should hold it.
  - A library that is missing is reported, not a crash; the checks that need it are V(skipped) with the
    reason.
  - The task fails when any check fails, and returns every check either way.
  - With O(certificates), checks several certificates of the host in one run (each entry's options over the
    task's, as for M(incomes_register.certificates.certificate_renew)) and returns each one's checks in
    RV(results); the task fails when any certificate failed a check.
  - With none of O(certificates), O(customer_id), O(path), O(private_key_path) and O(private_key_passphrase),
    checks the certificates the renewal role
    (R(incomes_register.certificates.renewal,ansible_collections.incomes_register.certificates.renewal_role))
    keeps on the host, as the preflight playbook does, and returns RV(results). Each item of the host's
    C(renewal_certificates) is completed as the role completes it, from C(renewal_customer_id),
    C(renewal_customer_name), C(renewal_environment), C(renewal_endpoint), C(renewal_service_ca_path),
    C(renewal_issuing_ca_path), C(renewal_tls_ca_path), C(renewal_certificate_path), C(renewal_private_key_path)
    and C(renewal_private_key_passphrase) where it leaves them out; a value the item gives empty stays empty, as
    in the role. Without C(renewal_certificates), the certificate of those variables alone is checked. An item
    with a key that the role does not document fails the task.
  - In that mode, where the host has none of these variables, the role's defaults are used (environment V(TEST),
    the trust files C(service-signing-ca.pem) and C(issuing-ca.pem) of C(renewal_trust_dir),
    C(/etc/incomes-register/certificate.pem) and C(/etc/incomes-register/private/key.pem)); O(proxy), O(timeout)
    and O(service_signer_pattern), when the task does not give them, are C(renewal_proxy), C(renewal_timeout)
    and C(renewal_service_signer_pattern). The task's per-certificate options (given, or from C(module_defaults))
    only fill what those variables leave empty. An action plugin reads these variables on the controller.
  - With O(check_installed=false) in that mode, the certificate and key variables are not even sent to the host.
  - Also accepts the options that the other modules of the C(group/incomes_register.certificates.service)
    action group share (O(wait_timeout), O(poll_interval), O(final_error_codes), O(lock_timeout) and the
    rest), so that one C(module_defaults) block serves the whole group; the preflight does not use them.
author:
  - Incomes Register certificates collection maintainers (@incomes-register)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - incomes_register.certificates.service.PER_CERTIFICATE
  - incomes_register.certificates.service
attributes:
  action:
    support: full
    details: The action plugin completes the options from the renewal role's variables when the task names no
      certificate, and runs the module on the host.
  async:
    support: full
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Runs every check in check mode too, the GetCertificate call included, because that call only
      reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  certificates:
    description:
      - Several certificates to check in one run. Each entry takes the options below; what it leaves out, or
        gives empty, is the task's own option (so O(customer_id), O(environment), O(service_ca_path) and
        O(issuing_ca_path) are then only defaults for the entries, not required).
      - An entry that has no customer id, environment or trust file, from itself or from the task, fails
        alone, without checks; the other entries are still checked.
    type: list
    elements: dict
    suboptions:
      customer_id:
        description: The organisation's Business ID. Default O(customer_id).
        type: str
      customer_name:
        description: The organisation's name, sent as CustomerName. Default O(customer_name).
        type: str
      environment:
        description: The certificate's environment. Default O(environment).
        type: str
        choices: [TEST, PRODUCTION]
      endpoint:
        description: Service URL. Default O(endpoint), or the endpoint of the entry's environment.
        type: str
      service_ca_path:
        description: CA bundle the service's response signatures must chain to. Default O(service_ca_path).
        type: path
      issuing_ca_path:
        description: Issuing CA bundle the certificate must chain to. Default O(issuing_ca_path).
        type: path
      tls_ca_path:
        description: CA bundle for the service's HTTPS certificate. Default O(tls_ca_path).
        type: path
      path:
        description: The installed certificate. Default O(path); without either, the entry's C(certificate) and
          C(certificate_chain) checks are V(skipped).
        type: path
        aliases: [certificate_path]
      private_key_path:
        description: Its private key. Default O(private_key_path). Needs a path.
        type: path
      private_key_passphrase:
        description: Passphrase of the private key. Never logged. Default O(private_key_passphrase).
        type: str
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
  check_installed:
    description:
      - Whether to check the installed certificate and key. V(false) leaves out O(path), O(private_key_path) and
        O(private_key_passphrase), the task's and every entry's, for hosts that are still to be enrolled; their
        C(certificate) and C(certificate_chain) checks are then V(skipped).
    type: bool
    default: true
  max_clock_skew:
    description:
      - Seconds this host's clock may differ from the service's before C(clock_skew) fails (at least 1).
        More than 60 seconds is a warning.
    type: int
    default: 300
  wait:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: bool
  wait_timeout:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: int
  initial_delay:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: float
  poll_interval:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: float
  final_error_codes:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: list
    elements: str
  state_path:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: path
  key_size:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: int
    choices: [2048, 3072]
  owner:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: str
  group:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: str
  mode:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: raw
  backup:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: bool
  change_mark:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: bool
  lock_timeout:
    description:
      - An option of the other modules of the C(group/incomes_register.certificates.service) action group,
        accepted so that one C(module_defaults) block serves the whole group. The preflight does not use it.
    type: int
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
- name: Check every certificate the renewal role keeps on the host, as the preflight playbook does
  incomes_register.certificates.certificate_preflight:
  register: preflight

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
results:
  description:
    - With O(certificates), one result per entry, in order, each with RV(customer_id), RV(environment),
      RV(endpoint), RV(path), RV(checks), RV(passed) and RV(msg) of that certificate, and C(failed) and
      C(index) (its position in O(certificates)).
    - An entry that could not be checked (a required option missing) has no checks and says why in its
      C(msg).
    - The same shape as a loop over this module registers, so M(incomes_register.certificates.preflight_report)
      reads either.
  returned: when O(certificates) is given
  type: list
  elements: dict
customer_id:
  description: The customer whose certificate was checked.
  returned: when O(certificates) is not given
  type: str
environment:
  description: The environment checked.
  returned: when O(certificates) is not given
  type: str
endpoint:
  description: The O(endpoint) option; V(null) when the environment's endpoint was used.
  returned: when O(certificates) is not given
  type: str
path:
  description: The installed certificate checked; V(null) when none was.
  returned: when O(certificates) is not given
  type: str
checks:
  description: Every check, in order, also when the task fails.
  returned: when O(certificates) is not given
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
  description: Whether no check failed (warnings and skipped checks pass); with O(certificates), of any
    certificate.
  returned: always
  type: bool
msg:
  description: A one-line summary; when a check failed, the failed checks with their messages (with
    O(certificates), of each certificate that failed).
  returned: always
  type: str
  sample: 'Preflight passed: 12 checks, 11 ok, 1 warning, 0 skipped (clock_skew)'
'''

from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, module_support, service_options
from ansible_collections.incomes_register.certificates.plugins.module_utils import preflight

OWN = dict(
    path=dict(type='path'),
    private_key_path=dict(type='path'),
    private_key_passphrase=dict(type='str', no_log=True),
    max_clock_skew=dict(type='int', default=preflight.DEFAULT_MAX_CLOCK_SKEW),
    check_installed=dict(type='bool', default=True),
)
# The options every other module of the service action group takes, which module_defaults for the group may
# set: accepted (and checked as those modules check them) without a default, and not used.
GROUP_ONLY = dict((name, option)
                  for name, option in service_options.optional(service_options.RETRIEVAL, service_options.STORE).items()
                  if name not in OWN)


def main():
    module = argspec.create_module(
        service_options.relaxed(service_options.SERVICE), GROUP_ONLY, OWN,
        dict(certificates=dict(type='list', elements='dict',
                               options=service_options.certificate_entry_options(service_options.SERVICE, OWN))),
    )
    params = dict((name, value) for name, value in module.params.items() if name not in GROUP_ONLY)
    if not params.pop('check_installed'):
        params = preflight.without_installed(params)
    if params['certificates'] is not None:
        results = preflight.results(params, client_factory=module_support.build_client)
        passed, msg = preflight.summary_many(results)
        if not passed:
            module.fail_json(msg=msg, results=results, passed=False)
        module.exit_json(changed=False, msg=msg, results=results, passed=True)
    missing = [name for name in preflight.REQUIRED if params.get(name) is None]
    if missing:
        module.fail_json(msg='missing required arguments: %s' % ', '.join(missing))
    # Only here: with certificates, the task's key may be the default of entries that give their own path.
    for name, needs in (('private_key_path', 'path'), ('private_key_passphrase', 'private_key_path')):
        if params.get(name) is not None and params.get(needs) is None:
            module.fail_json(msg="missing parameter(s) required by '%s': %s" % (name, needs))
    result = preflight.result(params, client_factory=module_support.build_client)
    if result.pop('failed'):
        module.fail_json(**result)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
