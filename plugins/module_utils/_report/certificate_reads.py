# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What certificate_info reads on the managed host, for its action plugin to describe on the controller
(plugins/plugin_utils/certificate_report.py).

The host reads the files and uses the private key, which never leaves it. What goes to the controller is
public: the certificate's PEM block, the public half of the key, the issuing CA bundle's certificates.
Describing a certificate needs cryptography.x509, whose import is ~20 ms of CPU in every module run; the
controller pays it once for the whole inventory (docs/benchmarks.md). Loading a key needs only
cryptography's serialization, and a host whose audit reads no key needs no cryptography at all.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_reads
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateServiceError, LocalFileError, NOT_A_CERTIFICATE)

# The blocks cryptography's load_pem_x509_certificate accepts, so that the controller parses the one it would
# have taken from the file; a file with a key and its certificate in it (a combined install target) sends only
# the certificate.
_PEM_CERTIFICATE = re.compile(
    br'-----BEGIN (X509 )?CERTIFICATE-----\r?\n.+?\r?\n-----END (?(1)X509 )CERTIFICATE-----', re.DOTALL)

# What the inventory says a certificate is, shown when the file cannot tell (missing, unreadable).
LABELS = ('customer_id', 'environment')


def read(params):
    """What the controller needs to describe the certificate params names (path, and optionally
    private_key_path, private_key_passphrase, issuing_ca_path, LABELS). Never raises for a file: what could not be
    read is told in error (the certificate) and key_error (the key), so that an audit gets an answer from every
    certificate of every host."""
    path = params['path']
    # A certificate replaced by the renewal role whose services its handlers have not restarted since: the files
    # are new, the services may still use the old pair.
    mark = file_reads.read_change_mark(path) or {}
    found = dict(path=path, exists=False, error=None, certificate=None, public_key=None, key_error=None,
                 issuing_ca=None, change_mark=mark.get('path'), replaced_at=mark.get('replaced_at'),
                 replaced_not_after=mark.get('replaced_not_after'))
    for name in LABELS:
        if params.get(name):
            found[name] = params[name]
    try:
        data = file_reads.read_file(path)
    except LocalFileError as error:
        # A directory, a file the task may not read: reported, so the host's other certificates still are.
        found.update(exists=True, error=error.message)
        return found
    if data is None:
        found['error'] = 'No certificate at %s' % path
        return found
    found['exists'] = True
    try:
        found['certificate'] = _certificate_pem(data)
    except (CertificateServiceError, ValueError) as error:
        found['error'] = 'Cannot parse %s as a certificate: %s' % (path, error)
        return found
    if params.get('private_key_path'):
        found.update(_public_key(params['private_key_path'], params.get('private_key_passphrase')))
    if params.get('issuing_ca_path'):
        found['issuing_ca'] = _bundle(params['issuing_ca_path'])
    return found


def _certificate_pem(data):
    if b'-----BEGIN' not in data:
        # DER, which this host must parse to know it is a certificate and nothing else before it leaves. Imported
        # here: the audit's certificates are PEM, and this import is what the controller otherwise spares it.
        try:
            from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates
            from cryptography import x509  # noqa: F401, pylint: disable=unused-import
        except ImportError:
            raise ValueError('it is not PEM, and reading DER on this host needs the Python library cryptography')
        return certificates.certificate_to_pem(certificates.load_certificate(data)).decode('ascii').strip()
    match = _PEM_CERTIFICATE.search(data)
    if match is None:
        raise ValueError(NOT_A_CERTIFICATE)
    return match.group(0).decode('ascii', 'replace')


def _public_key(path, passphrase):
    """dict(public_key=the key's SubjectPublicKeyInfo, base64 DER), or dict(key_error=why it cannot be used)."""
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys
    try:
        data = file_reads.read_file(path)
        if data is None:
            return dict(key_error='No private key at %s' % path)
        key = keys.load_private_key(data, passphrase, for_signing=False)
    except (CertificateServiceError, IOError, OSError, ValueError) as error:
        return dict(key_error='Cannot load the private key %s: %s' % (path, error))
    return dict(public_key=keys.public_key_base64(key.public_key()))


def _bundle(path):
    """The CERTIFICATE blocks of the bundle at path, as PEM text, empty when it cannot be read (no chain then).
    Only those: a bundle is public, but nothing else in the file need be."""
    try:
        data = file_reads.read_file(path)
    except LocalFileError:
        return ''
    if data is None:
        return ''
    return '\n'.join(match.group(0).decode('ascii', 'replace') for match in _PEM_CERTIFICATE.finditer(data)
                     if not match.group(1))
