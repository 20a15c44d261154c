# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file layouts a certificate can be deployed in for the software that calls the service.

render_layout returns {role: bytes}; the install module maps roles to paths:
- 'pem':       certificate (leaf PEM), private_key (PKCS#8 PEM), chain (CA PEMs; only when there are any)
- 'combined':  combined = private key, then leaf, then chain, in that order (what HAProxy and
               most single-file consumers expect)
- 'fullchain': fullchain = leaf, then chain; private_key beside it, since a full chain alone
               cannot authenticate anything
- 'pkcs12':    pkcs12 = key, leaf (with friendly name) and chain, encrypted with the passphrase

Chain order is the order given: issuer first, as verify_chain's path[1:] yields it.
Private keys in PEM layouts are unencrypted PKCS#8 (serialization is then deterministic, so
unchanged content is recognised byte for byte); protect them with mode 0600. PKCS#12 output
has a random salt and IV, so compare it with pkcs12_matches rather than by bytes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import certificate_to_pem

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

LAYOUTS = ('pem', 'combined', 'fullchain', 'pkcs12')
# The option that names the destination of each role.
DESTINATION_OPTION = {
    'certificate': 'dest', 'combined': 'dest', 'fullchain': 'dest', 'pkcs12': 'dest',
    'private_key': 'private_key_dest', 'chain': 'chain_dest',
}
# Roles whose file holds the private key: written with private_key_mode, never shown in a diff.
SECRET_ROLES = ('private_key', 'combined', 'pkcs12')

# Any PEM private key (PKCS#8, RSA, EC, encrypted, OpenSSH, PGP), also with damaged dashes or lower case.
_PRIVATE_KEY_MARKER = re.compile(br'BEGIN[A-Z0-9 ]*PRIVATE KEY', re.IGNORECASE)
_CONTROL_CHARACTERS = re.compile(r'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')


def holds_key_material(data):
    """True when data may carry a private key: a PEM private key block, or anything that is not text, such
    as a PKCS#12 keystore or a DER key, whose bytes a diff would show as they are."""
    if not data:
        return False
    if _PRIVATE_KEY_MARKER.search(data):
        return True
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        return True
    return bool(_CONTROL_CHARACTERS.search(text))


def _chain_pem(chain):
    return b''.join(certificate_to_pem(cert) for cert in chain)


def _bytes(value):
    if value is None or isinstance(value, bytes):
        return value
    return value.encode('utf-8')


def pkcs12_bytes(private_key, certificate, chain, passphrase, friendly_name=None):
    passphrase = _bytes(passphrase)
    if not passphrase:
        raise ValueError('A PKCS#12 file needs a non-empty passphrase')
    return pkcs12.serialize_key_and_certificates(
        name=_bytes(friendly_name), key=private_key, cert=certificate, cas=list(chain) or None,
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase))


def render_layout(layout, certificate, private_key, chain, passphrase=None, friendly_name=None):
    """{role: bytes} for layout; see the module docstring for roles and order."""
    chain = list(chain)
    leaf = certificate_to_pem(certificate)
    if layout == 'pkcs12':
        return {'pkcs12': pkcs12_bytes(private_key, certificate, chain, passphrase, friendly_name)}
    key = keys.serialize_private_key(private_key)
    if layout == 'pem':
        files = {'certificate': leaf, 'private_key': key}
        if chain:
            files['chain'] = _chain_pem(chain)
        return files
    if layout == 'combined':
        return {'combined': key + leaf + _chain_pem(chain)}
    if layout == 'fullchain':
        return {'fullchain': leaf + _chain_pem(chain), 'private_key': key}
    raise ValueError('Unknown layout %r; expected one of %s' % (layout, ', '.join(LAYOUTS)))


def _private_der(private_key):
    return private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def pkcs12_matches(existing_bytes, passphrase, private_key, certificate, chain, friendly_name=None):
    """True when existing_bytes opens with passphrase and holds exactly this key, leaf, friendly name
    and chain (in order). Anything unreadable counts as different, so the file gets rewritten."""
    if not existing_bytes:
        return False
    try:
        loaded = pkcs12.load_pkcs12(existing_bytes, _bytes(passphrase))
    except (ValueError, TypeError):
        return False
    if loaded.key is None or loaded.cert is None:
        return False
    if _private_der(loaded.key) != _private_der(private_key):
        return False
    if loaded.cert.certificate != certificate or loaded.cert.friendly_name != _bytes(friendly_name):
        return False
    return [extra.certificate for extra in loaded.additional_certs] == list(chain)
