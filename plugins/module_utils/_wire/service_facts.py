# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about the certificate service that several layers need: its environments and their endpoints.

From certificate-service.md. The renewal window is renewal_policy's; the message formats are soap_messages'.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

ENDPOINTS = {
    'PRODUCTION': 'https://pkiws.vero.fi/2017/10/CertificateServices',
    'TEST': 'https://pkiws-testi.vero.fi/2017/10/CertificateServices',
}
ENVIRONMENTS = tuple(sorted(ENDPOINTS))
