#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: certificate_request
short_description: Request a new Incomes Register certificate with one-time transfer credentials
version_added: 0.1.0
description:
  - Generates a new RSA key on the managed host, builds a certificate signing request with subject
    C=FI, O=O(customer_name), CN=O(customer_id), and sends it to the certificate service's
    SignNewCertificate operation with the one-time TransferID and TransferPassword from the
    Incomes Register e-service.
  - Waits for the certificate, verifies that it carries the new key and the customer's Business ID
    and chains to O(issuing_ca_path), and installs certificate and key at O(path) and
    O(private_key_path).
  - Idempotent. When a valid certificate for O(customer_id) that matches the key is already installed,
    the module makes no call at all. A valid certificate for O(customer_id) whose key is not at
    O(private_key_path) (missing, or another key) is refused before anything is sent, since its key may be kept
    in another file; if the key is lost, move the certificate away.
  - Before the one-time credentials are sent, the module writes a state file. A run that dies after
    sending resumes the retrieval; credentials whose outcome is unknown are never sent again.
author:
  - Incomes Register certificates collection maintainers (@incomes-register)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - incomes_register.certificates.service
  - incomes_register.certificates.service.RETRIEVAL
  - incomes_register.certificates.store
attributes:
  check_mode:
    support: full
    details: Reports whether a request would be made; makes no call and writes nothing.
  diff_mode:
    support: full
    details: Shows the customer, serial, expiry and fingerprint of the certificate before and after.
  platform:
    platforms: posix
options:
  transfer_id:
    description:
      - The one-time TransferID from the secure email of the Incomes Register e-service.
    type: str
    required: true
  transfer_password:
    description:
      - The one-time TransferPassword from the same email. Never logged, never written to disk.
    type: str
    required: true
  replace_other_customer:
    description:
      - Allow the new certificate to replace a valid certificate of another customer found at O(path).
      - By default such a run fails before anything is sent, because that certificate (and, with
        O(backup=false), its key) would be lost. An expired certificate of another customer is replaced
        without asking.
    type: bool
    default: false
requirements:
  - cryptography >= 43
  - lxml
  - signxml >= 4.0
  - requests
seealso:
  - module: incomes_register.certificates.certificate_retrieve
  - module: incomes_register.certificates.certificate_renew
  - name: Applying for a certificate for the Incomes Register technical interface
    description: The Incomes Register's instructions on subscribing to a certificate.
    link: https://www.vero.fi/en/incomes-register/
'''

EXAMPLES = r'''
- name: Request the organisation's first certificate (credentials kept in Ansible Vault)
  incomes_register.certificates.certificate_request:
    environment: TEST
    customer_id: 1234567-8
    customer_name: Example Oy
    transfer_id: "{{ vault_transfer_id }}"
    transfer_password: "{{ vault_transfer_password }}"
    service_ca_path: /etc/incomes-register/trust/service-signing-ca.pem
    issuing_ca_path: /etc/incomes-register/trust/issuing-ca.pem
    path: /etc/incomes-register/certificate.pem
    private_key_path: /etc/incomes-register/private/key.pem

- name: Send the request now and retrieve it in a later task
  incomes_register.certificates.certificate_request:
    environment: PRODUCTION
    customer_id: 1234567-8
    transfer_id: "{{ vault_transfer_id }}"
    transfer_password: "{{ vault_transfer_password }}"
    service_ca_path: /etc/incomes-register/trust/service-signing-ca.pem
    issuing_ca_path: /etc/incomes-register/trust/issuing-ca.pem
    path: /etc/incomes-register/certificate.pem
    private_key_path: /etc/incomes-register/private/key.pem
    wait: false
'''

RETURN = r'''
action:
  description: What the run did.
  returned: always
  type: str
  sample: requested
  choices: [none, requested, pending, resumed]
retrieval_id:
  description: The RetrievalId of the request made or resumed.
  returned: always
  type: str
  sample: 7c1f0e0b2a7d4f7c9e0c3b1a
certificate:
  description:
    - The installed certificate, as M(incomes_register.certificates.certificate_info) describes it.
    - V(null) when none is installed yet.
  returned: always
  type: dict
  sample:
    customer_id: 1234567-8
    serial: 5F3A19C2
    not_after: '2028-11-25T12:00:00Z'
    days_remaining: 729
service_calls:
  description: How many calls of each operation the run made.
  returned: always
  type: dict
  sample: {signNewCertificate: 1, getCertificate: 2, renewCertificate: 0}
backups:
  description: Paths of the backups of a replaced certificate and key.
  returned: always
  type: dict
  sample: {certificate: /etc/incomes-register/certificate.pem.1234.2026-11-25@12:00:00~}
path:
  description: The certificate path.
  returned: always
  type: str
private_key_path:
  description: The private key path.
  returned: always
  type: str
state_path:
  description: The state file that records a request in flight.
  returned: always
  type: str
change_mark:
  description:
    - The change mark (C(<path>.changed)) of O(change_mark=true) while it is there. A new pair was put in place,
      by this run or an earlier one, and the services that read the certificate have not been restarted since
      as far as the mark tells.
  returned: when O(change_mark=true) and the mark is there
  type: str
  sample: /etc/incomes-register/certificate.pem.changed
'''

from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, module_support, service_options


def main():
    module = argspec.create_module(service_options.SERVICE, service_options.RETRIEVAL, service_options.STORE, dict(
        transfer_id=dict(type='str', required=True),
        transfer_password=dict(type='str', required=True, no_log=True),
        replace_other_customer=dict(type='bool', default=False),
    ))
    from ansible_collections.incomes_register.certificates.plugins.module_utils import lifecycle
    module_support.run_lifecycle(module, lifecycle.enroll)


if __name__ == '__main__':
    main()
