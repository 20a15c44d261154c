#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: certificate_renew
short_description: Renew an Incomes Register certificate inside its 60-day renewal window
version_added: 0.1.0
description:
  - Reads the certificate at O(path). Outside the renewal window given by O(renew_before_days) the
    module does nothing and calls nothing.
  - Inside the window it generates a new RSA key on the managed host, builds a new certificate signing
    request, signs a RenewCertificate request with the current key (the service authenticates the
    organisation by it), retrieves and verifies the new certificate, and only then swaps it in. The old
    certificate and key stay in place and valid until then, and are kept as timestamped backups.
  - An expired certificate cannot be renewed; the module fails and says that a new certificate must be
    applied for in the Incomes Register e-service.
  - A renewal that a previous run left half done (state file) is completed first. One whose answer was lost is
    sent again for the same new key; if the service refuses it, the next run keeps that key as
    C(<private_key_path>.new.unanswered-<UTC time>) and asks with a fresh key. The run that installs a renewed
    certificate removes such keys and names them, since that certificate takes the place of any issued for them.
  - With O(certificates), one module run looks after all the certificates of a host, one after the other,
    each with its own lock and state file; what a certificate's entry leaves out is the task's option. A run
    in which nothing is due costs little more than for one certificate (no call, no XML library loaded).
    Each certificate's outcome is in RV(results); one certificate's failure (expired, a service error, a
    damaged key) does not stop the others, and the task fails, as a loop would, when any of them failed.
  - With none of O(certificates), O(path) and O(private_key_path), renews the certificates the renewal role
    (R(incomes_register.certificates.renewal,ansible_collections.incomes_register.certificates.renewal_role))
    keeps on the host, as the role's own task does. Each item of the host's C(renewal_certificates) is completed
    as the role completes it from C(renewal_customer_id), C(renewal_customer_name), C(renewal_environment),
    C(renewal_endpoint), C(renewal_service_ca_path), C(renewal_issuing_ca_path), C(renewal_tls_ca_path),
    C(renewal_certificate_path), C(renewal_private_key_path), C(renewal_private_key_passphrase),
    C(renewal_owner), C(renewal_group) and C(renewal_certificate_mode) (a value the item gives empty stays empty),
    or without C(renewal_certificates) the certificate of those variables alone is renewed; where the host has
    none of them, the role's defaults. The options the task leaves out are then the host's C(renewal_key_size),
    C(renewal_renew_before_days), C(renewal_wait_timeout), C(renewal_initial_delay), C(renewal_poll_interval),
    C(renewal_final_error_codes), C(renewal_proxy), C(renewal_timeout), C(renewal_service_signer_pattern),
    C(renewal_trust_src_dir), C(renewal_trust_files) and C(renewal_trust_dir), or the role's defaults. An action
    plugin reads these variables on the controller. An item with a key that the role does not document fails the
    task before anything is sent; the role's own argument spec refuses it too.
  - In that mode a per-certificate option that the task gives (or its C(module_defaults)) stands in for a
    variable the host does not have or gives empty, before the role's default. The module only renews; it
    neither installs the new certificate elsewhere nor restarts services, which the role does after it.
author:
  - Incomes Register certificates collection maintainers (@incomes-register)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - incomes_register.certificates.service.PER_CERTIFICATE
  - incomes_register.certificates.service
  - incomes_register.certificates.service.RETRIEVAL
  - incomes_register.certificates.store
  - incomes_register.certificates.service.TRUST_COPY
attributes:
  action:
    support: full
    details: The action plugin completes the options from the renewal role's variables when the task names no
      certificate, and copies the trust files from the controller (O(trust_src_dir)) before the module runs.
  async:
    support: full
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Reports whether the certificate would be renewed; makes no call and writes nothing.
  diff_mode:
    support: full
    details: Shows the customer, serial, expiry and fingerprint of the certificate before and after.
  platform:
    platforms: posix
options:
  certificates:
    description:
      - Several certificates to look after in one run, instead of the one that O(path) names. Each entry
        takes the options below; what it leaves out is the task's own option (so O(customer_id), O(path),
        O(private_key_path) and the rest are then only defaults for the entries, not required).
      - Two entries may not name the same certificate path.
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
        description: The certificate. Default O(path).
        type: path
        aliases: [certificate_path]
      private_key_path:
        description: Its private key. Default O(private_key_path).
        type: path
      private_key_passphrase:
        description: Passphrase of the private key. Never logged. Default O(private_key_passphrase).
        type: str
      key_size:
        description: Size of the new RSA key. Default O(key_size).
        type: int
        choices: [2048, 3072]
      owner:
        description: Owner of the certificate and key files. Default O(owner).
        type: str
      group:
        description: Group of the certificate and key files. Default O(group).
        type: str
      mode:
        description: Mode of the certificate file. Default O(mode).
        type: raw
      state_path:
        description: The state file. Default C(<path>.state.json).
        type: path
  path:
    description:
      - Path of the certificate (PEM) on the managed host.
      - Next to it the module keeps C(<path>.lock) (serialises runs), C(<path>.state.json) while a
        request is in flight, C(<path>.new) for a moment during the swap, and with O(change_mark=true)
        C(<path>.changed) from the swap until the services are known to use the new pair.
      - Required unless every entry of O(certificates) gives it. With none of O(path), O(private_key_path) and
        O(certificates), the renewal role's certificates are renewed (see above).
    type: path
    required: false
  private_key_path:
    description:
      - Path of the certificate's private key (PEM, PKCS#8). Keys are generated on the managed host,
        written atomically with mode C(0600), and never leave it.
      - A key being requested lives at C(<private_key_path>.new) until its certificate is installed.
      - Required unless every entry of O(certificates) gives it.
    type: path
    required: false
  renew_before_days:
    description:
      - Renew when the certificate expires in this many days or fewer.
      - The service refuses renewal earlier than 60 days before expiry, so values above 60 are refused.
    type: int
    default: 60
  resubmit_after_hours:
    description:
      - A renewal whose RetrievalId has not given a certificate this many hours after it was submitted is
        polled once more and, if still not ready, requested again for the same new key (a fresh one if that
        key cannot sign), while the current certificate is still valid. A renewal spends nothing one-time, so
        this costs one RenewCertificate; without it, a RetrievalId that never gives a certificate would be
        polled on every run until the old certificate expired.
      - The waiting RetrievalId is replaced once the new request has gone out. If the service refuses it (it
        may not renew a certificate whose renewal is waiting, or certify a key twice), the waiting renewal
        stays recorded with its key, whose certificate may still come; the next run polls it again and, still
        without one, asks again with a fresh key, keeping the waiting one as
        C(<private_key_path>.new.unanswered-<UTC time>) until a renewed certificate is installed. Should the
        waiting RetrievalId's certificate come after all, its key is taken back from there.
      - A certificate the service gave that only this host's trust file or clock refuses is kept, and the
        renewal is not abandoned for it; the run fails until the cause is put right (see docs/guarantees.md).
      - Public clients of the service give up on a RetrievalId after minutes; how long the real service
        may take at worst is not known, so the default leaves a day.
      - A first-certificate request (M(incomes_register.certificates.certificate_request)) is never sent
        again, since its one-time credentials may be spent.
    type: int
    default: 24
requirements:
  - cryptography >= 43
  - lxml
  - signxml >= 4.0
  - requests
seealso:
  - module: incomes_register.certificates.certificate_request
  - module: incomes_register.certificates.certificate_info
'''

EXAMPLES = r'''
- name: Renew the certificate when it has 30 days or less left
  incomes_register.certificates.certificate_renew:
    environment: PRODUCTION
    customer_id: 1234567-8
    customer_name: Example Oy
    service_ca_path: /etc/incomes-register/trust/service-signing-ca.pem
    issuing_ca_path: /etc/incomes-register/trust/issuing-ca.pem
    path: /etc/incomes-register/certificate.pem
    private_key_path: /etc/incomes-register/private/key.pem
    renew_before_days: 30
  register: renewal

- name: Tell what happened
  ansible.builtin.debug:
    msg: "{{ renewal.msg }} (expires {{ renewal.certificate.not_after }})"

- name: Look after two customers' certificates, TEST and PRODUCTION, in one run
  incomes_register.certificates.certificate_renew:
    environment: PRODUCTION
    service_ca_path: /etc/incomes-register/trust/service-signing-ca.pem
    issuing_ca_path: /etc/incomes-register/trust/issuing-ca.pem
    certificates:
      - customer_id: 1234567-8
        path: /etc/incomes-register/1234567-8/certificate.pem
        private_key_path: /etc/incomes-register/1234567-8/private/key.pem
      - customer_id: 7654321-0
        environment: TEST
        service_ca_path: /etc/incomes-register/trust-test/service-signing-ca.pem
        issuing_ca_path: /etc/incomes-register/trust-test/issuing-ca.pem
        path: /etc/incomes-register/7654321-0-test/certificate.pem
        private_key_path: /etc/incomes-register/7654321-0-test/private/key.pem
  register: renewals

- name: List the certificates that failed
  ansible.builtin.debug:
    msg: "{{ renewals.results | selectattr('failed') | map(attribute='path') | list }}"

- name: Renew what the renewal role keeps on the host (renewal_certificates and the other renewal_* variables)
  incomes_register.certificates.certificate_renew:
    change_mark: true
  register: role_renewals
'''

RETURN = r'''
results:
  description:
    - With O(certificates), one result per entry, in order. Each has the keys listed here for one certificate,
      and C(failed), C(changed) and C(msg) of its own (C(error_type) when it failed), the entry's
      C(customer_id), C(customer_name), C(environment), C(endpoint), C(service_ca_path), C(issuing_ca_path),
      C(tls_ca_path), C(owner), C(group), C(mode) and C(key_size) as the run used them, and its C(index).
  returned: when O(certificates) is given
  type: list
  elements: dict
pending:
  description:
    - With O(certificates), the positions (C(index)) in RV(results) of the certificates that were submitted and
      are not yet retrieved, in order - submitted by this run with O(wait=false), or submitted earlier and still
      not ready (C(error_type) C(RetrievalPending)). Retrieve them with
      M(incomes_register.certificates.certificate_retrieve), as the renewal role's wave does.
  returned: when O(certificates) is given
  type: list
  elements: int
  sample: [0, 2]
trust_files:
  description:
    - The trust files copied from O(trust_src_dir), in order, each with its C(name), C(dest) on the host and
      C(changed); one that could not be copied also has C(failed) and C(msg).
  returned: when O(trust_src_dir) is given
  type: list
  elements: dict
  sample: [{"name": "service-signing-ca.pem", "dest": "/etc/incomes-register/trust/service-signing-ca.pem", "changed": false}]
action:
  description: What the run did.
  returned: when O(certificates) is not given
  type: str
  sample: renewed
  choices: [none, renewed, pending]
retrieval_id:
  description: The RetrievalId of the renewal made or resumed; V(null) when nothing was done.
  returned: when O(certificates) is not given
  type: str
certificate:
  description: The installed certificate after the run, as M(incomes_register.certificates.certificate_info) describes it.
  returned: when O(certificates) is not given
  type: dict
service_calls:
  description: How many calls of each operation the run made (with O(certificates), for all of them).
  returned: always
  type: dict
  sample: {signNewCertificate: 0, getCertificate: 1, renewCertificate: 1}
backups:
  description: Paths of the backups of the replaced certificate and key.
  returned: when O(certificates) is not given
  type: dict
path:
  description: The certificate path.
  returned: when O(certificates) is not given
  type: str
private_key_path:
  description: The private key path.
  returned: when O(certificates) is not given
  type: str
state_path:
  description: The state file that records a renewal in flight.
  returned: when O(certificates) is not given
  type: str
change_mark:
  description:
    - The change mark (C(<path>.changed)) of O(change_mark=true) while it is there. A new pair was put in place,
      by this run or an earlier one, and the services that read the certificate have not been restarted since
      as far as the mark tells.
  returned: when O(change_mark=true) and the mark is there (with O(certificates), in each of RV(results))
  type: str
  sample: /etc/incomes-register/certificate.pem.changed
'''

from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, module_support, service_options


def main():
    specs = (service_options.SERVICE, service_options.RETRIEVAL, service_options.STORE, argspec.WINDOW, service_options.RESUBMIT)
    module = argspec.create_module(service_options.relaxed(*specs), service_options.TRUST_COPY, dict(certificates=dict(
        type='list', elements='dict', options=service_options.certificate_entry_options(*specs))))
    from ansible_collections.incomes_register.certificates.plugins.module_utils import lifecycle
    required = service_options.required_options(*specs)
    if module.params['certificates'] is not None:
        module_support.run_lifecycle_many(module, lifecycle.renew, required)
    missing = [name for name in required if module.params.get(name) is None]
    if missing:
        module.fail_json(msg='missing required arguments: %s' % ', '.join(missing))
    module_support.run_lifecycle(module, lifecycle.renew)


if __name__ == '__main__':
    main()
