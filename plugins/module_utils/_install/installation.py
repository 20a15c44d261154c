# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_install's logic: plan which files of a layout differ, then write only those."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates as certs
from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_ops, file_reads
from ansible_collections.incomes_register.certificates.plugins.module_utils._install import install_layouts
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (
    CertificateServiceError, LocalFileError)

# The files the module reads; no destination may be one of them.
SOURCE_OPTIONS = (('certificate_path', 'certificate'), ('private_key_path', 'private key'), ('chain_path', 'chain'))
HIDDEN_BEFORE = '(old content not shown: it holds a private key or binary data)\n'


class PlannedFile(object):

    def __init__(self, role, option, path, data, mode, secret):
        self.role = role
        self.option = option
        self.path = path
        self.data = data
        self.mode = mode
        self.secret = secret
        self.content_differs = True
        # Content or mode, owner or group: whether the file is to be written.
        self.changed = True
        self.before = None


def _read_required(path, what):
    data = file_reads.read_file(path)
    if data is None:
        raise CertificateServiceError('The %s %s does not exist' % (what, path))
    return data


def load_source(params):
    cert = certs.load_certificate(_read_required(params['certificate_path'], 'certificate'))
    key_path = params['private_key_path']
    file_ops.check_private_file(key_path, owner=params.get('owner'))
    key = keys.load_private_key(_read_required(key_path, 'private key'), params.get('private_key_passphrase'))
    if not keys.keys_match(key, cert):
        raise CertificateServiceError('The private key %s does not belong to the certificate %s; nothing was '
                                      'installed.' % (key_path, params['certificate_path']))
    chain = []
    if params.get('chain_path'):
        chain = certs.load_pem_bundle(_read_required(params['chain_path'], 'chain'))
    return cert, key, chain


def plan(params, cert, key, chain):
    """The files of the layout with their old content. Every refusal happens here, before the first
    write and in check mode alike, so a refused task has written nothing (no backup either)."""
    layout = install_layouts.by_name(params['layout'])
    layout.check_options(params)
    rendered = layout.render(cert, key, chain, params)
    planned = []
    # By role: the module's files result and its diffs list them in that order.
    for spec in sorted(layout.files, key=lambda spec: spec.role):
        # Left out: an optional file with nothing to hold or nowhere to go (check_options refused the rest).
        if spec.role in rendered and params.get(spec.option):
            option = 'private_key_mode' if spec.secret else 'mode'
            planned.append(PlannedFile(spec.role, spec.option, params[spec.option], rendered[spec.role],
                                       file_ops.parse_mode(params[option], option, spec.secret), spec.secret))
    for entry in planned:
        _refuse_unless_regular(entry)
    _refuse_same_files(params, planned)
    for entry in planned:
        _refuse_managed_file(entry)
    for entry in planned:
        entry.before = file_reads.read_regular_file(entry.path)
        entry.content_differs = not layout.matches(entry.before, entry.data, cert, key, chain, params)
    return planned


def _refuse_unless_regular(entry):
    # The same refusal as atomic_write's, so check mode predicts the real run.
    file_ops.refuse_symlink(entry.path)
    try:
        info = os.lstat(entry.path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise LocalFileError('Could not inspect %s %s: %s' % (entry.option, entry.path, error.strerror or error))
    if not stat.S_ISREG(info.st_mode):
        raise LocalFileError('%s %s is not a regular file; certificate_install only replaces regular files. '
                             'Point %s at a file path.' % (entry.option, entry.path, entry.option))


# What the request and renewal modules keep beside a certificate or key X: X.new, X.lock, and beside a certificate
# its state file and kept answer. Every X they keep has X.lock (certificate_store), which nothing else writes.
_KEPT_SUFFIXES = ('', '.new', '.lock', '.state.json', '.state.json.answer.xml')


def _refuse_managed_file(entry):
    """Refuse a destination that is a file another certificate's renewal relies on: installing over its key (a
    mistyped or copied private_key_dest) destroys a key no backup keeps, over its pending key wastes spent
    credentials. The sources are this task's own and refused as such already."""
    for suffix in _KEPT_SUFFIXES:
        if suffix and not entry.path.endswith(suffix):
            continue
        base = entry.path[:len(entry.path) - len(suffix)] if suffix else entry.path
        if os.path.lexists(base + '.lock'):
            raise CertificateServiceError(
                '%s %s is %s that the request and renewal modules keep (%s.lock exists): installing there would '
                'replace it under the certificate that relies on it. Nothing was written. Give %s a path of its own; '
                'if no certificate is kept at %s any more, delete %s.lock.'
                % (entry.option, entry.path, 'a certificate or private key' if not suffix else
                   'a file of the certificate or key %s' % base, base, entry.option, base, base))


def _same_file(path, other):
    if os.path.realpath(path) == os.path.realpath(other):
        return True
    # A hard link or a bind mount is one file under two resolved paths.
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


def _refuse_same_files(params, planned):
    """A destination that is a source would overwrite it; two destinations that are one file would leave
    only the last. Compared after resolving links, since a linked directory is another name for a path."""
    for index, entry in enumerate(planned):
        for option, what in SOURCE_OPTIONS:
            if params.get(option) and _same_file(entry.path, params[option]):
                raise CertificateServiceError(
                    '%s and %s are the same file, %s: installing would overwrite the source %s. Nothing was '
                    'written. Give %s a path of its own.'
                    % (entry.option, option, os.path.realpath(entry.path), what, entry.option))
        for earlier in planned[:index]:
            if _same_file(entry.path, earlier.path):
                raise CertificateServiceError(
                    '%s and %s are the same file, %s: the %s and the %s cannot share one file. Nothing was '
                    'written. Give each a path of its own.'
                    % (earlier.option, entry.option, os.path.realpath(entry.path),
                       earlier.role.replace('_', ' '), entry.role.replace('_', ' ')))


def _file_keys(path):
    """What makes two paths one file: the resolved path, and for an existing file its device and inode (a
    hard link or a bind mount)."""
    keys = [('path', os.path.realpath(path))]
    try:
        info = os.stat(path)
    except OSError:
        return keys
    return keys + [('inode', info.st_dev, info.st_ino)]


def _target_name(index, params):
    return 'targets[%d] (certificate %s)' % (index, params.get('certificate_path'))


def _differences(one, other):
    """What differs between two writes of one file, each (bytes, mode, uid, gid), by name: never the bytes."""
    return ' and '.join(what for position, what in enumerate(('content', 'mode', 'owner', 'group'))
                        if one[position] != other[position])


def shared_files(targets, plans):
    """{index: refusal message} for the targets of one run that would write a file another target reads, or that
    another target writes otherwise. plans: {index: (planned files, (uid, gid))} of the targets that could be
    planned. An entry of renewal_certificates inherits renewal_install_targets, so several certificates can name
    the same destination: the last would win, perhaps with another customer's certificate, and every run would
    change it back and forth. A file that they all write with the same bytes, mode, owner and group (one issuing
    CA as each certificate's chain) is allowed: no run changes it back. A file that is one target's own source or
    destination twice is plan's to refuse, with the option names alone."""
    writers, readers = {}, {}
    for index, (entries, owner) in plans.items():
        for entry in entries:
            for key in _file_keys(entry.path):
                writers.setdefault(key, []).append((index, entry.option, entry.path,
                                                    (entry.data, entry.mode) + tuple(owner)))
    for index, params in enumerate(targets):
        for option, what in SOURCE_OPTIONS:
            if params.get(option):
                for key in _file_keys(params[option]):
                    readers.setdefault(key, []).append((index, option, what))
    refusals, reported = {}, set()
    for key, claims in writers.items():
        for position, (index, option, path, written) in enumerate(claims):
            name = _target_name(index, targets[index])
            for other, other_option, dummy, other_written in claims[:position]:
                if other == index or other_written == written or (other, other_option, index, option) in reported:
                    continue
                reported.add((other, other_option, index, option))
                message = ('%s %s and %s %s are the same file, %s, with different %s: each would overwrite the other '
                           'on every run. Nothing was written for either. Give each target paths of its own.'
                           % (_target_name(other, targets[other]), other_option, name, option,
                              os.path.realpath(path), _differences(other_written, written)))
                refusals.setdefault(other, []).append(message)
                refusals.setdefault(index, []).append(message)
            for other, source_option, what in readers.get(key, ()):
                if other == index or (index, option, other, source_option) in reported:
                    continue
                reported.add((index, option, other, source_option))
                refusals.setdefault(index, []).append(
                    '%s %s and %s %s are the same file, %s: installing would overwrite the source %s of targets[%d]. '
                    'Nothing was written for targets[%d]. Give %s a path of its own.'
                    % (name, option, _target_name(other, targets[other]), source_option,
                       os.path.realpath(path), what, other, index, option))
    return dict((index, ' '.join(messages)) for index, messages in refusals.items())


def attributes_differ(entry, owner_uid, group_gid):
    try:
        info = os.lstat(entry.path)
    except FileNotFoundError:
        return True
    return (stat.S_IMODE(info.st_mode) != entry.mode
            or (owner_uid is not None and info.st_uid != owner_uid)
            or (group_gid is not None and info.st_gid != group_gid))


def apply(entries, params, owner_uid, group_gid):
    """Write one target's changed files; returns {path: backup path} of the backups made.

    A target's files are one set: a service that finds a new certificate beside the old key cannot start.
    So every new file is written, chmodded, chowned and synced under a temporary name, and every backup
    made, before the first rename; a failure until then (a full disk, an owner that cannot be set, a key
    directory that cannot be made) leaves the installed set and no temporary file or backup of this run.
    The renames then follow back to back."""
    staged, backups, ready = [], {}, False
    try:
        for entry in entries:
            directory = os.path.dirname(os.path.abspath(entry.path))
            if not os.path.isdir(directory):
                file_ops.ensure_directory(directory, 0o700 if entry.secret else 0o755,
                                          owner=params.get('owner'), group=params.get('group'))
            _remove_stale_temp_files(entry.path)
            staged.append((entry, _stage(entry, owner_uid, group_gid)))
        if params.get('backup'):
            for entry in entries:
                backup = file_ops.backup_file(entry.path) if entry.before is not None else None
                if backup:
                    backups[entry.path] = backup
        ready = True
    except LocalFileError as error:
        raise LocalFileError('%s. No file of this target was replaced.' % error.message.rstrip('.')) from None
    finally:
        if not ready:
            _discard([temp for dummy, temp in staged] + list(backups.values()))
    _swap(staged, backups)
    return backups


def _remove_stale_temp_files(path):
    try:
        file_ops.remove_stale_temp_files(path)
    except LocalFileError:
        # Only tidying: a directory we may write but not list must not stop the install.
        pass


def _stage(entry, owner_uid, group_gid):
    """The temporary file that holds entry's new content with its final mode and owner, synced."""
    try:
        return file_ops.write_staged(entry.path, entry.data, entry.mode, owner_uid, group_gid)
    except LocalFileError as error:
        raise LocalFileError('%s (%s)' % (error.message, entry.option)) from None


def _discard(paths):
    for path in paths:
        file_ops.discard(path)


def _swap(staged, backups):
    for position, (entry, temp) in enumerate(staged):
        try:
            os.replace(temp, entry.path)
        except OSError as error:
            _discard([later for dummy, later in staged[position:]])
            replaced = [earlier.option for earlier, dummy in staged[:position]]
            if not replaced:
                _discard(list(backups.values()))
            raise LocalFileError(
                'Could not move the new %s into place at %s: %s. %s Run the task again once the cause is fixed.'
                % (entry.option, entry.path, error.strerror or error,
                   '%s already %s the new content, so the files of this target do not match until then%s.'
                   % (' and '.join(replaced), 'holds' if len(replaced) == 1 else 'hold',
                      '; the old files are kept as %s' % ', '.join(sorted(backups.values())) if backups else '')
                   if replaced else 'No file of this target was replaced.')) from None
    for directory in sorted(set(os.path.dirname(os.path.abspath(entry.path)) for entry, dummy in staged)):
        try:
            file_ops.fsync_directory(directory)
        except OSError as error:
            raise LocalFileError('Could not sync the directory %s after replacing files in it: %s'
                                 % (directory, error.strerror or error)) from None


def diff_entry(entry):
    """A diff that never shows a private key: secret files show only that they change, and old content that
    holds a key or is binary (a destination that was a combined file or a keystore before) is not shown."""
    if entry.secret:
        return dict(before_header=entry.path, after_header=entry.path,
                    before='' if entry.before is None else '(secret content not shown)\n',
                    after='(secret content not shown, changed)\n' if entry.content_differs else
                    '(secret content not shown)\n')
    if entry.before is None:
        before = ''
    elif install_layouts.holds_key_material(entry.before):
        before = HIDDEN_BEFORE
    else:
        before = entry.before.decode('utf-8')
    return dict(before_header=entry.path, after_header=entry.path, before=before,
                after=entry.data.decode('utf-8', 'replace'))


def ownership(params):
    """(uid, gid) asked for by owner and group, None where not given."""
    return (file_ops.resolve_uid(params.get('owner')) if params.get('owner') else None,
            file_ops.resolve_gid(params.get('group')) if params.get('group') else None)
