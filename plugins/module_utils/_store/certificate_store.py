# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where one certificate lives on a host, and how a new pair replaces the old one.

Files of one certificate (the certbot "lineage" idea):
  <path>                  the certificate in use (PEM)
  <private_key_path>      its key (PEM, 0600)
  <private_key_path>.new  the key of a request in flight (0600); becomes the key on completion
  <path>.new              a retrieved, verified certificate waiting for the swap
  <state_path>            what is in flight (see pending_request), never a secret
  <state_path>.answer.xml the service's answer to SignNewCertificate when it could not be accepted (its RetrievalId)
  <path>.lock             serialises runs on this host
  <path>.changed          with change_mark: the pair changed, and whoever restarts the services that read it
                          has not yet said they did (the renewal role's handlers remove it)

The old pair stays in place and valid until the new certificate is retrieved and verified; only then
are the old files backed up and the new ones moved in with os.replace. A run that dies at any point
leaves a state file from which the next run finishes the job.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import datetime
import os
import time

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates as certs
from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_ops, file_reads
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import csr, keys, verification
from ansible_collections.incomes_register.certificates.plugins.module_utils._store.pending_request import (
    PREPARED, RETRIEVED, PendingRequest, answer_path as pending_answer_path, now_text)
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateRejected, CertificateServiceError, LocalFileError, StateError)

KEY_MODE = 0o600
# A key set aside by set_aside_new_key: <key>.new.unanswered-<UTC time>, the time in this form (16 characters).
SET_ASIDE = '.unanswered-'
SET_ASIDE_TIME = '%Y%m%dT%H%M%SZ'


class CertificateStore(object):

    def __init__(self, path, private_key_path, passphrase=None, state_path=None, owner=None,
                 group=None, certificate_mode=0o644, backup=True, change_mark=False):
        self.path = path
        self.key_path = private_key_path
        self.passphrase = passphrase
        self.state_path = state_path or path + '.state.json'
        self.new_key_path = private_key_path + '.new'
        self.new_cert_path = path + '.new'
        self.lock_path = path + '.lock'
        self.change_mark_path = file_reads.change_mark_path(path) if change_mark else None
        self.key_lock_path = private_key_path + '.lock'
        self.owner = owner
        self.group = group
        self.certificate_mode = certificate_mode
        self.backup = backup
        # path -> (PEM bytes, key, checked for signing): one run reads a key several times (describe,
        # decide, sign). Keyed by content, so a replaced file is always loaded afresh.
        self._loaded_keys = {}

    def lock(self, timeout):
        """Hold this certificate's lock and its key's, so that two tasks sharing a key never interleave."""
        self._ensure_directories()
        deadline = time.monotonic() + timeout
        stack = contextlib.ExitStack()
        with stack:
            # One order for every task (one task's certificate may be another's key) and one deadline for both.
            for path in sorted((self.lock_path, self.key_lock_path), key=os.path.realpath):
                stack.enter_context(file_ops.HostLock(path, timeout=max(0, deadline - time.monotonic())))
            self._claim_key()
            for path in self._written_paths():
                file_ops.remove_stale_temp_files(path)
            return stack.pop_all()

    def _claim_key(self):
        """Record in the key's lock file which certificate the key belongs to; refuse a key another one holds.

        A renewal or enrollment replaces the key at private_key_path with a new one, so two certificates
        on one key path destroy each other: the second one's request reuses or replaces the first one's
        pending key, and each swap leaves the other certificate without its key. Found here, under the
        lock, it costs nothing. The holder is named by its certificate and its state file: a first
        certificate still being requested has no certificate file yet, only its state and <key>.new. A
        holder none of whose files is left no longer needs the key. The same certificate under a state_path
        other than the recorded one, while the recorded file is there, is refused too: the record of its
        unfinished request would not be seen.
        """
        mine = self._claim()
        try:
            with open(self.key_lock_path, 'r+', encoding='utf-8', errors='replace') as handle:
                holder = self._check_holder(handle.read(), mine)
                if holder != mine:
                    self._write_claim(handle, mine)
        except OSError as error:
            raise file_ops.file_error('record the certificate of the key in', self.key_lock_path, error) from None

    def check_key_claim(self):
        """What _claim_key would refuse, without writing: check mode predicts the real run's refusal."""
        try:
            data = file_reads.read_regular_file(self.key_lock_path)
        except LocalFileError:
            return
        self._check_holder((data or b'').decode('utf-8', 'replace'), self._claim())

    def _claim(self):
        # The path as given too: a release layout (/srv/current -> rel2) keeps the certificate's path while the
        # real one moves, and the old release's copy is still there.
        return [os.path.realpath(self.path), os.path.realpath(self.state_path), os.path.abspath(self.path)]

    def _check_holder(self, text, mine):
        holder = [line.strip() for line in text.splitlines() if line.strip()]
        same = holder[:1] == mine[:1] or (len(holder) > 2 and holder[2] == mine[2])
        if not same and any(os.path.lexists(path) for path in holder[:2]):
            raise LocalFileError(
                'The key %s belongs to the certificate %s (recorded in %s), and a request for %s would replace '
                'it. Give each certificate its own private_key_path. If %s no longer uses this key, delete %s '
                'while no run is in progress.'
                % (self.key_path, holder[0], self.key_lock_path, self.path, holder[0], self.key_lock_path))
        if (same and len(holder) > 1 and holder[1] != mine[1] and os.path.lexists(holder[1])
                and not os.path.lexists(mine[1])):
            # A request of this certificate left unfinished under another state_path: a run that does not see it
            # would start a new one, which for a first certificate sends its TransferID again. A state file at this
            # run's path is seen (a release directory switched with its files copied), so it is not in the way.
            raise LocalFileError(
                'An earlier run recorded a request for %s in %s (its state_path then, named in %s), and this run\'s '
                'state_path is %s: a new request would leave that one unfinished and, for a first certificate, send '
                'its TransferID again. Give state_path %s until that request is finished, or move %s (and %s, if it '
                'is there) to %s and %s while no run is in progress. Nothing was changed.'
                % (self.path, holder[1], self.key_lock_path, self.state_path, holder[1], holder[1],
                   pending_answer_path(holder[1]), self.state_path, pending_answer_path(self.state_path)))
        return holder

    @staticmethod
    def _write_claim(handle, lines):
        handle.seek(0)
        handle.truncate()
        handle.write(''.join(line + '\n' for line in lines))

    def files(self):
        """(what, path) of every file this certificate writes or locks, in the words an error names them."""
        return (('path', self.path), ('private_key_path', self.key_path), ('state_path', self.state_path),
                ('the new key (private_key_path + .new)', self.new_key_path),
                ('the new certificate (path + .new)', self.new_cert_path),
                ('the lock file (path + .lock)', self.lock_path),
                ('the key lock file (private_key_path + .lock)', self.key_lock_path),
                ("the service's kept answer (state_path + .answer.xml)", pending_answer_path(self.state_path))) + (
                    (('the change mark (path + .changed)', self.change_mark_path),) if self.change_mark_path else ())

    def _ensure_directories(self):
        # Only the directory that holds the key is private; parents created on the way, and a directory
        # made for the certificate alone, stay readable for the services that use the certificate.
        cert_dir = os.path.dirname(os.path.abspath(self.path))
        key_dir = os.path.dirname(os.path.abspath(self.key_path))
        file_ops.ensure_directory(key_dir, file_ops.PRIVATE_DIR_MODE, owner=self.owner, group=self.group,
                                  parent_mode=0o755)
        file_ops.ensure_directory(cert_dir, 0o755, owner=self.owner, group=self.group)

    def _written_paths(self):
        return (self.path, self.key_path, self.new_key_path, self.new_cert_path, self.state_path,
                pending_answer_path(self.state_path)) + ((self.change_mark_path,) if self.change_mark_path else ())

    def check_paths(self):
        """LocalFileError when this certificate's files are unsafe to use, before anything is sent.

        The swap moves files over <path> and <private_key_path> with os.replace, which would turn a link
        into a plain file, and a link at the state or .new paths would point a write somewhere else.
        Two roles on one file destroy each other: a state file at the key path is deleted once the
        request is done, a certificate written over its key loses the only copy of the new key.
        Found after a request, that would have spent the request; found here, it costs nothing.
        """
        for what, path in (('path', self.path), ('private_key_path', self.key_path), ('state_path', self.state_path)):
            # A module runs in a directory of Ansible's choosing, with become a temporary one Ansible deletes
            # when the task ends: a relative key path could put a new key, and the only way to its
            # certificate, where nobody finds it again.
            if not os.path.isabs(path):
                raise LocalFileError('%s %s is relative: give an absolute path. Nothing was changed.' % (what, path))
        for path in (self.path, self.key_path):
            file_ops.refuse_symlinked_directory(os.path.dirname(os.path.abspath(path)))
        for path in self._written_paths():
            file_ops.refuse_symlink(path)
        if self.change_mark_path and os.path.lexists(self.change_mark_path) and not file_reads.change_mark(self.path):
            raise LocalFileError('%s, where this certificate\'s change mark goes, is not a regular file: move it away. '
                                 'Nothing was changed.' % self.change_mark_path)
        seen = {}
        for role, path in self.files():
            real = os.path.realpath(path)
            if real in seen:
                raise LocalFileError(
                    '%s and %s are the same file (%s). Each file of a certificate needs a path of its own: '
                    'choose different paths.' % (seen[real], role, real))
            seen[real] = role

    # Reading what is there.

    def certificate(self):
        data = file_reads.read_file(self.path)
        if data is None:
            return None
        if not data.strip():
            raise CertificateRejected('The certificate file %s is empty. Restore the certificate from its backup, '
                                      'or remove the file to request a new one.' % self.path)
        try:
            return certs.load_certificate(data)
        except CertificateRejected as error:
            raise CertificateRejected('%s: %s' % (self.path, error.message)) from None

    def private_key(self, path=None, for_signing=False):
        """The key at path (default the installed one), None when there is no file.

        Most reads only compare the key's public half with a certificate, so the RSA consistency
        check (keys.load_private_key) runs only for a key that is going to sign.
        """
        path = path or self.key_path
        data = file_reads.read_regular_file(path)
        if data is None:
            return None
        file_ops.check_private_file(path, owner=self.owner)
        cached = self._loaded_keys.get(path)
        if cached is not None and cached[0] == data and (cached[2] or not for_signing):
            return cached[1]
        key = keys.load_private_key(data, self.passphrase, for_signing=for_signing)
        self._loaded_keys[path] = (data, key, for_signing)
        return key

    def pending(self):
        """The request in flight (a PendingRequest), or None."""
        return PendingRequest.load(self.state_path, self.new_key_path, owner=self.owner)

    def new_request(self, operation, **fields):
        """A request about to be made for this certificate's .new key; recorded once saved."""
        return PendingRequest(self.state_path, dict(fields, operation=operation, phase=PREPARED,
                                                    new_key_path=self.new_key_path), owner=self.owner)

    # Preparing a request.

    def new_private_key(self, size):
        """The key for the next certificate: the one a died run left at <key>.new, else a fresh one.

        Reusing the left-over key matters: a retrieval in flight was requested for that key.
        """
        existing = self.private_key(self.new_key_path, for_signing=True)
        if existing is not None:
            return existing
        key = csr.generate_private_key(size)
        file_ops.ensure_directory(os.path.dirname(os.path.abspath(self.new_key_path)), file_ops.PRIVATE_DIR_MODE,
                                  owner=self.owner, group=self.group)
        owner, group = self._ownership(self.key_path)
        file_ops.atomic_write(self.new_key_path, keys.serialize_private_key(key, self.passphrase),
                              KEY_MODE, owner=owner, group=group)
        return key

    def set_aside_new_key(self, now):
        """Move the key at <key>.new to <key>.new.unanswered-<UTC time> and return that path (None when there is
        no such key), so that the next new_private_key makes a fresh one while this one is kept: a request for it
        got no answer, and a certificate the service may have issued for it would be of no use without it."""
        aside = self.new_key_path + SET_ASIDE + now.strftime(SET_ASIDE_TIME)
        if not os.path.lexists(self.new_key_path):
            return None
        if os.path.lexists(aside):
            raise LocalFileError('%s is already there, so the key %s cannot be set aside: move it away. Nothing was '
                                 'sent.' % (aside, self.new_key_path))
        try:
            os.rename(self.new_key_path, aside)
        except OSError as error:
            raise file_ops.file_error('set aside', self.new_key_path, error) from None
        return aside

    def _ownership(self, target):
        """owner and group for the .new file that will replace target: the task's, else target's own. The new
        file is written beside target, not over it, so atomic_write cannot see whose the file it replaces is; a
        renewed pair must stay readable by the account it was handed to.

        Only what this process may give: a task that is not root can hand a file to a group it is in, never to
        another user, and a refused chown after the service has issued the certificate would fail every rerun.
        """
        owner, group = self.owner, self.group
        if owner is None or group is None:
            try:
                current = os.lstat(target)
            except OSError:
                return owner, group
            root = os.geteuid() == 0
            if owner is None and root:
                owner = current.st_uid
            if group is None and (root or current.st_gid == os.getegid() or current.st_gid in os.getgroups()):
                group = current.st_gid
        return owner, group

    def change_mark(self):
        """The path of this certificate's change mark while there is one (change_mark=True), else None."""
        return file_reads.change_mark(self.path) if self.change_mark_path else None

    def _mark_change(self, replaced):
        # Before the first rename, so that a run stopped anywhere after it leaves the mark: the next run finds
        # nothing to renew, and only the mark tells that the services still read the old pair. A run stopped
        # before any rename leaves a mark too, which costs one restart too many, never one too few. A mark that is
        # there already stays as it is: the services have not been restarted since that earlier swap, so the
        # certificate they may still read is the one it names.
        if file_reads.change_mark(self.path):
            return
        text = file_reads.change_mark_text(self.path, now_text(),
                                           certs.iso(replaced.not_valid_after_utc) if replaced is not None else None)
        file_ops.atomic_write(self.change_mark_path, text.encode('utf-8'), 0o644)

    def _replaced_certificate(self):
        # Only for the mark's date: a certificate in place that cannot be read does not stop the swap that replaces it.
        try:
            return self.certificate()
        except (CertificateServiceError, LocalFileError, ValueError):
            return None

    # Completing a request.

    def complete(self, request, cert_der, customer_id, issuing_bundle):
        """Verify a retrieved certificate against the key it was requested for, then swap it in.

        Returns finish_swap's dict and restored_key: the path a key set aside for this certificate was taken back
        from, or None.
        """
        cert = certs.load_certificate(cert_der)
        new_key = self.private_key(request.new_key_path)
        restored = None
        if new_key is None:
            new_key, restored = self._take_back_set_aside_key(request, cert)
        if new_key is None:
            raise StateError(
                'The key %s that the pending request was made for is missing, so the retrieved '
                'certificate cannot be used. Remove %s and request again.'
                % (request.new_key_path, self.state_path))
        verification.validate_issued_certificate(cert, new_key.public_key(), customer_id, issuing_bundle)
        owner, group = self._ownership(self.path)
        file_ops.atomic_write(self.new_cert_path, certs.certificate_to_pem(cert), self.certificate_mode,
                              owner=owner, group=group)
        request.advance(RETRIEVED)
        return dict(self.finish_swap(request), restored_key=restored)

    def finish_swap(self, request):
        """Move a verified new pair into place; safe to run again after a crash at any step."""
        if request.phase != RETRIEVED:
            raise StateError('Internal error: swap requested in phase %s' % request.phase)
        key_pending = request.new_key_path != self.key_path and os.path.exists(request.new_key_path)
        cert_pending = os.path.exists(self.new_cert_path)
        if self.change_mark_path and (key_pending or cert_pending):
            self._mark_change(self._replaced_certificate() if cert_pending else None)
        backups = {}
        if self.backup:
            # Only a file whose replacement is still waiting: after a crash between the two renames the key
            # in place is already the new one, and its "backup" would pair with the old certificate's.
            for name, path, pending in (('certificate', self.path, cert_pending),
                                        ('private_key', self.key_path, key_pending)):
                if pending and os.path.exists(path):
                    backups[name] = file_ops.backup_file(path)
        if key_pending:
            os.replace(request.new_key_path, self.key_path)
        if cert_pending:
            os.replace(self.new_cert_path, self.path)
        cert = self.certificate()
        key = self.private_key()
        if cert is None or key is None or not keys.keys_match(key, cert):
            raise CertificateServiceError(
                'After installing the new certificate, %s and %s do not form a pair. The backups '
                'are %s.' % (self.path, self.key_path, backups or 'not kept'))
        request.clear()
        removed, left = self._remove_set_aside_keys()
        return dict(certificate=cert, backups=backups, removed_keys=removed, keys_left=left)

    def _set_aside_keys(self):
        """The paths of the keys set_aside_new_key kept for this certificate, oldest first: only names it makes."""
        directory, name = os.path.split(os.path.abspath(self.new_key_path))
        prefix = name + SET_ASIDE
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return []
        return [os.path.join(directory, entry) for entry in names
                if entry.startswith(prefix) and _is_set_aside_time(entry[len(prefix):])]

    def _remove_set_aside_keys(self):
        """Remove the keys set_aside_new_key kept, once a certificate is installed: each was kept for a certificate
        the service might still issue for it, and the one installed now takes that one's place. Returns the paths
        removed and, for each that could not be, its path and why; the installation has succeeded all the same."""
        removed, left = [], []
        for path in self._set_aside_keys():
            try:
                os.unlink(path)
            except OSError as error:
                left.append((path, error.strerror or str(error)))
            else:
                removed.append(path)
        return removed, left

    def _take_back_set_aside_key(self, request, cert):
        """(key, path it was set aside at) for the key set aside for cert, moved back to the request's key path, or
        (None, None); StateError when a key set aside cannot be read. A run killed between setting a waiting
        renewal's key aside and clearing its record leaves that record without its key: should its certificate come
        after all, this is where its key is."""
        unread = []
        for path in self._set_aside_keys():
            try:
                key = self.private_key(path)
            except LocalFileError as error:
                unread.append('%s (%s)' % (path, error.message.rstrip('.')))
                continue
            if key is not None and keys.keys_match(key, cert):
                try:
                    os.rename(path, request.new_key_path)
                except OSError as error:
                    raise file_ops.file_error('move back', path, error) from None
                return key, path
        if unread:
            # One of them may be this certificate's key: "request again" would throw that certificate away.
            raise StateError(
                'The key %s that the pending request was made for is missing, and the keys set aside at %s could not '
                'be read, so whether one of them is the retrieved certificate\'s is not known. Put that right and '
                'run again; nothing was installed.' % (request.new_key_path, '; '.join(unread)))
        return None, None


def _is_set_aside_time(text):
    # strptime alone would also take fields without their leading zeros, which set_aside_new_key never writes.
    if len(text) != 16:
        return False
    try:
        datetime.datetime.strptime(text, SET_ASIDE_TIME)
    except ValueError:
        return False
    return True
