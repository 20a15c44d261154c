# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file layouts a certificate can be deployed in for the software that calls the service.

LAYOUTS is the registry: one Layout per name, holding everything the install module asks of a layout
(the files it writes, the options it reads, how it renders them and recognises them on disk):
- 'pem':       certificate (leaf PEM), private_key (PKCS#8 PEM), chain (CA PEMs; only when there are any
               and chain_dest is set)
- 'combined':  combined = private key, then leaf, then chain, in that order (what HAProxy and
               most single-file consumers expect)
- 'fullchain': fullchain = leaf, then chain; private_key beside it, since a full chain alone
               cannot authenticate anything
- 'pkcs12':    pkcs12 = key, leaf (with friendly name) and chain, encrypted with the passphrase

Chain order is the order given: issuer first, as verify_chain's path[1:] yields it.
Private keys in PEM layouts are unencrypted PKCS#8 (serialization is then deterministic, so
unchanged content is recognised byte for byte); protect them with mode 0600. PKCS#12 output
has a random salt and IV, so that layout compares by what the file holds (pkcs12_matches).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import certificate_to_pem
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
except ImportError:
    # dependencies.require_libraries fails the module with Ansible's usual message before this is used.
    pass

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


class LayoutFile(object):
    """One file of a layout. role names it in the module's result; option is the module option that holds its
    path. A secret file holds the private key: written with private_key_mode, never shown in a diff. An
    optional file is written only when its option is set and there is something to write (the chain)."""

    def __init__(self, role, option, secret=False, optional=False):
        self.role = role
        self.option = option
        self.secret = secret
        self.optional = optional


def _same_bytes(existing, rendered, certificate, private_key, chain, options):
    return existing == rendered


class Layout(object):
    """A layout: its files, the options that shape its content (render_options, of which required_options
    it cannot do without), render() -> {role: bytes}, and matches() for whether a file on disk already holds
    what render() gave, byte for byte unless the layout says otherwise."""

    def __init__(self, name, files, render, render_options=(), required_options=(), matches=_same_bytes):
        self.name = name
        self.files = tuple(files)
        self.render_options = tuple(render_options)
        self.required_options = tuple(required_options)
        self._render = render
        self._matches = matches

    @property
    def destinations(self):
        """The options that name the files this layout writes."""
        return tuple(entry.option for entry in self.files)

    @property
    def options(self):
        """Every option this layout reads: its destinations, then what shapes the content."""
        return self.destinations + self.render_options

    @property
    def required(self):
        """The options without which this layout refuses to install."""
        return tuple(entry.option for entry in self.files if not entry.optional) + self.required_options

    def check_options(self, params):
        # Called while planning, so a task missing an option is refused before anything is written.
        for option in self.required_options:
            if not params.get(option):
                raise CertificateServiceError('layout=%s needs %s' % (self.name, option))
        for entry in self.files:
            if not entry.optional and not params.get(entry.option):
                raise CertificateServiceError('layout=%s writes a %s file: set %s' % (self.name, entry.role, entry.option))
        # Another layout's destination left in a target (private_key_dest for combined) would be ignored, and the
        # file its author expects never written. Only destinations: a keystore's passphrase or friendly name given
        # once for the task is inherited by every target, whatever its layout.
        destinations = set(option for layout in LAYOUTS.values() for option in layout.destinations)
        for option in sorted(destinations - set(self.destinations)):
            if params.get(option) not in (None, ''):
                raise CertificateServiceError(
                    'layout=%s does not write %s: leave it out, or choose a layout that does (%s).'
                    % (self.name, option, ', '.join(name for name, layout in sorted(LAYOUTS.items())
                                                    if option in layout.destinations)))

    def render(self, certificate, private_key, chain, options=None):
        """{role: bytes}; an optional file with nothing to hold is left out."""
        return self._render(certificate, private_key, list(chain), options or {})

    def matches(self, existing, rendered, certificate, private_key, chain, options=None):
        """True when existing (a destination's bytes, None when absent) already holds rendered's content."""
        return self._matches(existing, rendered, certificate, private_key, list(chain), options or {})


def _render_pem(certificate, private_key, chain, options):
    files = {'certificate': certificate_to_pem(certificate), 'private_key': keys.serialize_private_key(private_key)}
    if chain:
        files['chain'] = _chain_pem(chain)
    return files


def _render_combined(certificate, private_key, chain, options):
    return {'combined': keys.serialize_private_key(private_key) + certificate_to_pem(certificate) + _chain_pem(chain)}


def _render_fullchain(certificate, private_key, chain, options):
    return {'fullchain': certificate_to_pem(certificate) + _chain_pem(chain),
            'private_key': keys.serialize_private_key(private_key)}


def _render_pkcs12(certificate, private_key, chain, options):
    return {'pkcs12': pkcs12_bytes(private_key, certificate, chain, options.get('pkcs12_passphrase'),
                                   options.get('friendly_name'))}


def _pkcs12_content_matches(existing, rendered, certificate, private_key, chain, options):
    # rendered was encrypted with a fresh salt and IV, so its bytes never equal the file's.
    return pkcs12_matches(existing, options.get('pkcs12_passphrase'), private_key, certificate, chain,
                          options.get('friendly_name'))


LAYOUTS = dict((layout.name, layout) for layout in (
    Layout('pem', [LayoutFile('certificate', 'dest'), LayoutFile('private_key', 'private_key_dest', secret=True),
                   LayoutFile('chain', 'chain_dest', optional=True)], _render_pem),
    Layout('combined', [LayoutFile('combined', 'dest', secret=True)], _render_combined),
    Layout('fullchain', [LayoutFile('fullchain', 'dest'), LayoutFile('private_key', 'private_key_dest', secret=True)],
           _render_fullchain),
    Layout('pkcs12', [LayoutFile('pkcs12', 'dest', secret=True)], _render_pkcs12,
           render_options=('pkcs12_passphrase', 'friendly_name'), required_options=('pkcs12_passphrase',),
           matches=_pkcs12_content_matches),
))


def by_name(name):
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError('Unknown layout %r; expected one of %s' % (name, ', '.join(LAYOUTS))) from None
