#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: certificate_info
short_description: Report on an Incomes Register certificate on the managed host
version_added: 0.1.0
description:
  - Reads a certificate (and optionally its private key) and returns who it is for, who issued it, when
    it expires, whether it is inside the renewal window, and whether the key belongs to it.
  - Never fails because the certificate is missing or unreadable; it reports that in RV(exists) and
    RV(error), so an audit across an inventory gets an answer from every host.
  - Makes no network call and imports no XML library, so it is cheap to run on many hosts. The host reads the files
    and loads the private key, which never leaves it; its action plugin describes the certificate on the controller,
    which imports cryptography's X.509 code once per run instead of once per host. Only public data leaves the host
    (the certificate, only its own block of a file that also holds the key; the public half of the key; the
    certificates of O(issuing_ca_path); of the state file, only what RV(request) lists, not its endpoint or
    TransferID; the names of the keys set aside). A file that is not cleanly framed PEM (DER, blanks after a BEGIN line, a
    damaged block) is read with cryptography on the host, as before, and a block without a certificate's outer shape
    is not sent, so that only a certificate leaves.
  - With O(certificates), reads several certificates in one run and returns RV(results), shaped like what a
    loop over this module registers, without the cost of a loop on the controller.
  - With neither O(path) nor O(certificates), reads the certificates the renewal role
    (R(incomes_register.certificates.renewal,ansible_collections.incomes_register.certificates.renewal_role))
    keeps on the host, as the audit playbook does, and returns RV(results), one entry per item of the host's
    C(renewal_certificates), each completed from C(renewal_certificate_path), C(renewal_private_key_path),
    C(renewal_private_key_passphrase), C(renewal_customer_id) and C(renewal_environment) where it leaves them out
    or empty, or without C(renewal_certificates) the certificate of those variables alone. Where the host has
    none of them, the role's defaults (C(/etc/incomes-register/certificate.pem) and
    C(/etc/incomes-register/private/key.pem)) are read. O(renew_before_days) is then C(renewal_renew_before_days)
    when the host has it. An action plugin reads these variables on the controller. An item with a key that
    the role does not document fails the task, which would otherwise read the role's default in its place.
author:
  - Incomes Register certificates collection maintainers (@incomes-register)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: The action plugin completes the options from the renewal role's variables when neither O(path) nor
      O(certificates) is given, runs the module on the host, and describes what it read.
  async:
    support: none
    details: The action plugin describes what the module read, which a background run's result would bypass.
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  path:
    description:
      - Path of the certificate (PEM or DER).
      - At most one of O(path) and O(certificates); with neither, the renewal role's certificates are read.
    type: path
  private_key_path:
    description: Path of the private key; when given, RV(key_matches) tells whether it belongs to the certificate.
    type: path
  private_key_passphrase:
    description: Passphrase of the private key. Never logged.
    type: str
  certificates:
    description:
      - Several certificates to read in one run, instead of O(path), O(private_key_path) and
        O(private_key_passphrase). The report of each is in RV(results), in the same order.
    type: list
    elements: dict
    suboptions:
      path:
        description:
          - Path of the certificate (PEM or DER).
          - Also named C(certificate_path), as in an entry of the renewal role's C(renewal_certificates).
        type: path
        required: true
        aliases: [certificate_path]
      private_key_path:
        description: Path of its private key.
        type: path
      private_key_passphrase:
        description: Passphrase of the private key. Never logged.
        type: str
      customer_id:
        description:
          - The customer the inventory says the certificate is for. Reported as the C(customer_id) of its result only
            when the certificate does not tell (missing or unreadable), so that such a row still names its
            customer; a readable certificate always reports its own subject's CN.
        type: str
      environment:
        description:
          - The environment the inventory says the certificate is for (V(TEST) or V(PRODUCTION)). Reported only
            when the certificate does not tell, as O(certificates[].customer_id) is.
        type: str
      state_path:
        description: Its state file, as O(state_path).
        type: path
  renew_before_days:
    description:
      - The renewal window used for RV(in_renewal_window). The service allows at most 60.
      - With neither O(path) nor O(certificates), the host's C(renewal_renew_before_days) when it has one.
    type: int
    default: 60
  issuing_ca_path:
    description: PEM bundle of the issuing CA and its root; when given, RV(chain_valid) tells whether the certificate chains to it.
    type: path
  state_path:
    description:
      - The state file in which the modules that request and renew the certificate record a request in flight
        (the O(incomes_register.certificates.certificate_renew#module:state_path) of those modules); RV(request)
        tells what it records. Read, never changed.
      - Defaults to the certificate's path with C(.state.json) appended, as theirs does. The renewal role's
        certificates always use that default.
    type: path
requirements:
  - cryptography >= 43, only to read a private key, a DER certificate or a PEM file that is not cleanly framed.
notes:
  - The controller needs cryptography >= 43 (ansible-core's own dependency, at that version or later) to describe
    the certificates.
seealso:
  - module: incomes_register.certificates.certificate_renew
  - module: community.crypto.x509_certificate_info
'''

EXAMPLES = r'''
- name: Read the certificate
  incomes_register.certificates.certificate_info:
    path: /etc/incomes-register/certificate.pem
    private_key_path: /etc/incomes-register/private/key.pem
  register: cert

- name: Warn when it needs renewing
  ansible.builtin.debug:
    msg: "{{ cert.customer_id }} expires in {{ cert.days_remaining }} days"
  when: cert.exists and cert.in_renewal_window

- name: Read two certificates of the host in one run
  incomes_register.certificates.certificate_info:
    certificates:
      - path: /etc/incomes-register/certificate.pem
        private_key_path: /etc/incomes-register/private/key.pem
      - path: /opt/payroll/ir-client.pem
  register: certs

- name: Read what the renewal role keeps on every host, as the audit does
  incomes_register.certificates.certificate_info:
  register: role_certs

- name: List those inside the renewal window
  ansible.builtin.debug:
    msg: "{{ certs.results | selectattr('in_renewal_window', 'defined') | selectattr('in_renewal_window')
             | map(attribute='path') | list }}"
'''

RETURN = r'''
results:
  description:
    - With O(certificates), one report per entry, in order, each with the keys listed here for a single
      certificate (RV(path), RV(exists), RV(readable), RV(error), RV(change_mark), RV(replaced_at),
      RV(replaced_not_after), RV(replaced_days_remaining), RV(request), RV(set_aside_keys), and the rest when
      readable).
    - The same shape as a loop over this module registers, so M(incomes_register.certificates.expiry_report)
      reads either.
  returned: when O(certificates) is given
  type: list
  elements: dict
path:
  description: The certificate path read.
  returned: when O(path) is given
  type: str
exists:
  description: Whether the certificate file exists.
  returned: when O(path) is given
  type: bool
readable:
  description: Whether the file could be read and parsed as a certificate.
  returned: when O(path) is given
  type: bool
error:
  description: Why the certificate or key could not be read; V(null) when all went well.
  returned: when O(path) is given
  type: str
change_mark:
  description:
    - C(<path>.changed) when it is there, else V(null). The renewal role's modules leave it when they replace the
      certificate (O(incomes_register.certificates.certificate_renew#module:change_mark)) and its handlers remove
      it once they have restarted the certificate's services; while it is there, the services may still use the
      old certificate, and the next renew run that succeeds for it restarts them.
  returned: when O(path) is given
  type: str
  sample: /etc/incomes-register/certificate.pem.changed
replaced_at:
  description:
    - When RV(change_mark) is there, when the certificate was replaced, as the mark records it; else V(null).
  returned: when O(path) is given
  type: str
  sample: '2026-11-20T03:00:12Z'
replaced_not_after:
  description:
    - When RV(change_mark) is there, when the certificate it replaced expires, as the mark records it. Until the
      services are restarted, that is the certificate they may still use.
    - V(null) when there is no mark, or the mark does not say (there was no readable certificate before).
  returned: when O(path) is given
  type: str
  sample: '2027-01-10T09:30:00Z'
replaced_days_remaining:
  description:
    - Whole days until RV(replaced_not_after) by the host's clock, as RV(days_remaining); negative once that
      certificate has expired. V(null) when RV(replaced_not_after) is.
  returned: when O(path) is given
  type: int
  sample: 40
request:
  description:
    - What the certificate's state file (O(state_path)) records as in flight, read and never changed; V(null) when
      there is no state file. A renewal or first-certificate request is recorded there from before it is sent
      until its certificate is installed, so that the next run finishes it instead of sending it again.
    - Told for a missing or unreadable certificate too (a first certificate in flight).
  returned: when O(path) is given
  type: dict
  contains:
    state_path:
      description: The state file.
      type: str
    error:
      description: Why the state file could not be read (V(null) when it could); the other keys are then absent.
      type: str
    refused:
      description:
        - Why the modules that request and renew the certificate would refuse the file (its mode opens it to group or
          others, an unknown version, operation or phase, submitted or retrieved without a RetrievalId, a key other
          than the one beside O(private_key_path), a kept certificate that is not base64, a kept answer open to
          others); V(null) when they would take it. Its owner is not checked, since that depends on the user they
          run as.
      type: str
    operation:
      description: V(renew) for a renewal, V(sign) for a first certificate.
      type: str
    phase:
      description:
        - V(prepared) (recorded before sending), V(sent) (sent, and no answer accepted), V(submitted) (the service
          gave a RetrievalId and the certificate is not retrieved yet) or V(retrieved) (retrieved and verified, not
          yet put in place).
      type: str
    retrieval_id:
      description: The RetrievalId the service gave, once V(submitted) (and V(retrieved)).
      type: str
    created:
      description: When the request was recorded (UTC).
      type: str
    submitted_at:
      description: When the service accepted it (UTC), once V(submitted).
      type: str
    updated:
      description: When the record last changed (UTC).
      type: str
    replaces_retrieval_id:
      description: The RetrievalId of a waiting renewal that this one was sent in place of, for the same key; its
        certificate may still come.
      type: str
    answer_kept:
      description: Whether an answer of the service that could not be accepted is kept beside the state file, with
        its digest recorded, so that the next run checks it again.
      type: bool
    certificate_kept:
      description: Whether a retrieved certificate refused for a cause that can be put right is kept in it.
      type: bool
    resubmit_refused:
      description: Whether the service refused the renewal when it was sent again for the same key; the next renew
        run then sets that key aside and asks with a fresh one.
      type: bool
  sample:
    state_path: /etc/incomes-register/certificate.pem.state.json
    error: null
    refused: null
    operation: renew
    phase: submitted
    retrieval_id: 6f1c2a9e0b7d4c3a
    created: '2026-11-20T03:00:02.104511+00:00'
    submitted_at: '2026-11-20T03:00:04.512345+00:00'
    updated: '2026-11-20T03:00:04Z'
    replaces_retrieval_id: null
    answer_kept: false
    certificate_kept: false
    resubmit_refused: false
set_aside_keys:
  description:
    - The keys set aside next to O(private_key_path) (C(<key>.new.unanswered-<time>)) by renewals that got no
      answer, kept in case the service issued a certificate for them. Empty without O(private_key_path).
  returned: when O(path) is given
  type: list
  elements: str
subject:
  description: The certificate's subject (RFC 4514).
  returned: when readable
  type: str
  sample: CN=1234567-8,O=Example Oy,C=FI
customer_id:
  description: The subject CN, the organisation's Business ID.
  returned: when readable
  type: str
  sample: 1234567-8
organisation:
  description: The subject O, when present.
  returned: when readable
  type: str
issuer:
  description: The issuer (RFC 4514).
  returned: when readable
  type: str
serial:
  description: Serial number, upper-case hexadecimal.
  returned: when readable
  type: str
fingerprint_sha256:
  description: SHA-256 fingerprint of the certificate, colon-separated hex.
  returned: when readable
  type: str
fingerprint_sha1:
  description: SHA-1 fingerprint of the certificate, colon-separated hex.
  returned: when readable
  type: str
not_before:
  description: Start of validity, ISO 8601 UTC.
  returned: when readable
  type: str
  sample: '2026-11-25T12:00:00Z'
not_after:
  description: End of validity, ISO 8601 UTC.
  returned: when readable
  type: str
  sample: '2028-11-24T12:00:00Z'
days_remaining:
  description: Whole days until expiry; negative once expired.
  returned: when readable
  type: int
expired:
  description: Whether the certificate has expired.
  returned: when readable
  type: bool
in_renewal_window:
  description: Whether the certificate is unexpired and expires within O(renew_before_days) days.
  returned: when readable
  type: bool
key_matches:
  description: Whether the private key belongs to the certificate; V(null) without O(private_key_path).
  returned: when readable
  type: bool
chain_valid:
  description: Whether the certificate chains to O(issuing_ca_path); V(null) without it.
  returned: when readable
  type: bool
environment:
  description: The Incomes Register environment guessed from the issuer.
  returned: when readable
  type: str
  choices: [TEST, PRODUCTION, SANDBOX, UNKNOWN]
'''

import datetime

from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, dependencies
from ansible_collections.incomes_register.certificates.plugins.module_utils._report.certificate_reads import read


def main():
    module = argspec.create_module(
        argspec.WINDOW,
        dict(
            path=dict(type='path'),
            private_key_path=dict(type='path'),
            private_key_passphrase=dict(type='str', no_log=True),
            certificates=dict(type='list', elements='dict', options=dict(
                path=dict(type='path', required=True, aliases=['certificate_path']),
                private_key_path=dict(type='path'),
                private_key_passphrase=dict(type='str', no_log=True),
                customer_id=dict(type='str'),
                environment=dict(type='str'),
                state_path=dict(type='path'),
            )),
            issuing_ca_path=dict(type='path'),
            state_path=dict(type='path'),
        ),
        required_one_of=[('path', 'certificates')],
        mutually_exclusive=[('path', 'certificates'), ('private_key_path', 'certificates'),
                            ('private_key_passphrase', 'certificates'), ('state_path', 'certificates')],
    )
    params = module.params
    if params['certificates'] is None:
        entries = [params]
    else:
        entries = [dict(entry, issuing_ca_path=params['issuing_ca_path']) for entry in params['certificates']]
    if any(entry.get('private_key_path') for entry in entries):
        dependencies.require_libraries(module, 'cryptography', purpose=dependencies.KEYS)
    # The action plugin describes the readings on the controller (plugins/plugin_utils/certificate_report.py), by
    # this host's clock.
    module.exit_json(changed=False, readings=[read(entry) for entry in entries],
                     single=params['certificates'] is None, renew_before_days=params['renew_before_days'],
                     now=datetime.datetime.now(datetime.timezone.utc).isoformat())


if __name__ == '__main__':
    main()
