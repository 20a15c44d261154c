# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which third-party Python libraries are importable on this host, for missing_required_lib."""

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


def import_error(name):
    """The traceback of importing the library, or None when it imports."""
    try:
        importlib.import_module(_IMPORT_NAMES[name])
    except ImportError:
        return traceback.format_exc()
    return None
