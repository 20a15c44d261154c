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
            mode = params['private_key_mode'] if spec.secret else params['mode']
            planned.append(PlannedFile(spec.role, spec.option, params[spec.option], rendered[spec.role],
                                       file_ops.parse_mode(mode), spec.secret))
    for entry in planned:
        _refuse_unless_regular(entry)
    _refuse_same_files(params, planned)
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


def attributes_differ(entry, owner_uid, group_gid):
    try:
        info = os.lstat(entry.path)
    except FileNotFoundError:
        return True
    return (stat.S_IMODE(info.st_mode) != entry.mode
            or (owner_uid is not None and info.st_uid != owner_uid)
            or (group_gid is not None and info.st_gid != group_gid))


def apply(entry, params):
    """Write one planned file; returns the backup path or None."""
    backup = None
    if params.get('backup') and entry.before is not None:
        backup = file_ops.backup_file(entry.path)
    directory = os.path.dirname(os.path.abspath(entry.path))
    if not os.path.isdir(directory):
        file_ops.ensure_directory(directory, 0o700 if entry.secret else 0o755,
                                  owner=params.get('owner'), group=params.get('group'))
    file_ops.atomic_write(entry.path, entry.data, entry.mode, owner=params.get('owner'), group=params.get('group'))
    return backup


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
