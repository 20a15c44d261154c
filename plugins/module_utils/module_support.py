# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lifecycle modules (request, renew, retrieve) share: client and store construction, and the
run under the host lock. Their options are argspec's.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.incomes_register.certificates.plugins.module_utils.argspec import fail_from_error
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError
from ansible_collections.incomes_register.certificates.plugins.module_utils.renewal_policy import (
    MAX_RENEW_BEFORE_DAYS)


def load_trust(path, what):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import load_pem_bundle
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.file_ops import read_file
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
    from ansible_collections.incomes_register.certificates.plugins.module_utils._wire.service_client import (
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


def build_store(params):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.file_ops import parse_mode
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store.certificate_store import CertificateStore
    return CertificateStore(
        path=params['path'], private_key_path=params['private_key_path'],
        passphrase=params.get('private_key_passphrase') or None, state_path=params.get('state_path'),
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
    params = module.params
    dependencies.require_libraries(module, 'cryptography')
    # The window the result describes the certificate against is the task's, not the service's limit.
    window = params.get('renew_before_days') or MAX_RENEW_BEFORE_DAYS

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
            before = lifecycle.describe_installed(store, window)
            outcome = flow(store, connect, params, issuing_bundle(params),
                           wait_options(params), True)
            after = before
        else:
            with store.lock(params['lock_timeout']):
                before = lifecycle.describe_installed(store, window)
                outcome = flow(store, connect, params, issuing_bundle(params),
                               wait_options(params), False)
                after = lifecycle.describe_installed(store, window) if outcome.changed else before
    except CertificateServiceError as error:
        fail_from_error(module, error)
    result = outcome.as_dict()
    result['certificate'] = after
    result['path'] = params['path']
    result['private_key_path'] = params['private_key_path']
    result['state_path'] = store.state_path
    if module._diff:
        result['diff'] = dict(before=certificate_summary(before), after=certificate_summary(after))
    module.exit_json(**result)
