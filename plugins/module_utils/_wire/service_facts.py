# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about the certificate service that several layers need: its environments and their endpoints.

From certificate-service.md. The renewal window is renewal_policy's; the message formats are soap_messages'.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from urllib.parse import urlsplit

ENDPOINTS = {
    'PRODUCTION': 'https://pkiws.vero.fi/2017/10/CertificateServices',
    'TEST': 'https://pkiws-testi.vero.fi/2017/10/CertificateServices',
}
ENVIRONMENTS = tuple(sorted(ENDPOINTS))
# Whose hosts the endpoints above are on; other channels of the same service (certificate-service.md: the Positive
# Credit Register) have endpoints of their own, presumably there too.
TAX_ADMINISTRATION_DOMAIN = 'vero.fi'


def is_tax_administration(endpoint):
    """Whether endpoint is a host of the Tax Administration's, where the sandbox's meanings of codes do not hold."""
    host = (urlsplit(endpoint or '').hostname or '').rstrip('.')
    return host == TAX_ADMINISTRATION_DOMAIN or host.endswith('.' + TAX_ADMINISTRATION_DOMAIN)
