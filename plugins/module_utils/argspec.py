# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules' options, with each choice and range taken from the fact it stands for, and the checks
that run before a module does anything else.

Light on purpose: a module that never reaches the service imports this, not module_support, so its
payload does not carry the service client. The option docs are plugins/doc_fragments; keep them in step.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import service_facts
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateServiceError, RequestValidationError)
from ansible_collections.incomes_register.certificates.plugins.module_utils.renewal_policy import (
    MAX_RENEW_BEFORE_DAYS)

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
    key_size=dict(type='int', default=2048, choices=[2048, 3072]),
    owner=dict(type='str'),
    group=dict(type='str'),
    mode=dict(type='raw', default='0644'),
    backup=dict(type='bool', default=True),
    lock_timeout=dict(type='int', default=600),
)

WINDOW = dict(
    renew_before_days=dict(type='int', default=MAX_RENEW_BEFORE_DAYS),
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


def entry_params(params, entry, listed):
    """The options of one entry of params[listed] (`certificates`, `targets`): what the entry gives over the task's.
    An empty value is a value left out: the role and the playbooks give every entry each key, empty for "the
    task's". The list itself is not the entry's."""
    merged = dict(params)
    merged.update((name, value) for name, value in entry.items() if value not in (None, ''))
    merged[listed] = None
    return merged


RESUBMIT = dict(
    resubmit_after_hours=dict(type='int', default=24),
)

# Numeric options: (least, whether least itself is allowed, most or None). Checked before anything else:
# a timeout of 0 once made requests fail in a way that looked like a sent request.
NUMBER_LIMITS = dict(
    timeout=(0, False, None),
    wait_timeout=(0, True, None),
    initial_delay=(0, True, None),
    poll_interval=(0, False, None),
    lock_timeout=(0, True, None),
    renew_before_days=(1, True, MAX_RENEW_BEFORE_DAYS),
    max_clock_skew=(1, True, None),
    critical_days=(0, True, None),
    fail_within_days=(0, True, None),
    resubmit_after_hours=(1, True, None),
)

_WHY = dict(
    renew_before_days=' (the certificate service refuses renewal earlier than %d days before expiry)'
                      % MAX_RENEW_BEFORE_DAYS,
)


def check_numbers(params, consequence=' Nothing was sent.'):
    """RequestValidationError naming the first numeric option out of its range; nothing has been sent."""
    for name, (least, inclusive, most) in sorted(NUMBER_LIMITS.items()):
        value = params.get(name)
        if value is None:
            continue
        if value < least or (value == least and not inclusive):
            limit = '%s %g' % ('at least' if inclusive else 'greater than', least)
        elif most is not None and value > most:
            limit = 'at most %g' % most
        else:
            continue
        raise RequestValidationError('%s must be %s%s, not %g.%s'
                                     % (name, limit, _WHY.get(name, ''), value, consequence))


def check_signer_pattern(params, consequence=' Nothing was sent.'):
    """RequestValidationError for a service_signer_pattern that is not a regular expression: it is first used on
    the service's answer, after SignNewCertificate has spent the credentials."""
    pattern = params.get('service_signer_pattern')
    if not pattern:
        return
    try:
        re.compile(pattern)
    except re.error as error:
        raise RequestValidationError('service_signer_pattern %r is not a regular expression (%s).%s'
                                     % (pattern, error, consequence)) from None


def hide_proxy_password(module):
    """Mask the password of a proxy URL (http://user:password@host) wherever the module's output shows it,
    the invocation's module_args included."""
    proxy = module.params.get('proxy')
    password = urlsplit(proxy).password if proxy else None
    if password:
        module.no_log_values.add(password)


def fail_from_error(module, error, **result):
    """Report a CertificateServiceError with its secret-free details."""
    result.update(error.details())
    module.fail_json(msg=error.message, **result)


def create_module(*specs, **options):
    """The AnsibleModule of specs merged (later ones win), its numbers checked and a proxy password masked.

    options are AnsibleModule's keyword arguments; supports_check_mode defaults to True.
    """
    argument_spec = {}
    for spec in specs:
        argument_spec.update(spec)
    options.setdefault('supports_check_mode', True)
    module = AnsibleModule(argument_spec=argument_spec, **options)
    hide_proxy_password(module)
    try:
        check_numbers(module.params)
        check_signer_pattern(module.params)
    except CertificateServiceError as error:
        fail_from_error(module, error)
    return module
