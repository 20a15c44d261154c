# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts about the certificate service that several layers need: its environments and their endpoints.

From certificate-service.md. The renewal window is renewal_policy's; the message formats are soap_messages'.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from urllib.parse import urlsplit

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import RequestValidationError

ENDPOINTS = {
    'PRODUCTION': 'https://pkiws.vero.fi/2017/10/CertificateServices',
    'TEST': 'https://pkiws-testi.vero.fi/2017/10/CertificateServices',
}
ENVIRONMENTS = tuple(sorted(ENDPOINTS))


def resolve_endpoint(environment, endpoint=None):
    """The service URL: endpoint when given, else the Incomes Register URL of environment."""
    if environment not in ENDPOINTS:
        raise RequestValidationError('environment must be one of %s.' % ', '.join(ENVIRONMENTS))
    return checked_endpoint(endpoint or ENDPOINTS[environment])


def checked_endpoint(url):
    """url, refused unless it is an https:// URL with a host and without a user name or password."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        parts, hostname = None, None
    if parts is None or parts.scheme != 'https' or not hostname:
        raise RequestValidationError('endpoint must be an https:// URL of the certificate service.')
    if parts.username is not None or parts.password is not None:
        # No public client sends HTTP credentials: the caller is known by the TransferID or the signature on the
        # message, over server-only TLS (certificate-service.md). A password in the URL would also be written to
        # the state file, which records the endpoint. If the real service wanted one, this refusal says so first.
        raise RequestValidationError('endpoint must not hold a user name or password (https://user:password@host): '
                                     'the service identifies the caller by its certificate. Give the URL without '
                                     'them. Nothing was sent.')
    return url
