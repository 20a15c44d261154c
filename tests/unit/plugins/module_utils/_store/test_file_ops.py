import errno
import grp
import hashlib
import multiprocessing
import os
import pwd
import stat
import time

import pytest

from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_ops
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import LocalFileError


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _leftovers(directory, name):
    return [entry for entry in os.listdir(str(directory)) if entry.startswith('.' + name) and entry.endswith('.tmp')]


@pytest.fixture
def wide_umask():
    old = os.umask(0)
    yield
    os.umask(old)


# atomic_write


@pytest.mark.parametrize('mode', [0o600, 0o644, 0o640])
def test_atomic_write_sets_exact_mode(tmp_path, mode):
    target = tmp_path / 'cert.pem'
    file_ops.atomic_write(str(target), b'data', mode)
    assert target.read_bytes() == b'data'
    assert _mode(target) == mode


def test_atomic_write_mode_ignores_a_strict_umask(tmp_path):
    old = os.umask(0o077)
    try:
        file_ops.atomic_write(str(tmp_path / 'public.pem'), b'x', 0o644)
    finally:
        os.umask(old)
    assert _mode(tmp_path / 'public.pem') == 0o644


def test_atomic_write_temp_file_is_never_looser_than_the_final_mode(tmp_path, monkeypatch, wide_umask):
    seen = []
    real_open = os.open

    def spy_open(path, flags, mode=0o777, *args, **kwargs):
        if str(path).endswith('.tmp'):
            seen.append((flags & os.O_EXCL, mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(file_ops.os, 'open', spy_open)
    file_ops.atomic_write(str(tmp_path / 'key.pem'), b'secret', 0o600)
    assert seen == [(os.O_EXCL, 0o600)]


def test_atomic_write_replaces_and_tightens_existing_file(tmp_path):
    target = tmp_path / 'key.pem'
    target.write_bytes(b'old')
    os.chmod(str(target), 0o644)
    file_ops.atomic_write(str(target), 'new', 0o600)
    assert target.read_bytes() == b'new'
    assert _mode(target) == 0o600
    assert _leftovers(tmp_path, 'key.pem') == []


def test_atomic_write_refuses_symlink(tmp_path):
    real = tmp_path / 'real'
    real.write_bytes(b'keep')
    link = tmp_path / 'link'
    link.symlink_to(real)
    with pytest.raises(LocalFileError, match='symbolic link'):
        file_ops.atomic_write(str(link), b'evil', 0o600)
    assert real.read_bytes() == b'keep'
    assert link.is_symlink()


def test_atomic_write_refuses_dangling_symlink(tmp_path):
    link = tmp_path / 'link'
    link.symlink_to(tmp_path / 'nowhere')
    with pytest.raises(LocalFileError, match='symbolic link'):
        file_ops.atomic_write(str(link), b'evil', 0o600)
    assert not (tmp_path / 'nowhere').exists()


@pytest.mark.parametrize('failing', ['write', 'fsync'])
def test_disk_full_leaves_old_file_and_no_temp_file(tmp_path, monkeypatch, failing):
    target = tmp_path / 'cert.pem'
    target.write_bytes(b'old content')

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(file_ops.os, failing, disk_full)
        with pytest.raises(LocalFileError, match='No space left on device') as info:
            file_ops.atomic_write(str(target), b'new secret content', 0o600)
    assert 'new secret content' not in str(info.value)
    assert target.read_bytes() == b'old content'
    assert _leftovers(tmp_path, 'cert.pem') == []


def test_short_writes_are_completed(tmp_path, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(file_ops.os, 'write', lambda fd, data: real_write(fd, bytes(data[:3])))
    file_ops.atomic_write(str(tmp_path / 'f'), b'0123456789', 0o600)
    assert (tmp_path / 'f').read_bytes() == b'0123456789'


def test_atomic_write_chowns_before_writing(tmp_path, monkeypatch):
    calls = []
    real_write = os.write
    monkeypatch.setattr(file_ops.os, 'fchown', lambda fd, uid, gid: calls.append(('fchown', uid, gid)))
    monkeypatch.setattr(file_ops.os, 'write', lambda fd, data: calls.append(('write',)) or real_write(fd, data))
    file_ops.atomic_write(str(tmp_path / 'f'), b'x', 0o640, owner=12345, group='54321')
    assert calls == [('fchown', 12345, 54321), ('write',)]


def test_atomic_write_keeps_owner_of_existing_file(tmp_path, monkeypatch):
    target = tmp_path / 'cert.pem'
    target.write_bytes(b'old')
    real_lstat = os.lstat
    other = os.getuid() + 4242

    def foreign_lstat(path):
        fields = list(real_lstat(path))
        if path == str(target):
            fields[4] = other  # st_uid
        return os.stat_result(fields)

    calls = []
    monkeypatch.setattr(file_ops.os, 'lstat', foreign_lstat)
    monkeypatch.setattr(file_ops.os, 'fchown', lambda fd, uid, gid: calls.append((uid, gid)))
    file_ops.atomic_write(str(target), b'new', 0o644)
    assert calls == [(other, real_lstat(str(target)).st_gid)]


@pytest.mark.skipif(os.geteuid() != 0, reason='changing ownership needs root')
def test_atomic_write_really_keeps_owner_as_root(tmp_path):
    target = tmp_path / 'cert.pem'
    target.write_bytes(b'old')
    os.chown(str(target), 4242, 4343)
    file_ops.atomic_write(str(target), b'new', 0o644)
    info = os.stat(str(target))
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4242, 4343, 0o644)
    file_ops.atomic_write(str(target), b'newer', 0o600, owner=0, group=0)
    assert (os.stat(str(target)).st_uid, os.stat(str(target)).st_gid) == (0, 0)


def test_unknown_owner_is_a_clear_error(tmp_path):
    with pytest.raises(LocalFileError, match='user no-such-user-here does not exist'):
        file_ops.atomic_write(str(tmp_path / 'f'), b'x', 0o600, owner='no-such-user-here')
    assert not (tmp_path / 'f').exists()


# file_digest


def test_file_digest(tmp_path):
    target = tmp_path / 'f'
    assert file_ops.file_digest(str(target)) is None
    target.write_bytes(b'hello')
    assert file_ops.file_digest(str(target)) == hashlib.sha256(b'hello').hexdigest()


# ensure_directory


def test_ensure_directory_creates_parents_with_mode(tmp_path, wide_umask):
    target = tmp_path / 'a' / 'b' / 'secrets'
    assert file_ops.ensure_directory(str(target), 0o700) is True
    for path in (tmp_path / 'a', tmp_path / 'a' / 'b', target):
        assert path.is_dir() and _mode(path) == 0o700
    assert file_ops.ensure_directory(str(target), 0o700) is False


def test_ensure_directory_leaves_existing_directories_alone(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    assert file_ops.ensure_directory(str(tmp_path), 0o700) is False
    assert _mode(tmp_path) == 0o755


def test_ensure_directory_refuses_symlink_and_files(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'real')
    with pytest.raises(LocalFileError, match='symbolic link'):
        file_ops.ensure_directory(str(tmp_path / 'link'), 0o700)
    (tmp_path / 'file').write_bytes(b'')
    with pytest.raises(LocalFileError, match='not a directory'):
        file_ops.ensure_directory(str(tmp_path / 'file' / 'sub'), 0o700)


def test_ensure_directory_accepts_symlinked_parent(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'real')
    assert file_ops.ensure_directory(str(tmp_path / 'link' / 'sub'), 0o700) is True
    assert (tmp_path / 'real' / 'sub').is_dir()


# check_private_file


def test_check_private_file_accepts_0600(tmp_path):
    target = tmp_path / 'key.pem'
    file_ops.atomic_write(str(target), b'k', 0o600)
    file_ops.check_private_file(str(target))


@pytest.mark.parametrize('mode', [0o640, 0o604, 0o620, 0o602, 0o644])
def test_check_private_file_refuses_group_or_world_access(tmp_path, mode):
    target = tmp_path / 'key.pem'
    file_ops.atomic_write(str(target), b'k', mode)
    with pytest.raises(LocalFileError, match='chmod 0600'):
        file_ops.check_private_file(str(target))


def test_check_private_file_refuses_symlink_missing_and_foreign_owner(tmp_path, monkeypatch):
    target = tmp_path / 'key.pem'
    file_ops.atomic_write(str(target), b'k', 0o600)
    (tmp_path / 'link').symlink_to(target)
    with pytest.raises(LocalFileError, match='symbolic link'):
        file_ops.check_private_file(str(tmp_path / 'link'))
    with pytest.raises(LocalFileError, match='does not exist'):
        file_ops.check_private_file(str(tmp_path / 'missing'))
    with pytest.raises(LocalFileError, match='not a regular file'):
        file_ops.check_private_file(str(tmp_path))
    monkeypatch.setattr(file_ops.os, 'geteuid', lambda: os.stat(str(target)).st_uid + 1)
    with pytest.raises(LocalFileError, match='chown'):
        file_ops.check_private_file(str(target))


def test_check_private_file_accepts_the_owner_the_task_asked_for(tmp_path, monkeypatch):
    target = tmp_path / 'key.pem'
    file_ops.atomic_write(str(target), b'k', 0o600)
    file_uid = os.stat(str(target)).st_uid
    monkeypatch.setattr(file_ops.os, 'geteuid', lambda: file_uid + 1)
    file_ops.check_private_file(str(target), owner=file_uid)
    with pytest.raises(LocalFileError, match='nor by the owner'):
        file_ops.check_private_file(str(target), owner=file_uid + 2)


# backup_file


def test_backup_file_copies_content_mode_and_time(tmp_path):
    target = tmp_path / 'cert.pem'
    file_ops.atomic_write(str(target), b'old cert', 0o640)
    os.utime(str(target), (1000000000, 1000000000))
    backup = file_ops.backup_file(str(target))
    assert os.path.dirname(backup) == str(tmp_path)
    assert os.path.basename(backup).startswith('cert.pem.%d.' % os.getpid()) and backup.endswith('~')
    assert open(backup, 'rb').read() == b'old cert'
    assert _mode(backup) == 0o640
    assert os.stat(backup).st_mtime == 1000000000
    assert target.read_bytes() == b'old cert'


def test_backup_of_missing_file_is_none(tmp_path):
    assert file_ops.backup_file(str(tmp_path / 'nothing')) is None


def test_backup_of_a_link_is_refused_and_copies_nothing(tmp_path):
    (tmp_path / 'key.pem').write_bytes(b'secret')
    (tmp_path / 'cert.pem').symlink_to(tmp_path / 'key.pem')
    with pytest.raises(LocalFileError, match='is a symbolic link'):
        file_ops.backup_file(str(tmp_path / 'cert.pem'))
    assert sorted(os.listdir(str(tmp_path))) == ['cert.pem', 'key.pem']


# HostLock


def _hold_lock(path, acquired, release):
    with file_ops.HostLock(path, timeout=5):
        acquired.set()
        release.wait(10)


def test_lock_file_is_private_and_reusable(tmp_path):
    path = str(tmp_path / 'cert.pem.lock')
    with file_ops.HostLock(path, timeout=1):
        assert _mode(path) == 0o600
    with file_ops.HostLock(path, timeout=1):
        pass


def test_lock_contention_between_processes(tmp_path):
    path = str(tmp_path / 'cert.pem.lock')
    context = multiprocessing.get_context('fork')
    acquired, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(path, acquired, release))
    holder.start()
    try:
        assert acquired.wait(10)
        started = time.monotonic()
        with pytest.raises(LocalFileError, match='Another run is in progress') as info:
            with file_ops.HostLock(path, timeout=0.5, poll=0.05):
                pytest.fail('the lock was acquired while another process held it')
        assert time.monotonic() - started >= 0.5
        assert path in str(info.value)
        release.set()
        with file_ops.HostLock(path, timeout=5, poll=0.05):
            pass
    finally:
        release.set()
        holder.join(10)
    assert holder.exitcode == 0


def test_lock_released_when_holder_dies(tmp_path):
    path = str(tmp_path / 'cert.pem.lock')
    context = multiprocessing.get_context('fork')
    acquired, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(path, acquired, release))
    holder.start()
    assert acquired.wait(10)
    holder.kill()
    holder.join(10)
    with file_ops.HostLock(path, timeout=5, poll=0.05):
        pass


def test_lock_refuses_symlink(tmp_path):
    (tmp_path / 'link').symlink_to(tmp_path / 'elsewhere')
    with pytest.raises(LocalFileError, match='symbolic link'):
        with file_ops.HostLock(str(tmp_path / 'link'), timeout=1):
            pass
    assert not (tmp_path / 'elsewhere').exists()


def test_resolve_owner_and_group_names_and_numbers():
    assert file_ops.resolve_uid(None) is None
    assert file_ops.resolve_uid('1234') == 1234
    assert file_ops.resolve_uid(pwd.getpwuid(0).pw_name) == 0
    assert file_ops.resolve_gid(grp.getgrgid(0).gr_name) == 0
    with pytest.raises(LocalFileError, match='group no-such-group-here does not exist'):
        file_ops.resolve_gid('no-such-group-here')


def test_parents_created_on_the_way_get_their_own_mode(tmp_path):
    target = tmp_path / 'etc' / 'ir' / 'private'
    assert file_ops.ensure_directory(str(target), 0o700, parent_mode=0o755) is True
    assert [_mode(path) for path in (tmp_path / 'etc', tmp_path / 'etc' / 'ir', target)] == [0o755, 0o755, 0o700]


def _dead_pid():
    dead_pid = 4194303
    while True:
        try:
            os.kill(dead_pid, 0)
        except ProcessLookupError:
            return dead_pid
        except OSError:
            pass
        dead_pid -= 1


def test_stale_temporary_files_are_removed_only_when_their_writer_is_gone(tmp_path):
    target = tmp_path / 'key.pem'
    dead_pid = _dead_pid()
    stale = tmp_path / ('.key.pem.%d.00112233aabb.tmp' % dead_pid)
    running = tmp_path / ('.key.pem.%d.00112233aabb.tmp' % os.getpid())
    other_name = tmp_path / ('.key.pem.bak.%d.00112233aabb.tmp' % dead_pid)
    for path in (stale, running, other_name):
        path.write_bytes(b'x')
    assert file_ops.remove_stale_temp_files(str(target)) == [str(stale)]
    assert running.exists() and other_name.exists() and not stale.exists()
    assert file_ops.remove_stale_temp_files(str(tmp_path / 'missing' / 'key.pem')) == []


@pytest.mark.skipif(os.geteuid() != 0, reason='chowning to another user needs root')
def test_root_removes_a_killed_installs_temporary_file_chowned_to_the_targets_owner(tmp_path):
    # A run as root stages a target's key already chowned to the service's user; killed before the rename,
    # it leaves a copy of the key that only root can tidy.
    stale = tmp_path / ('.key.pem.%d.00112233aabb.tmp' % _dead_pid())
    stale.write_bytes(b'key')
    os.chown(str(stale), 4242, 4343)
    assert file_ops.remove_stale_temp_files(str(tmp_path / 'key.pem')) == [str(stale)]
    assert not stale.exists()


@pytest.mark.parametrize('value, expected', [('0644', 0o644), ('640', 0o640), (0o600, 0o600), (420, 0o644)])
def test_a_mode_is_an_octal_string_or_the_number_itself(value, expected):
    assert file_ops.parse_mode(value) == expected


@pytest.mark.parametrize('value', [644, 600, '1644', '4755'])
def test_a_mode_with_bits_above_0o777_is_refused_as_an_unquoted_slip(value):
    with pytest.raises(LocalFileError, match="^mode .* in octal, with bits no certificate or key file needs: quote"):
        file_ops.parse_mode(value)


@pytest.mark.parametrize('value, refused', [('0600', False), ('0640', False), ('0400', False), ('0660', True),
                                            ('0644', True), (440, True), (400, True)])
def test_a_key_mode_may_not_let_others_read_or_the_group_write(value, refused):
    if not refused:
        assert file_ops.parse_mode(value, 'private_key_mode', secret=True) == int(value, 8)
        return
    with pytest.raises(LocalFileError, match='^private_key_mode .* lets others read the key or its group write it'):
        file_ops.parse_mode(value, 'private_key_mode', secret=True)
