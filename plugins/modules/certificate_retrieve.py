#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: certificate_retrieve
short_description: Retrieve a requested or renewed Incomes Register certificate
version_added: 0.1.0
description:
  - Calls GetCertificate for the request that M(incomes_register.certificates.certificate_request) or
    M(incomes_register.certificates.certificate_renew) left in flight (their state file), or for an
    explicit O(retrieval_id), and polls until the certificate is ready or O(wait_timeout) passes.
  - Verifies the certificate (the pending key, the customer's Business ID, the issuing CA) and swaps it
    in as those modules do. It is resumable, a rerun continues the same retrieval.
  - With nothing in flight the module does nothing.
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
    details: Reports whether there is something to retrieve; makes no call.
  diff_mode:
    support: full
    details: Shows the customer, serial, expiry and fingerprint of the certificate before and after.
  platform:
    platforms: posix
options:
  retrieval_id:
    description:
      - The RetrievalId to retrieve. By default the one recorded in the state file.
      - Without a state file, the key must be waiting at C(<private_key_path>.new).
    type: str
requirements:
  - cryptography >= 43
  - lxml
  - signxml >= 4.0
  - requests
seealso:
  - module: incomes_register.certificates.certificate_request
  - module: incomes_register.certificates.certificate_renew
'''

EXAMPLES = r'''
- name: Finish the request sent earlier with wait=false
  incomes_register.certificates.certificate_retrieve:
    environment: TEST
    customer_id: 1234567-8
    service_ca_path: /etc/incomes-register/trust/service-signing-ca.pem
    issuing_ca_path: /etc/incomes-register/trust/issuing-ca.pem
    path: /etc/incomes-register/certificate.pem
    private_key_path: /etc/incomes-register/private/key.pem
    wait_timeout: 600
'''

RETURN = r'''
action:
  description: What the run did; V(pending) when O(wait) is false and the certificate is not issued yet.
  returned: always
  type: str
  choices: [none, retrieved, pending]
retrieval_id:
  description: The RetrievalId retrieved.
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
backups:
  description: Paths of the backups of a replaced certificate and key.
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
  description: The state file read.
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
    module = argspec.create_module(service_options.SERVICE, service_options.RETRIEVAL, service_options.STORE,
                                   dict(retrieval_id=dict(type='str')))
    from ansible_collections.incomes_register.certificates.plugins.module_utils import lifecycle
    module_support.run_lifecycle(module, lifecycle.retrieve)


if __name__ == '__main__':
    main()
