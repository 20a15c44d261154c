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
  - A renewal that a previous run left half done (state file) is completed first.
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
    details: Reports whether the certificate would be renewed; makes no call and writes nothing.
  diff_mode:
    support: full
    details: Shows the customer, serial, expiry and fingerprint of the certificate before and after.
  platform:
    platforms: posix
options:
  renew_before_days:
    description:
      - Renew when the certificate expires in this many days or fewer.
      - The service refuses renewal earlier than 60 days before expiry, so values above 60 are refused.
    type: int
    default: 60
  resubmit_after_hours:
    description:
      - A renewal whose RetrievalId has not given a certificate this many hours after it was submitted is
        abandoned (its new key deleted, its state file removed) and requested again with a new key, while
        the current certificate is still valid. A renewal spends nothing one-time, so this costs one
        RenewCertificate; without it, a RetrievalId that never gives a certificate would be polled on every
        run until the old certificate expired.
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
'''

RETURN = r'''
action:
  description: What the run did.
  returned: always
  type: str
  sample: renewed
  choices: [none, renewed, pending, resumed]
retrieval_id:
  description: The RetrievalId of the renewal made or resumed; V(null) when nothing was done.
  returned: always
  type: str
certificate:
  description: The installed certificate after the run, as M(incomes_register.certificates.certificate_info) describes it.
  returned: always
  type: dict
service_calls:
  description: How many calls of each operation the run made.
  returned: always
  type: dict
  sample: {signNewCertificate: 0, getCertificate: 1, renewCertificate: 1}
backups:
  description: Paths of the backups of the replaced certificate and key.
  returned: always
  type: dict
path:
  description: The certificate path.
  returned: always
  type: str
private_key_path:
  description: The private key path.
  returned: always
  type: str
state_path:
  description: The state file that records a renewal in flight.
  returned: always
  type: str
'''

from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, module_support


def main():
    module = argspec.create_module(argspec.SERVICE, argspec.RETRIEVAL, argspec.STORE, argspec.WINDOW, argspec.RESUBMIT)
    from ansible_collections.incomes_register.certificates.plugins.module_utils import lifecycle
    module_support.run_lifecycle(module, lifecycle.renew)


if __name__ == '__main__':
    main()
