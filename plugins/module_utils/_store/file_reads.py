# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading files on the managed host, and the errors file handling raises.

Apart from file_ops (writes, locks, backups) because certificate_info only reads: Ansible ships every
module_utils file a module imports and Python compiles it from source on each module run (twice, from the
payload's zip), which the audit pays on every host (docs/benchmarks.md).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import errno
import os
import stat

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import LocalFileError


def change_mark_path(path):
    """Where the certificate at path has its change mark: what a swap leaves with change_mark until the services
    that read the certificate have been restarted (certificate_store; the renewal role's handlers remove it)."""
    return path + '.changed'


def change_mark(path):
    """change_mark_path(path) when a mark is there, else None."""
    mark = change_mark_path(path)
    try:
        # A regular file only: whoever acts on the mark deletes it (the role with ansible.builtin.file, which
        # would take a directory with everything in it).
        return mark if stat.S_ISREG(os.lstat(mark).st_mode) else None
    except OSError:
        return None


# The mark's facts, one per line after its sentence, so that a person reading the file and the audit read the same.
_MARK_FIELDS = ('replaced_at', 'replaced_not_after')
MARK_TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'


def change_mark_text(path, replaced_at, replaced_not_after):
    """What a change mark holds: a sentence for whoever finds the file, then its facts (times as the modules
    return them; replaced_not_after None when there was no readable certificate before)."""
    lines = ['The certificate %s was replaced at %s, and the services that read it have not been restarted since '
             'as far as this file knows: whatever restarts them (the renewal role\'s handlers) removes it.'
             % (path, replaced_at),
             'replaced_at: %s' % replaced_at]
    if replaced_not_after:
        lines.append('replaced_not_after: %s' % replaced_not_after)
    return '\n'.join(lines) + '\n'


def read_change_mark(path):
    """The change mark of the certificate at path as dict(path, replaced_at, replaced_not_after), or None when
    there is none. A fact the mark does not hold (it cannot be read, a person wrote it) is None: the mark
    itself is what counts."""
    mark = change_mark(path)
    if mark is None:
        return None
    found = dict(path=mark, replaced_at=None, replaced_not_after=None)
    try:
        data = read_regular_file(mark, limit=4096)
    except LocalFileError:
        return found
    for line in (data or b'').decode('utf-8', 'replace').splitlines():
        name, sep, value = line.partition(': ')
        if sep and name in _MARK_FIELDS and mark_time(value.strip()) is not None:
            found[name] = value.strip()
    return found


def mark_time(text):
    """The moment a change mark's field gives (UTC), or None when it is not one."""
    try:
        return datetime.datetime.strptime(text, MARK_TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def file_error(action, path, error):
    return LocalFileError('Could not %s %s: %s' % (action, path, error.strerror or error))


def symlink_error(path):
    return LocalFileError('%s is a symbolic link; refusing to follow it for a certificate, key or state '
                          'file. Replace it with a regular file or point the task at the real path.' % path)


def read_file(path):
    """The bytes of path, or None when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise file_error('read', path, error) from None


def read_regular_file(path, limit=None):
    """The bytes of path (at most limit of them), or None when it does not exist; LocalFileError when it is a
    symbolic link or not a regular file. For paths someone else may control: unlike read_file it never reads
    through a link (not even one planted after a check) and never blocks on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0))
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise symlink_error(path) from None
        raise file_error('read', path, error) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LocalFileError('%s is not a regular file' % path)
        chunks, size = [], 0
        while limit is None or size < limit:
            chunk = os.read(fd, 65536 if limit is None else min(65536, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b''.join(chunks)
    except OSError as error:
        raise file_error('read', path, error) from None
    finally:
        os.close(fd)
