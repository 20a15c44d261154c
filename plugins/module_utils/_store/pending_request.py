# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The request in flight for one certificate, and the state file that records it: PendingRequest is the
only code that reads or writes that file, so a later run resumes instead of repeating.

The transfer credentials work once: a run that crashes after sending SignNewCertificate must not
send them again, and must be able to fetch the certificate with the RetrievalId it was given.
The record is written before sending ('prepared'), marked 'sent' when the outcome is unknown and
'submitted' once the RetrievalId is known, and 'retrieved' once the verified certificate waits
beside the old one for the swap.

Fields: version, operation ('sign'|'renew'), phase ('prepared'|'sent'|'submitted'|'retrieved'), customer_id,
environment, endpoint, transfer_id (sign only), retrieval_id, new_key_path, csr_sha256, certificate (the base64
DER of a retrieved certificate refused for a cause that can pass, see keep_certificate), created, updated. Other
plain JSON fields are kept as given. Secrets are refused, never stored.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import datetime
import hashlib
import json
import os
from urllib.parse import urlsplit, urlunsplit

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import LocalFileError, StateError
from ansible_collections.incomes_register.certificates.plugins.module_utils._store.file_ops import (
    PRIVATE_FILE_MODE, atomic_write, check_private_file, discard, fsync_directory)
from ansible_collections.incomes_register.certificates.plugins.module_utils._store.file_reads import read_regular_file

STATE_VERSION = 1
OPERATIONS = ('sign', 'renew')
PREPARED = 'prepared'
SENT = 'sent'
SUBMITTED = 'submitted'
RETRIEVED = 'retrieved'
PHASES = (PREPARED, SENT, SUBMITTED, RETRIEVED)
# A RetrievalId is known: a later run only polls GetCertificate or finishes the swap.
RESUMABLE_PHASES = (SUBMITTED, RETRIEVED)
_SECRET_KEY_WORDS = ('password', 'passphrase')
_PRIVATE_KEY_MARKER = 'PRIVATE KEY-----'


def now_text():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _find_secret(value, where):
    """Where in value a secret sits (a key path, never the secret itself), or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            location = '%s.%s' % (where, key) if where else str(key)
            if any(word in str(key).lower() for word in _SECRET_KEY_WORDS):
                return location
            found = _find_secret(item, location)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find_secret(item, '%s[%d]' % (where, index))
            if found:
                return found
    elif isinstance(value, (str, bytes)):
        text = value.decode('latin-1') if isinstance(value, bytes) else value
        if _PRIVATE_KEY_MARKER in text:
            return where
    return None


def _check_shape(state, path):
    if not isinstance(state, dict):
        raise StateError('The state in %s is not a JSON object' % path)
    if state.get('operation') not in OPERATIONS:
        raise StateError('The state in %s has operation %r; expected one of %s'
                         % (path, state.get('operation'), ', '.join(OPERATIONS)))
    if state.get('phase') not in PHASES:
        raise StateError('The state in %s has phase %r; expected one of %s'
                         % (path, state.get('phase'), ', '.join(PHASES)))
    if state['phase'] in RESUMABLE_PHASES and not state.get('retrieval_id'):
        raise StateError('The state in %s is %s but has no retrieval_id' % (path, state['phase']))


def _read(path, owner):
    """The recorded fields, or None when there is no file; StateError when the file cannot be trusted.

    Like a key, the file must be private and ours (or owner's): it decides which file becomes the key.
    """
    try:
        # Never through a link, never blocking on a FIFO planted at the state path.
        data = read_regular_file(path)
        if data is None:
            return None
        check_private_file(path, owner=owner)
    except LocalFileError as error:
        raise StateError('The pending-request state file cannot be trusted: %s.' % error.message) from None
    try:
        fields = json.loads(data.decode('utf-8'))
    except ValueError:
        raise StateError(
            'The pending-request state file %s is not valid JSON. It may record one-time credentials '
            'already sent: check in the Incomes Register e-service before removing it.' % path) from None
    if not isinstance(fields, dict) or fields.get('version') != STATE_VERSION:
        raise StateError('The pending-request state file %s has version %r; this collection understands '
                         'version %d. Finish the request with the collection version that wrote it.'
                         % (path, fields.get('version') if isinstance(fields, dict) else None, STATE_VERSION))
    _check_shape(fields, path)
    return fields


def _same_url(first, second):
    """Whether two URLs name one endpoint: scheme and host are case-insensitive, the default port and a
    trailing slash say nothing."""
    def normal(url):
        parts = urlsplit(url)
        port = parts.port if parts.port not in (None, 443) else None
        return (parts.scheme.lower(), (parts.hostname or '').lower(), port, parts.path.rstrip('/'), parts.query)
    try:
        return normal(first) == normal(second)
    except ValueError:
        return first == second


def _without_credentials(url):
    """url without a user name or password: a state file written before endpoints with them were refused
    (service_facts) may hold one, and each save would write it again."""
    try:
        parts = urlsplit(url)
    except (TypeError, ValueError):
        return url
    if '@' not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition('@')[2]))


def answer_path(state_path):
    return state_path + '.answer.xml'


class PendingRequest(object):
    """One sign or renew request in flight for one certificate, bound to its state file.

    Nothing is written until save() or advance(): a request built for a RetrievalId typed as an option
    stays unrecorded until the certificate came, so a mistyped one never makes later runs poll it.
    """

    def __init__(self, path, fields, owner=None):
        self.path = path
        self.owner = owner
        self._fields = dict(fields)

    @classmethod
    def load(cls, path, new_key_path, owner=None):
        """The recorded request, or None. The file names the key the swap moves over the private key, so it
        is trusted only as a private file, and only when it names new_key_path, the path this task derives."""
        fields = _read(path, owner)
        if fields is None:
            return None
        if fields.setdefault('new_key_path', new_key_path) != new_key_path:
            raise StateError(
                'The state file %s names %r as the key of the request in flight, but this task keeps it at %s. '
                'Run the task with the private_key_path that started the request, or, if the file is not '
                "yours, remove it." % (path, fields.get('new_key_path'), new_key_path))
        if isinstance(fields.get('endpoint'), str):
            fields['endpoint'] = _without_credentials(fields['endpoint'])
        return cls(path, fields, owner=owner)

    def get(self, name, default=None):
        return self._fields.get(name, default)

    def fields(self):
        """A copy of what the file records (or will)."""
        return dict(self._fields)

    @property
    def operation(self):
        return self._fields.get('operation')

    @property
    def phase(self):
        return self._fields.get('phase')

    @property
    def retrieval_id(self):
        return self._fields.get('retrieval_id')

    @property
    def new_key_path(self):
        return self._fields['new_key_path']

    @property
    def answer_path(self):
        """Where an answer the service gave and this collection could not accept is kept (see keep_answer)."""
        return answer_path(self.path)

    def keep_answer(self, content):
        """Keep the service's answer to a request that spent something, when it could not be accepted.

        It holds the only copy of the RetrievalId: once the cause is fixed (a trust file, this collection), a
        later run accepts it and collects the certificate without sending the credentials again. The state
        records its digest, so an answer left by a request whose state file was removed is never taken for
        another's. An answer holds no secret of ours; the caller makes sure of that before it is kept.
        """
        atomic_write(self.answer_path, content, PRIVATE_FILE_MODE)
        self.advance(self.phase, answer_sha256=hashlib.sha256(content).hexdigest())

    def drop_answer(self):
        """Remove this request's kept answer, once the request is given up for a new one."""
        if self._fields.get('answer_sha256'):
            discard(self.answer_path)

    def kept_answer(self):
        """The bytes of this request's kept answer, or None."""
        if not self._fields.get('answer_sha256'):
            return None
        try:
            data = read_regular_file(self.answer_path)
            if data is not None:
                check_private_file(self.answer_path, owner=self.owner)
        except LocalFileError as error:
            raise StateError('The kept answer of the service cannot be trusted: %s.' % error.message) from None
        if data is None or hashlib.sha256(data).hexdigest() != self._fields['answer_sha256']:
            return None
        return data

    @property
    def recorded(self):
        """Whether this request has a state file (one built for a RetrievalId typed as an option has none)."""
        return os.path.lexists(self.path)

    def keep_certificate(self, der):
        """Keep a certificate the service gave for this request and that was refused for a cause that can pass
        (the host's clock, a trust file): a later run checks it again instead of asking the service, which may
        not give a certificate twice (certificate-service.md is silent on that). A certificate is public."""
        self.advance(self.phase, certificate=base64.b64encode(der).decode('ascii'))

    def kept_certificate(self):
        """The DER of the certificate kept by keep_certificate, or None."""
        text = self._fields.get('certificate')
        if not text:
            return None
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise StateError('The certificate kept in the state file %s is not base64. Remove its "certificate" '
                             'field to ask the service for it again.' % self.path) from None

    def drop_certificate(self):
        """Forget a kept certificate that can no longer pass, so that the next poll asks the service again."""
        if self._fields.pop('certificate', None) is not None:
            self.save()

    @property
    def resumable(self):
        """A RetrievalId is known: a later run only polls GetCertificate or finishes the swap."""
        return self.phase in RESUMABLE_PHASES

    def check_same(self, customer_id=None, environment=None, endpoint=None):
        """StateError when the request was made for another customer, environment or endpoint.

        A RetrievalId is only valid where it was issued: polling it elsewhere would at best fail, at worst
        install another service's certificate. Fields the file does not record are not compared.
        """
        for field, wanted in (('customer_id', customer_id), ('environment', environment), ('endpoint', endpoint)):
            recorded = self._fields.get(field)
            same = _same_url if field == 'endpoint' else (lambda a, b: a == b)
            if wanted is not None and recorded is not None and not same(recorded, wanted):
                raise StateError(
                    'The request in flight recorded in %s was made with %s %s, but this task uses %s. Run the task '
                    'with the %s that started the request to finish it; a request cannot move to another.'
                    % (self.path, field, recorded, wanted, field))

    def save(self):
        """Write the fields atomically with mode 0600, stamping version, created and updated."""
        secret_at = _find_secret(self._fields, '')
        if secret_at:
            raise StateError('Refusing to save pending-request state: %s holds or names a secret '
                             '(password, passphrase or private key), which must never be stored' % secret_at)
        record = dict(self._fields)
        record['version'] = STATE_VERSION
        record.setdefault('created', now_text())
        record['updated'] = now_text()
        _check_shape(record, self.path)
        try:
            text = json.dumps(record, indent=2, sort_keys=True)
        except (TypeError, ValueError) as error:
            raise StateError('Pending-request state must be plain JSON: %s' % error) from None
        atomic_write(self.path, text.encode('utf-8') + b'\n', PRIVATE_FILE_MODE)
        self._fields = record
        return self

    def advance(self, phase, **fields):
        """Move to phase (with fields, such as the RetrievalId) and record it."""
        self._fields.update(fields, phase=phase)
        return self.save()

    def clear(self):
        """Remove the state file (and its kept answer) once the request is finished (or never spent anything); True
        when a state file was removed."""
        self.drop_answer()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return False
        except OSError as error:
            raise StateError('Could not remove the pending-request state file %s: %s' % (self.path, error.strerror)) from None
        fsync_directory(os.path.dirname(os.path.abspath(self.path)))
        return True
