# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What certificate_info reads on the managed host, for its action plugin to describe on the controller
(plugins/plugin_utils/certificate_report.py).

The host reads the files and uses the private key, which never leaves it. What goes to the controller is
public: the certificate (the DER of its PEM block), the public half of the key, the issuing CA bundle's
certificates.

Describing a certificate needs cryptography.x509, whose import is ~20 ms of CPU in every module run; the
controller pays it once for the whole inventory (docs/benchmarks.md). Loading a key needs only
cryptography's serialization, and a host whose audit reads no key needs no cryptography at all.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import hashlib
import json
import os
import re

from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_reads
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateServiceError, LocalFileError, NOT_A_CERTIFICATE)

_BEGIN = re.compile(r'-----BEGIN ([A-Z0-9 ]+)-----\Z')
_BASE64_LINE = re.compile(r'[A-Za-z0-9+/=]+\Z')
# RFC 1421 headers, which an old encrypted key's block has before its body.
_HEADER = re.compile(r'[A-Za-z0-9-]+: ')
# The labels cryptography's load_pem_x509_certificate takes a certificate from; load_pem_bundle takes the first.
_CERTIFICATE_LABELS = ('CERTIFICATE', 'X509 CERTIFICATE')

# What the inventory says a certificate is, shown when the file cannot tell (missing, unreadable).
LABELS = ('customer_id', 'environment')

# A request in flight is in the certificate's state file, which _store/pending_request.py writes and is the only code
# to act on. It is read here without importing that module, which every audited host would compile (~4 ms of CPU;
# docs/benchmarks.md); a unit test holds these names to pending_request's, lifecycle's and certificate_store's. Only
# these fields leave the host: the file holds no secret, but an old one may hold an endpoint with a user name, and a
# TransferID is the enrollment's.
STATE_SUFFIX = '.state.json'
ANSWER_SUFFIX = '.answer.xml'
STATE_VERSION = 1
OPERATIONS = ('sign', 'renew')
PHASES = ('prepared', 'sent', 'submitted', 'retrieved')
# The phases that record a RetrievalId (pending_request.RESUMABLE_PHASES).
RESUMABLE_PHASES = ('submitted', 'retrieved')
# replaces_retrieval_id: a waiting renewal this one was sent in place of, for the same key (lifecycle.REPLACES).
REQUEST_FIELDS = ('operation', 'phase', 'retrieval_id', 'created', 'updated', 'submitted_at', 'replaces_retrieval_id')
# Recorded when the service refused a renewal sent again for the same key (lifecycle.RESUBMIT_REFUSED), and the
# digest of an answer kept beside the file (pending_request.keep_answer), without which the answer is not used.
RESUBMIT_REFUSED = 'resubmit_refused_at'
ANSWER_DIGEST = 'answer_sha256'
# A key a renewal that got no answer set aside (certificate_store.SET_ASIDE and SET_ASIDE_TIME), in case the service
# issued for it. Only names of that form: the run that installs a renewal removes those, not a copy beside them.
SET_ASIDE_INFIX = '.new.unanswered-'
_SET_ASIDE_TIME = re.compile(r'[0-9]{8}T[0-9]{6}Z\Z')
# A state file is a few hundred bytes; one that keeps a refused certificate a few kB.
_STATE_LIMIT = 1024 * 1024


def read(params):
    """What the controller needs to describe the certificate params names (path, and optionally
    private_key_path, private_key_passphrase, issuing_ca_path, state_path, LABELS). Never raises for a file: what
    could not be read is told in error (the certificate) and key_error (the key), so that an audit gets an answer
    from every certificate of every host."""
    return _in_flight(_read_certificate(params), params)


def _read_certificate(params):
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
        found['certificate'] = _certificate_der(data)
    except (CertificateServiceError, ValueError) as error:
        found['error'] = 'Cannot parse %s as a certificate: %s' % (path, error)
        return found
    if params.get('private_key_path'):
        found.update(_public_key(params['private_key_path'], params.get('private_key_passphrase')))
    if params.get('issuing_ca_path'):
        found['issuing_ca'] = _bundle(params['issuing_ca_path'])
    return found


def _in_flight(found, params):
    """found with request (what the state file says is in flight, or None) and set_aside_keys (the paths of keys
    set aside by renewals that got no answer): a request is told also for a missing or unreadable certificate, as
    an enrollment's is."""
    found['request'] = _request(params.get('state_path') or params['path'] + STATE_SUFFIX, params.get('private_key_path'))
    found['set_aside_keys'] = _set_aside_keys(params['private_key_path']) if params.get('private_key_path') else []
    return found


def _request(state_path, private_key_path=None):
    """What the state file at state_path records: None when there is no file; dict(state_path, error) when it
    cannot be read (something may be in flight all the same); else REQUEST_FIELDS (each a short string or None),
    state_path, error None, refused (why the modules would refuse the file, or None), answer_kept (an answer the
    modules would check again), certificate_kept and resubmit_refused."""
    try:
        data = file_reads.read_regular_file(state_path, limit=_STATE_LIMIT + 1)
    except LocalFileError as error:
        return dict(state_path=state_path, error=error.message)
    if data is None:
        return None
    if len(data) > _STATE_LIMIT:
        return dict(state_path=state_path, error='%s is larger than %d bytes, which no state file of this collection '
                    'is' % (state_path, _STATE_LIMIT))
    try:
        fields = json.loads(data.decode('utf-8'))
    except (ValueError, RecursionError):
        fields = None
    if not isinstance(fields, dict):
        return dict(state_path=state_path, error='%s is not a state file of this collection (not a JSON object)'
                    % state_path)
    answer_kept, answer_refused = _kept_answer(state_path, fields)
    found = dict(state_path=state_path, error=None,
                 refused=_refused(state_path, fields, private_key_path) or answer_refused, answer_kept=answer_kept,
                 certificate_kept=bool(fields.get('certificate')), resubmit_refused=bool(fields.get(RESUBMIT_REFUSED)))
    for name in REQUEST_FIELDS:
        value = fields.get(name)
        found[name] = value if isinstance(value, str) and 0 < len(value) <= 64 else None
    return found


def _refused(state_path, fields, private_key_path):
    """Why the modules would refuse this state file, as pending_request reads and loads it, or None. Not its
    owner: that is checked against the user the modules run as, which need not be the audit's."""
    mode = _open_mode(state_path)
    if mode:
        return 'it %s' % mode
    if fields.get('version') != STATE_VERSION:
        return 'it has version %r, not %d' % (fields.get('version'), STATE_VERSION)
    if fields.get('operation') not in OPERATIONS or fields.get('phase') not in PHASES:
        return 'it records operation %r and phase %r' % (fields.get('operation'), fields.get('phase'))
    if fields['phase'] in RESUMABLE_PHASES and not fields.get('retrieval_id'):
        return 'it is %s but has no retrieval_id' % fields['phase']
    # PendingRequest.load: the key the request was made for must be the one the task keeps beside its key.
    named = fields.get('new_key_path')
    if private_key_path and named is not None and named != private_key_path + '.new':
        return ('it names %r as the key of the request, and the modules take it only when run with the '
                'private_key_path that started it' % (named,))
    if fields.get('certificate'):
        try:
            base64.b64decode(fields['certificate'], validate=True)
        except (binascii.Error, TypeError, ValueError):
            return 'the certificate it keeps is not base64'
    return None


def _open_mode(path):
    """'has mode 0644, open to group or others' (or why the mode cannot be read), or None for a private file."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as error:
        return 'cannot be inspected (%s)' % (error.strerror or error)
    if mode & 0o077:
        return 'has mode %04o, open to group or others' % (mode & 0o7777)
    return None


def _kept_answer(state_path, fields):
    """(whether the answer kept beside the state file is one the modules would check again, why they would refuse
    it or None): only one whose digest the file records, in a private regular file (PendingRequest.kept_answer)."""
    digest = fields.get(ANSWER_DIGEST)
    if not digest or fields.get('phase') != 'sent':
        return False, None
    path = state_path + ANSWER_SUFFIX
    try:
        data = file_reads.read_regular_file(path, limit=_STATE_LIMIT + 1)
    except LocalFileError as error:
        return False, 'its kept answer cannot be read (%s)' % error.message
    if data is None or hashlib.sha256(data).hexdigest() != digest:
        return False, None
    mode = _open_mode(path)
    if mode:
        return False, 'its kept answer %s %s' % (path, mode)
    return True, None


def _set_aside_keys(private_key_path):
    directory, name = os.path.split(private_key_path)
    try:
        names = os.listdir(directory or '.')
    except OSError:
        return []
    prefix = name + SET_ASIDE_INFIX
    return sorted(os.path.join(directory, entry) for entry in names
                  if entry.startswith(prefix) and _SET_ASIDE_TIME.match(entry[len(prefix):]))


def _pem_blocks(data):
    """[(label, DER bytes)] of every block in data when all of them are cleanly framed (BEGIN and END lines as
    written, base64 lines between, headers only in a block that is no certificate), else None. Only then does the
    host pick the certificate itself; any other file is cryptography's to read, on the host, as before. A block's
    bytes are its own: a loose pattern over a file with a damaged certificate block ran on into the key after it."""
    blocks, label, body = [], None, None
    for line in data.decode('latin-1').split('\n'):
        line = line[:-1] if line.endswith('\r') else line
        if label is None:
            begin = _BEGIN.match(line)
            if begin:
                label, body = begin.group(1), []
            elif '-----BEGIN' in line or '-----END' in line or line.startswith('-----'):
                return None
        elif line == '-----END %s-----' % label:
            text = ''.join(body)
            try:
                der = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                return None
            # Canonical base64 only, as cryptography's reader takes it.
            if not der or base64.b64encode(der).decode('ascii') != text:
                return None
            blocks.append((label, der))
            label = None
        elif _BASE64_LINE.match(line):
            body.append(line)
        elif label in _CERTIFICATE_LABELS or body or (line and not _HEADER.match(line)):
            # Only a block that is no certificate may have headers, and a blank line after them, before its body.
            return None
    return None if label is not None else blocks


def _certificate_der(data):
    """The certificate's DER in base64: of the file's first certificate block, or, for DER and any PEM not cleanly
    framed, of what cryptography reads from the file on this host."""
    blocks = _pem_blocks(data) if b'-----BEGIN' in data else None
    if blocks is None:
        return base64.b64encode(_parsed_on_host(data)).decode('ascii')
    for label, der in blocks:
        if label in _CERTIFICATE_LABELS:
            if not certificate_shaped(der):
                raise ValueError(NOT_A_CERTIFICATE)
            return base64.b64encode(der).decode('ascii')
    raise ValueError(NOT_A_CERTIFICATE)


def _tlv(der, offset):
    """(tag, start of the contents, end of the contents) of the DER element at offset; ValueError when its length
    is not one DER allows or runs past the data."""
    if offset + 2 > len(der):
        raise ValueError('truncated')
    tag, first = der[offset], der[offset + 1]
    if first < 0x80:
        start, length = offset + 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or offset + 2 + count > len(der):
            raise ValueError('bad length')
        start, length = offset + 2 + count, int.from_bytes(der[offset + 2:offset + 2 + count], 'big')
    if start + length > len(der):
        raise ValueError('truncated')
    return tag, start, start + length


def certificate_shaped(der):
    """Whether der has an X.509 certificate's outer shape: one SEQUENCE, nothing after it, opening with the
    SEQUENCE of the signed part, whose first element is its version ([0]) or, in version 1, its serial number.
    Not a parse (the controller's cryptography parses): a guard on what leaves the host. A private key
    (PKCS#1, SEC1 and PKCS#8 open with an INTEGER, an encrypted PKCS#8 with an algorithm's OID) put under a
    CERTIFICATE label by hand fails it, and is not sent."""
    try:
        tag, start, end = _tlv(der, 0)
        if tag != 0x30 or end != len(der):
            return False
        tag, inner, dummy = _tlv(der, start)
        if tag != 0x30:
            return False
        tag, dummy, dummy = _tlv(der, inner)
        return tag in (0xA0, 0x02)
    except ValueError:
        return False


def _certificates_on_host():
    """_crypto/certificates, for a file this host must read with cryptography so that nothing but a certificate
    leaves; ValueError when cryptography is missing. Imported here: the audit's certificates are cleanly framed PEM,
    and this import is what the controller otherwise spares every host."""
    try:
        from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates
        from cryptography import x509  # noqa: F401, pylint: disable=unused-import
    except ImportError:
        raise ValueError('reading this file on this host needs the Python library cryptography') from None
    return certificates


def _parsed_on_host(data):
    """The DER of the certificate cryptography reads from data."""
    certificates = _certificates_on_host()
    return certificates.certificate_to_der(certificates.load_certificate(data))


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
    """The DER of each CERTIFICATE block of the bundle at path, in base64; none when it cannot be read (no chain
    then). Only those: a bundle is public, but nothing else in the file need be."""
    try:
        data = file_reads.read_file(path)
    except LocalFileError:
        return []
    if data is None:
        return []
    blocks = _pem_blocks(data)
    if blocks is not None:
        certificates = [der for label, der in blocks if label == 'CERTIFICATE']
        # A block that is no certificate made the whole bundle unreadable before this split; it still does.
        if not all(certificate_shaped(der) for der in certificates):
            return []
        return [base64.b64encode(der).decode('ascii') for der in certificates]
    try:
        certificates = _certificates_on_host()
        return [base64.b64encode(certificates.certificate_to_der(cert)).decode('ascii')
                for cert in certificates.load_pem_bundle(data)]
    except (CertificateServiceError, ValueError):
        return []
