# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of the modules that work with the certificate service (certificate_request, certificate_retrieve,
certificate_renew, certificate_preflight) and of their `certificates` entries, with each choice taken from the
fact it stands for. The option docs are plugins/doc_fragments; keep them in step.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.csr import ALLOWED_KEY_SIZES
from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import service_facts

SERVICE = dict(
    environment=dict(type='str', required=True, choices=list(service_facts.ENVIRONMENTS)),
    endpoint=dict(type='str'),
    service_ca_path=dict(type='path', required=True),
    issuing_ca_path=dict(type='path', required=True),
    tls_ca_path=dict(type='path'),
    validate_certs=dict(type='bool', default=True),
    proxy=dict(type='str'),
    timeout=dict(type='int', default=30),
    customer_id=dict(type='str', required=True),
    customer_name=dict(type='str'),
    service_signer_pattern=dict(type='str'),
)

RETRIEVAL = dict(
    wait=dict(type='bool', default=True),
    wait_timeout=dict(type='int', default=300),
    initial_delay=dict(type='float', default=30),
    poll_interval=dict(type='float', default=10),
    final_error_codes=dict(type='list', elements='str', default=[]),
    state_path=dict(type='path'),
)

STORE = dict(
    path=dict(type='path', required=True),
    private_key_path=dict(type='path', required=True),
    private_key_passphrase=dict(type='str', no_log=True),
    key_size=dict(type='int', default=2048, choices=list(ALLOWED_KEY_SIZES)),
    owner=dict(type='str'),
    group=dict(type='str'),
    mode=dict(type='raw', default='0644'),
    backup=dict(type='bool', default=True),
    change_mark=dict(type='bool', default=False),
    lock_timeout=dict(type='int', default=600),
)

# Handled by the modules' action plugin (plugins/plugin_utils/trust_copy.py) on the controller, which leaves them
# out of what it sends; accepted here so that the module's options are the documented ones.
TRUST_COPY = dict(
    trust_src_dir=dict(type='path'),
    trust_files=dict(type='list', elements='str', default=['service-signing-ca.pem', 'issuing-ca.pem']),
    trust_dir=dict(type='path', default='/etc/incomes-register/trust'),
)

RESUBMIT = dict(
    resubmit_after_hours=dict(type='int', default=24),
)

# What may differ between the certificates of one run (the `certificates` option of certificate_renew):
# the certificate's identity, its service and trust files, and its files on the host. The rest (timeouts,
# proxy, polling, the window) is the run's.
PER_CERTIFICATE = ('customer_id', 'customer_name', 'environment', 'endpoint', 'service_ca_path', 'issuing_ca_path',
                   'tls_ca_path', 'path', 'private_key_path', 'private_key_passphrase', 'key_size', 'owner', 'group',
                   'mode', 'state_path')


def required_options(*specs):
    """The names that specs mark required, in order."""
    return [name for spec in specs for name, option in spec.items() if option.get('required')]


def relaxed(*specs):
    """specs merged with nothing required: with `certificates`, each entry may give what the task does not."""
    merged = {}
    for spec in specs:
        for name, option in spec.items():
            merged[name] = dict((key, value) for key, value in option.items() if key != 'required')
    return merged


def optional(*specs):
    """specs merged with nothing required and no default: an option left out stays None, for the task's own
    to stand in (an entry of `certificates`) or because the module only accepts it (for module_defaults)."""
    return dict((name, dict((key, value) for key, value in option.items() if key != 'default'))
                for name, option in relaxed(*specs).items())


def certificate_entry_options(*specs):
    """The suboptions of a `certificates` entry: the PER_CERTIFICATE options of specs, with no default (an
    option left out is the task's) and `certificate_path` as another name of `path`."""
    merged = optional(*specs)
    options = dict((name, merged[name]) for name in PER_CERTIFICATE if name in merged)
    if 'path' in options:
        options['path']['aliases'] = ['certificate_path']
    return options
