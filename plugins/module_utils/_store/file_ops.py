# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Safe file handling on the managed host: atomic writes, private files, backups, one run at a time.

A key or state file is never visible with looser permissions than asked for, never half
written, and never written through a symlink someone else planted.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import grp
import hashlib
import os
import pwd
import re
import stat
import time

from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import LocalFileError
from ansible_collections.incomes_register.certificates.plugins.module_utils._store.file_reads import (
    file_error, read_file, symlink_error)

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def resolve_uid(owner):
    if owner is None or isinstance(owner, int):
        return owner
    if str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise LocalFileError('The user %s does not exist on this host' % owner) from None


def resolve_gid(group):
    if group is None or isinstance(group, int):
        return group
    if str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise LocalFileError('The group %s does not exist on this host' % group) from None


def parse_mode(value, option='mode', secret=False):
    """A file mode given as an int or an octal string such as '0644'.

    An int is taken as it is, as Ansible does: an unquoted 644 in YAML is the number 644, 0o1204. Bits above 0o777
    (what such a slip makes) are refused, and a secret file may not be writable by its group or readable by others:
    private_key_mode: 440 would otherwise give a key its group may write.
    """
    if isinstance(value, int):
        mode = value
    else:
        try:
            mode = int(str(value), 8)
        except ValueError:
            raise LocalFileError('%s must be an octal number such as 0644, not %r' % (option, value)) from None
    if mode & ~0o777:
        raise LocalFileError('%s %r is %s in octal, with bits no certificate or key file needs: quote the mode '
                             "as an octal string, for example '0644'." % (option, value, format(mode, '#o')))
    if secret and mode & 0o027:
        raise LocalFileError("%s %r (%s) lets others read the key or its group write it; use '0600' or '0640'%s."
                             % (option, value, format(mode, '#o'),
                                ' (an unquoted number is decimal: quote it)' if isinstance(value, int) else ''))
    return mode


def refuse_symlink(path):
    if os.path.islink(path):
        raise symlink_error(path)


def refuse_symlinked_directory(path):
    """A directory this collection writes into is created and checked as itself, never through a link (a link to
    a directory someone else can write would put a key there); a link above it is fine."""
    if os.path.islink(path):
        raise LocalFileError('The directory %s is a symbolic link (to %s). A directory files are written into must '
                             'be a real directory, though a link above it is fine: point the task at the real path, '
                             '%s.' % (path, os.readlink(path), os.path.join(os.path.realpath(path), '')))


def fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    try:
        os.fsync(fd)
    except OSError as error:
        # Some filesystems cannot fsync a directory; the rename is then as durable as it gets.
        if error.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def atomic_write(path, data, mode, owner=None, group=None):
    """Replace path with data so readers see the old or the new file, never a mix.

    Without owner or group, those of the existing file are kept: a renewed certificate must stay
    readable by the service account it was handed to.
    """
    temp_path = write_staged(path, data, mode, resolve_uid(owner), resolve_gid(group))
    try:
        os.replace(temp_path, path)
        temp_path = None
        fsync_directory(os.path.dirname(os.path.abspath(path)))
    except OSError as error:
        raise file_error('write', path, error) from None
    finally:
        if temp_path is not None:
            discard(temp_path)


def write_staged(path, data, mode, uid=None, gid=None):
    """A temporary file beside path with data, its final mode and owner, synced: what a rename moves over path.

    Without uid or gid, those of the existing file are kept. LocalFileError leaves no temporary file.
    """
    if isinstance(data, str):
        data = data.encode('utf-8')
    refuse_symlink(path)
    if os.path.isdir(path):
        raise LocalFileError('%s is a directory, expected a file path' % path)
    try:
        existing = os.lstat(path)
    except FileNotFoundError:
        existing = None
    except OSError as error:
        raise file_error('inspect', path, error) from None
    if existing is not None:
        uid = existing.st_uid if uid is None else uid
        gid = existing.st_gid if gid is None else gid

    temp_path = _temp_path(path)
    fd = None
    try:
        fd = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0),
                     mode)
        # The umask can only have removed bits, so the file was never looser than mode; this puts
        # back any bits it removed.
        os.fchmod(fd, mode)
        current = os.fstat(fd)
        if (uid is not None and uid != current.st_uid) or (gid is not None and gid != current.st_gid):
            os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = None
        staged, temp_path = temp_path, None
        return staged
    except OSError as error:
        raise file_error('write', path, error) from None
    finally:
        if fd is not None:
            os.close(fd)
        if temp_path is not None:
            discard(temp_path)


def discard(path):
    """Remove path if it is there; for clean-up after a failure, whose error is the one to report."""
    try:
        os.unlink(path)
    except OSError:
        pass


_TEMP_RANDOM_BYTES = 6


def _temp_path(path):
    return os.path.join(os.path.dirname(os.path.abspath(path)), '.%s.%s.%s.tmp' % (
        os.path.basename(path), os.getpid(), os.urandom(_TEMP_RANDOM_BYTES).hex()))


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        # Someone else's process: alive, and its file is not ours to remove.
        return True
    return True


def remove_stale_temp_files(path):
    """Remove the temporary files that atomic_write left beside path when its process was killed.

    Only files of the name atomic_write uses, whose writing process is gone (a run in progress elsewhere
    keeps its file), owned by this user or, for root, by anyone: a run as root stages a target's files
    already chowned to their owner, so a killed install leaves them owned by that user, a key among them.
    Returns the removed paths.
    """
    directory = os.path.dirname(os.path.abspath(path))
    # The inverse of _temp_path's name: .<name>.<pid>.<random hex>.tmp
    temp_name = re.compile(r'\.%s\.([0-9]+)\.[0-9a-f]{%d}\.tmp\Z'
                           % (re.escape(os.path.basename(path)), 2 * _TEMP_RANDOM_BYTES))
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as error:
        raise file_error('list', directory, error) from None
    removed = []
    for name in names:
        match = temp_name.match(name)
        if match is None or _process_alive(int(match.group(1))):
            continue
        candidate = os.path.join(directory, name)
        try:
            info = os.lstat(candidate)
            if stat.S_ISREG(info.st_mode) and os.geteuid() in (0, info.st_uid):
                os.unlink(candidate)
                removed.append(candidate)
        except FileNotFoundError:
            continue
        except OSError as error:
            raise file_error('remove the stale temporary file', candidate, error) from None
    return removed


def ensure_directory(path, mode=PRIVATE_DIR_MODE, owner=None, group=None, parent_mode=None):
    """Create path with mode and its missing parents with parent_mode (default mode); True when something
    was created.

    Existing directories are left as they are: this must not tighten or loosen /etc or a
    directory another role manages. Only path itself must not be a symlink; symlinked parents
    (/var on some systems) are normal.
    """
    refuse_symlinked_directory(path)
    uid = resolve_uid(owner)
    gid = resolve_gid(group)
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        if os.path.lexists(current):
            raise LocalFileError('%s exists and is not a directory' % current)
        missing.append(current)
        current = os.path.dirname(current)
    for directory in reversed(missing):
        wanted = mode if directory == missing[0] or parent_mode is None else parent_mode
        try:
            os.mkdir(directory, wanted)
        except FileExistsError:
            # Another run created it in the meantime.
            if os.path.islink(directory) or not os.path.isdir(directory):
                raise LocalFileError('%s appeared meanwhile and is not a plain directory' % directory) from None
            continue
        except OSError as error:
            raise file_error('create directory', directory, error) from None
        try:
            os.chmod(directory, wanted)
            if uid is not None or gid is not None:
                os.chown(directory, -1 if uid is None else uid, -1 if gid is None else gid)
        except OSError as error:
            raise file_error('set mode or owner of', directory, error) from None
    return bool(missing)


def check_private_file(path, owner=None):
    """LocalFileError unless path is a regular file that only its owner can read or write, owned by us or
    by the owner the task asked for (a key handed to a service account)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise LocalFileError('%s does not exist' % path) from None
    except OSError as error:
        raise file_error('inspect', path, error) from None
    if stat.S_ISLNK(info.st_mode):
        raise LocalFileError('%s is a symbolic link; key and state files must be regular files' % path)
    if not stat.S_ISREG(info.st_mode):
        raise LocalFileError('%s is not a regular file' % path)
    allowed = set([os.geteuid()])
    if owner is not None:
        allowed.add(resolve_uid(owner))
    if info.st_uid not in allowed:
        raise LocalFileError('%s is owned by uid %d, not by the user running this task (uid %d)%s; fix it '
                             'with chown' % (path, info.st_uid, os.geteuid(),
                                             '' if owner is None else ' nor by the owner %s' % owner))
    if info.st_mode & 0o077:
        raise LocalFileError('%s has mode %04o and is accessible to group or others; fix it with chmod 0600 %s'
                             % (path, stat.S_IMODE(info.st_mode), path))


def file_digest(path):
    """Hex SHA-256 of the file content, or None when it does not exist."""
    digest = hashlib.sha256()
    try:
        with open(path, 'rb') as handle:
            for chunk in iter(lambda: handle.read(65536), b''):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise file_error('read', path, error) from None
    return digest.hexdigest()


def backup_file(path):
    """Copy path to path.PID.YYYY-MM-DD@HH:MM:SS~ (Ansible's backup naming) with the same mode, owner
    and times; returns the backup path, or None when path does not exist. A link is refused, not copied: its
    target may be a key that the backup would put somewhere else."""
    refuse_symlink(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise file_error('inspect', path, error) from None
    data = read_file(path)
    if data is None:
        return None
    backup = '%s.%s.%s' % (path, os.getpid(), time.strftime('%Y-%m-%d@%H:%M:%S~', time.localtime()))
    atomic_write(backup, data, stat.S_IMODE(info.st_mode), owner=info.st_uid, group=info.st_gid)
    try:
        os.utime(backup, ns=(info.st_atime_ns, info.st_mtime_ns))
    except OSError as error:
        raise file_error('set times on', backup, error) from None
    return backup


class HostLock:
    """Exclusive lock for one certificate on this host, held while the block runs.

    flock locks belong to the open file, so the kernel releases them if the process dies; the lock
    file itself stays, because deleting it would let two runs lock two different files.
    """

    def __init__(self, path, timeout=300, poll=0.2):
        self.path = path
        self.timeout = timeout
        self.poll = poll
        self._fd = None

    def __enter__(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0),
                         PRIVATE_FILE_MODE)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise LocalFileError('The lock file %s is a symbolic link; refusing to use it' % self.path) from None
            raise file_error('open the lock file', self.path, error) from None
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise file_error('lock', self.path, error) from None
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LocalFileError('Another run is in progress for this certificate: the lock %s is still held '
                                     'after %s seconds. Let the other run finish, then try again.'
                                     % (self.path, self.timeout))
            time.sleep(self.poll)
        self._fd = fd
        return self

    def __exit__(self, exc_type, exc_value, tb):
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        return False
