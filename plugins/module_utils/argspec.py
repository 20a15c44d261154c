# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks every module's options get before it does anything else, and the AnsibleModule built with them.

Light on purpose: certificate_info imports this and nothing of the service, so its payload carries neither the
service client nor the service options (service_options), and each module run compiles every file it imports
from its payload, twice (docs/benchmarks.md).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateServiceError, RequestValidationError)
from ansible_collections.incomes_register.certificates.plugins.module_utils.renewal_policy import (
    MAX_RENEW_BEFORE_DAYS)

WINDOW = dict(
    renew_before_days=dict(type='int', default=MAX_RENEW_BEFORE_DAYS),
)


def entry_params(params, entry, listed):
    """The options of one entry of params[listed] (`certificates`, `targets`): what the entry gives over the task's.
    An empty value is a value left out: the role and the playbooks give every entry each key, empty for "the
    task's". The list itself is not the entry's."""
    merged = dict(params)
    merged.update((name, value) for name, value in entry.items() if value not in (None, ''))
    merged[listed] = None
    return merged


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


# The user information of a URL anywhere in a string: an option may hold a URL as given (an entry of certificates as
# JSON or key=value text, which Ansible turns into a dict only while it validates the arguments).
# Up to the last @ before the host, as urlsplit reads it: a password with an @ left unescaped is still one password.
_URL_USERINFO = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*://([^/?#\s]+)@')
# A user name without a password is masked only when it is this long: it may be a token (https://TOKEN@host), while
# masking a short one (ops) would mask that word everywhere in the output.
TOKEN_LENGTH = 8


def url_secrets(value):
    """What of the URLs in value (the module's arguments, before or after validation, searched through) must never
    be shown: a URL's password (a proxy's http://user:password@host), or, without one, a user name long enough to be
    a token. An endpoint with either is refused (service_facts.checked_endpoint), but the refusal must not show it."""
    found = set()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for item in value:
            found.update(url_secrets(item))
    elif isinstance(value, str) and '@' in value:
        for userinfo in _URL_USERINFO.findall(value):
            user, colon, password = userinfo.partition(':')
            if password:
                found.add(password)
            elif not colon and len(user) >= TOKEN_LENGTH:
                found.add(user)
    return found


class _Module(AnsibleModule):
    """AnsibleModule that masks url_secrets from the moment the arguments are read, and again once they are
    validated: a module fails on a bad option inside AnsibleModule.__init__, and that failure shows every argument
    in its invocation."""

    def _load_params(self):
        super(_Module, self)._load_params()
        self.no_log_values.update(url_secrets(self.params))


def fail_from_error(module, error, **result):
    """Report a CertificateServiceError with its secret-free details."""
    result.update(error.details())
    module.fail_json(msg=error.message, **result)


def create_module(*specs, **options):
    """The AnsibleModule of specs merged (later ones win), its numbers checked and URL passwords masked.

    options are AnsibleModule's keyword arguments; supports_check_mode defaults to True.
    """
    argument_spec = {}
    for spec in specs:
        argument_spec.update(spec)
    options.setdefault('supports_check_mode', True)
    module = _Module(argument_spec=argument_spec, **options)
    module.no_log_values.update(url_secrets(module.params))
    try:
        check_numbers(module.params)
        check_signer_pattern(module.params)
    except CertificateServiceError as error:
        fail_from_error(module, error)
    return module
