# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module of the collection shares: option specs, client construction, error reporting.

The option specs here mirror plugins/doc_fragments/service.py; keep the two in step.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from urllib.parse import urlsplit

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateServiceError, RequestValidationError)


SERVICE_ARGUMENT_SPEC = dict(
    environment=dict(type='str', required=True, choices=['TEST', 'PRODUCTION']),
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

RETRIEVAL_ARGUMENT_SPEC = dict(
    wait=dict(type='bool', default=True),
    wait_timeout=dict(type='int', default=300),
    initial_delay=dict(type='float', default=30),
    poll_interval=dict(type='float', default=10),
    final_error_codes=dict(type='list', elements='str', default=[]),
    state_path=dict(type='path'),
)

# Numeric options and the least value each takes, with whether that value itself is allowed. Checked
# before anything else: a timeout of 0 made requests fail in a way that looked like a sent request.
NUMBER_LIMITS = dict(
    timeout=(0, False),
    wait_timeout=(0, True),
    initial_delay=(0, True),
    poll_interval=(0, False),
    lock_timeout=(0, True),
)


def check_numbers(params):
    """RequestValidationError naming the first numeric option out of its range."""
    for name, (least, inclusive) in sorted(NUMBER_LIMITS.items()):
        value = params.get(name)
        if value is not None and (value < least or (value == least and not inclusive)):
            raise RequestValidationError('%s must be %s %g, not %g. Nothing was sent.'
                                         % (name, 'at least' if inclusive else 'greater than', least, value))


def hide_proxy_password(module):
    """Mask the password of a proxy URL (http://user:password@host) wherever the module's output shows it,
    the invocation's module_args included."""
    proxy = module.params.get('proxy')
    password = urlsplit(proxy).password if proxy else None
    if password:
        module.no_log_values.add(password)


def merged_spec(*specs, **extra):
    result = {}
    for spec in specs:
        result.update(spec)
    result.update(extra)
    return result


def state_path_for(params):
    return params.get('state_path') or params['path'] + '.state.json'


def load_trust(path, what):
    from ansible_collections.incomes_register.certificates.plugins.module_utils.certificates import load_pem_bundle
    from ansible_collections.incomes_register.certificates.plugins.module_utils.file_ops import read_file
    data = read_file(path)
    if data is None:
        raise CertificateServiceError('%s %s does not exist' % (what, path))
    certs = load_pem_bundle(data)
    if not certs:
        raise CertificateServiceError('%s %s holds no PEM certificate' % (what, path))
    return certs


def issuing_bundle(params):
    return load_trust(params['issuing_ca_path'], 'issuing_ca_path')


def build_client(params):
    # Imported here so that modules which never reach the service (info, install) never load lxml
    # or signxml.
    from ansible_collections.incomes_register.certificates.plugins.module_utils.service_client import (
        CertificateServiceClient, resolve_endpoint)
    return CertificateServiceClient(
        endpoint=resolve_endpoint(params['environment'], params.get('endpoint')),
        environment=params['environment'],
        service_trust_anchors=load_trust(params['service_ca_path'], 'service_ca_path'),
        tls_verify=params['validate_certs'],
        tls_ca_bundle=params.get('tls_ca_path'),
        proxy=params.get('proxy'),
        timeout=params['timeout'],
        final_codes=params.get('final_error_codes') or (),
        signer_pattern=params.get('service_signer_pattern'),
    )


def wait_options(params):
    return dict(
        timeout=params['wait_timeout'],
        initial_delay=params['initial_delay'],
        interval=params['poll_interval'],
    )


def fail_from_error(module, error, **result):
    """Report a CertificateServiceError with its secret-free details."""
    result.update(error.details())
    module.fail_json(msg=error.message, **result)


STORE_ARGUMENT_SPEC = dict(
    path=dict(type='path', required=True),
    private_key_path=dict(type='path', required=True),
    private_key_passphrase=dict(type='str', no_log=True),
    key_size=dict(type='int', default=2048, choices=[2048, 3072, 4096]),
    owner=dict(type='str'),
    group=dict(type='str'),
    mode=dict(type='raw', default='0644'),
    backup=dict(type='bool', default=True),
    lock_timeout=dict(type='int', default=600),
)


def build_store(params):
    from ansible_collections.incomes_register.certificates.plugins.module_utils.file_ops import parse_mode
    from ansible_collections.incomes_register.certificates.plugins.module_utils.certificate_store import CertificateStore
    return CertificateStore(
        path=params['path'], private_key_path=params['private_key_path'],
        passphrase=params.get('private_key_passphrase') or None, state_path=state_path_for(params),
        owner=params.get('owner'), group=params.get('group'), certificate_mode=parse_mode(params.get('mode', '0644')),
        backup=params.get('backup', True))


def certificate_summary(description):
    """The part of a certificate description that a diff shows: nothing secret, nothing noisy."""
    if not description:
        return {}
    return dict((k, description.get(k)) for k in ('customer_id', 'serial', 'not_after', 'fingerprint_sha256'))


def run_lifecycle(module, flow):
    """Run one lifecycle flow (enroll, renew, retrieve) under the host lock and exit the module."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils import dependencies
    from ansible_collections.incomes_register.certificates.plugins.module_utils import lifecycle
    hide_proxy_password(module)
    params = module.params
    try:
        check_numbers(params)
    except CertificateServiceError as error:
        fail_from_error(module, error)
    dependencies.require_libraries(module, 'cryptography')

    def connect():
        # lxml, signxml and requests take ~0.13 s to import, as long as all the rest of a run that finds
        # nothing to renew (docs/benchmarks.md), so only a run that calls the service loads them. The
        # flows connect before they create a key or send anything, so a missing library still fails
        # the task with the usual message and nothing spent.
        dependencies.require_libraries(module, *dependencies.SERVICE_LIBRARIES)
        return build_client(params)

    try:
        store = build_store(params)
        store.check_paths()
        if module.check_mode:
            before = lifecycle.describe_installed(store)
            outcome = flow(store, connect, params, issuing_bundle(params),
                           wait_options(params), True)
            after = before
        else:
            with store.lock(params['lock_timeout']):
                before = lifecycle.describe_installed(store)
                outcome = flow(store, connect, params, issuing_bundle(params),
                               wait_options(params), False)
                after = lifecycle.describe_installed(store) if outcome.changed else before
    except CertificateServiceError as error:
        fail_from_error(module, error)
    result = outcome.as_dict()
    result['certificate'] = after
    result['path'] = params['path']
    result['private_key_path'] = params['private_key_path']
    result['state_path'] = state_path_for(params)
    if module._diff:
        result['diff'] = dict(before=certificate_summary(before), after=certificate_summary(after))
    module.exit_json(**result)
