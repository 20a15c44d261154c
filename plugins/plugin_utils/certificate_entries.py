# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's certificates, each entry completed from the single-certificate variables.

Behind the certificate_entries filter (plugins/filter/certificate_entries.py) and the action plugins of
certificate_info, certificate_preflight and certificate_renew, which read the renewal role's variables of a host
without a template (docs/benchmarks.md), as the role completes them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections.abc import Mapping

# Each certificate key of the renewal role's variables: (key, variable, the role's default), the defaults of
# roles/renewal/defaults/main.yml (a unit test holds them equal), for a play that does not apply the role and
# so has none. A default in TRUST_FILES is that file of renewal_trust_dir, as the role's is.
ROLE_VARIABLES = (
    ('customer_id', 'renewal_customer_id', None),
    ('customer_name', 'renewal_customer_name', ''),
    ('environment', 'renewal_environment', 'TEST'),
    ('endpoint', 'renewal_endpoint', ''),
    ('service_ca_path', 'renewal_service_ca_path', None),
    ('issuing_ca_path', 'renewal_issuing_ca_path', None),
    ('tls_ca_path', 'renewal_tls_ca_path', ''),
    ('certificate_path', 'renewal_certificate_path', '/etc/incomes-register/certificate.pem'),
    ('private_key_path', 'renewal_private_key_path', '/etc/incomes-register/private/key.pem'),
    ('private_key_passphrase', 'renewal_private_key_passphrase', ''),
    ('owner', 'renewal_owner', ''),
    ('group', 'renewal_group', ''),
    ('mode', 'renewal_certificate_mode', '0644'),
)
ROLE_TRUST_DIR = ('renewal_trust_dir', '/etc/incomes-register/trust')
TRUST_FILES = {'service_ca_path': 'service-signing-ca.pem', 'issuing_ca_path': 'issuing-ca.pem'}
# As a row of fill_options' tables: the module's option and the role's variable.
ROLE_WINDOW = ('renew_before_days', 'renewal_renew_before_days')

# What certificate_info takes. Its environment has no default: the role's TEST would mislabel a production
# host's missing certificate.
INFO_KEYS = ('customer_id', 'environment', 'certificate_path', 'private_key_path', 'private_key_passphrase')
INFO_DEFAULTS = {'environment': None}
# What certificate_preflight takes: everything a renewal of the certificate reads but its files' ownership.
PREFLIGHT_KEYS = ('customer_id', 'customer_name', 'environment', 'endpoint', 'service_ca_path', 'issuing_ca_path',
                  'tls_ca_path', 'certificate_path', 'private_key_path', 'private_key_passphrase')
# What certificate_renew takes of each certificate (the role's renewal_module_certificates).
RENEW_KEYS = tuple(key for key, dummy, dummy in ROLE_VARIABLES)
# Every key of an entry of renewal_certificates (roles/renewal/meta/argument_specs.yml; a unit test holds them
# equal): the role refuses any other, and so does role mode, where the role's argument spec is not there to.
ENTRY_KEYS = RENEW_KEYS + ('install_targets', 'restart_services', 'reload_services')

# A module's options that the role sets for its service modules (roles/renewal/tasks/main.yml: module_defaults),
# (option, variable); filled where a task leaves them out (fill_options). No default of the role's here: each is
# the module's own (a unit test holds them equal), which a host without the variable gets.
ROLE_SERVICE_VARIABLES = (
    ('proxy', 'renewal_proxy'),
    ('timeout', 'renewal_timeout'),
    ('service_signer_pattern', 'renewal_service_signer_pattern'),
)
# And what the role decides of a renewal; its renew task gives the wait's options itself (the wave).
ROLE_RENEWAL_VARIABLES = (
    ('key_size', 'renewal_key_size'),
    ROLE_WINDOW,
    ('wait_timeout', 'renewal_wait_timeout'),
    ('initial_delay', 'renewal_initial_delay'),
    ('poll_interval', 'renewal_poll_interval'),
    ('final_error_codes', 'renewal_final_error_codes'),
    ('trust_src_dir', 'renewal_trust_src_dir'),
    ('trust_files', 'renewal_trust_files'),
    ('trust_dir', ROLE_TRUST_DIR[0]),
)


class EntryError(ValueError):
    pass


def _kind(value):
    # ansible-core 2.19 hands templated values over as its own subclasses (_AnsibleTaggedStr): name the base type.
    for kind in (bool, int, float, str, bytes, Mapping, list, tuple):
        if isinstance(value, kind):
            return 'dict' if kind is Mapping else kind.__name__
    return type(value).__name__


def _empty(value):
    return value is None or (isinstance(value, str) and value == '')


def certificate_entries(certificates, defaults, keys=None, exclude=(), skip_empty=False):
    """Each entry of `certificates` over `defaults`; none at all means one, `defaults` itself."""
    if certificates is None:
        certificates = []
    if isinstance(certificates, (str, bytes, Mapping)) or not hasattr(certificates, '__iter__'):
        raise EntryError('the certificates must be a list of dictionaries, not %s' % _kind(certificates))
    if not isinstance(defaults, Mapping):
        raise EntryError('defaults must be a dictionary, not %s' % _kind(defaults))
    entries = []
    for position, certificate in enumerate(list(certificates) or [{}]):
        if not isinstance(certificate, Mapping):
            raise EntryError('certificate %d is not a dictionary but %s' % (position + 1, _kind(certificate)))
        entry = dict(defaults)
        entry.update((name, value) for name, value in certificate.items() if not (skip_empty and _empty(value)))
        wanted = entry if keys is None else keys
        entries.append(dict((name, entry[name]) for name in wanted
                            if name in entry and name not in exclude and not (skip_empty and _empty(entry[name]))))
    return entries


def role_certificates(variable, keys, defaults=None):
    """A module's `certificates` for the certificates the renewal role keeps on a host, with only `keys`.

    `variable(name, default)` is the host's templated variable, or `default` where the host has none;
    `defaults` replaces the role's default of a key. An entry is completed as the role completes it: what it
    gives wins, an empty value too (the role reads an entry's empty passphrase as none, not as
    renewal_private_key_passphrase); an empty result is left out, so that the module takes its own."""
    defaults = defaults or {}
    role = {}
    for key, name, default in ROLE_VARIABLES:
        if key not in keys:
            continue
        if key in defaults:
            default = defaults[key]
        elif key in TRUST_FILES:
            default = '%s/%s' % (variable(*ROLE_TRUST_DIR), TRUST_FILES[key])
        role[key] = variable(name, default)
    certificates = variable('renewal_certificates', None)
    completed = certificate_entries(certificates, role, keys=list(role))
    for position, certificate in enumerate(certificates or []):
        # A misspelt key would otherwise leave its entry on the role's default: a certificate_path
        # misspelt is /etc/incomes-register/certificate.pem checked, or renewed, in its place.
        unknown = sorted(str(key) for key in certificate if key not in ENTRY_KEYS)
        if unknown:
            raise EntryError('certificate %d has %s, which the renewal role does not know (an entry takes %s)'
                             % (position + 1, ', '.join(unknown), ', '.join(ENTRY_KEYS)))
    return [dict((key, value) for key, value in entry.items() if not _empty(value)) for entry in completed]


def fill_options(args, variable, table):
    """Each option of table (option, variable) that args leaves out or gives as null, from the host's variable;
    without one, or with an empty one, the option stays out or null, so that the module takes its own default
    (role_action leaves a null out)."""
    for option, name in table:
        value = variable(name, None)
        if args.get(option) is None and not _empty(value):
            args[option] = value
