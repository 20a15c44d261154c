# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which third-party Python libraries are importable on this host, and the module failure when one is not.

Kept apart from module_support so that a module needing only cryptography (certificate_info) does not
carry the service client in its payload.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import traceback

_IMPORT_NAMES = {
    'cryptography': 'cryptography.x509',
    'lxml': 'lxml.etree',
    'signxml': 'signxml',
    'requests': 'requests',
}

SERVICE_LIBRARIES = ('cryptography', 'lxml', 'signxml', 'requests')

# What certificate_info needs of cryptography on the host: loading a private key. It describes certificates on the
# controller, and importing cryptography.x509 here would cost every audited host what that spares it.
KEYS = 'cryptography.hazmat.primitives.serialization'


def import_error(name, purpose=None):
    """The traceback of importing the library (its purpose module when given), or None when it imports."""
    try:
        importlib.import_module(purpose or _IMPORT_NAMES[name])
    except ImportError:
        return traceback.format_exc()
    return None


def require_libraries(module, *names, purpose=None):
    """Fail with Ansible's standard message when a Python library is missing on the managed host; purpose= names
    the module of a single library that is all the caller needs."""
    from ansible.module_utils.basic import missing_required_lib
    for name in names:
        error = import_error(name, purpose)
        if error:
            module.fail_json(msg=missing_required_lib(name), exception=error)
