"""certificate_install's writes: a target's files go in together or not at all."""
import errno
import os
import stat
import sys

import pytest
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pki_fixtures as pf  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils._install import batch  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import (  # noqa: E402
    certificate_to_pem)
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (  # noqa: E402
    CertificateServiceError)

OLD_CERTIFICATE = b'the old certificate\n'
OLD_KEY = b'the old key\n'
DEFAULTS = dict(certificate_path=None, private_key_path=None, private_key_passphrase=None, chain_path=None,
                layout='pem', dest=None, private_key_dest=None, chain_dest=None, pkcs12_passphrase=None,
                friendly_name=None, owner=None, group=None, mode='0644', private_key_mode='0600', backup=False,
                targets=None)


@pytest.fixture(scope='module')
def pki():
    return pf.make_pki()


def write(path, data, mode):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(str(path), mode)


class Source(object):
    def __init__(self, root, cert, key, chain):
        self.cert = root / 'cert.pem'
        self.key = root / 'private' / 'key.pem'
        self.chain = root / 'chain.pem'
        write(self.cert, certificate_to_pem(cert), 0o644)
        write(self.key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()), 0o600)
        write(self.chain, b''.join(certificate_to_pem(c) for c in chain), 0o644)

    def options(self):
        return dict(certificate_path=str(self.cert), private_key_path=str(self.key), chain_path=str(self.chain))


@pytest.fixture
def source(pki, tmp_path):
    return Source(tmp_path / 'src', pki['leaf'], pki['leaf_key'], [pki['issuing']])


@pytest.fixture
def other_source(pki, tmp_path):
    cert, key = pf.make_leaf(pki['issuing'], pki['issuing_key'], customer_id='7654321-0', key_label='other-leaf')
    return Source(tmp_path / 'other-src', cert, key, [pki['issuing']])


@pytest.fixture
def deploy(tmp_path):
    """An installed pair that a failed run must leave as it was."""
    path = tmp_path / 'deploy'
    write(path / 'tls.crt', OLD_CERTIFICATE, 0o644)
    write(path / 'private' / 'tls.key', OLD_KEY, 0o600)
    return path


def params(source, deploy, **extra):
    result = dict(DEFAULTS, dest=str(deploy / 'tls.crt'), private_key_dest=str(deploy / 'private' / 'tls.key'),
                  **source.options())
    result.update(extra)
    return result


def tree(root):
    found = {}
    for directory, dummy, names in os.walk(str(root)):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, 'rb') as handle:
                found[os.path.relpath(path, str(root))] = (handle.read(), stat.S_IMODE(os.lstat(path).st_mode))
    return found


def old_pair_only(deploy):
    return tree(deploy) == {'tls.crt': (OLD_CERTIFICATE, 0o644), os.path.join('private', 'tls.key'): (OLD_KEY, 0o600)}


def _fail_writing_the_key(monkeypatch):
    real = os.write

    def write_(fd, data):
        if b'PRIVATE KEY' in bytes(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)
    monkeypatch.setattr(os, 'write', write_)


def _fail_the_second_chown(monkeypatch):
    real, calls = os.fchown, []

    def fchown(fd, uid, gid):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.EPERM, os.strerror(errno.EPERM))
        return real(fd, uid, gid)
    monkeypatch.setattr(os, 'fchown', fchown)


def _fail_syncing_the_key(monkeypatch):
    real = os.fsync

    def fsync(fd):
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(fd)
    monkeypatch.setattr(os, 'fsync', fsync)


@pytest.mark.parametrize('backup', [False, True], ids=['no backup', 'backup'])
@pytest.mark.parametrize('fail', [_fail_writing_the_key, _fail_the_second_chown, _fail_syncing_the_key],
                         ids=['write', 'chown', 'fsync'])
def test_a_key_that_cannot_be_prepared_leaves_the_old_pair_and_no_temporary_file(
        source, deploy, monkeypatch, fail, backup):
    fail(monkeypatch)
    # An owner other than the current one, so that each file is chowned.
    with pytest.raises(CertificateServiceError) as raised:
        batch.install(params(source, deploy, owner='65534', backup=backup), False, False)
    assert raised.value.message.startswith('Could not write private_key_dest %s: ' % (deploy / 'private' / 'tls.key'))
    assert raised.value.message.endswith('. No file of this target was replaced.')
    assert old_pair_only(deploy), tree(deploy)


def test_a_key_directory_that_cannot_be_created_leaves_the_old_certificate(source, deploy, monkeypatch):
    def mkdir(path, mode=0o777):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))
    monkeypatch.setattr(os, 'mkdir', mkdir)
    with pytest.raises(CertificateServiceError) as raised:
        batch.install(params(source, deploy, private_key_dest=str(deploy / 'keys' / 'tls.key')), False, False)
    assert raised.value.message.startswith('Could not create directory %s: ' % (deploy / 'keys'))
    assert raised.value.message.endswith('. No file of this target was replaced.')
    assert old_pair_only(deploy), tree(deploy)


def test_a_target_goes_in_whole_with_its_modes_and_backups(source, deploy):
    result = batch.install(params(source, deploy, backup=True, chain_dest=str(deploy / 'chain.pem')), False, False)
    assert result['changed'] is True
    files = tree(deploy)
    assert files['tls.crt'] == (source.cert.read_bytes(), 0o644)
    assert files[os.path.join('private', 'tls.key')][1] == 0o600
    assert files['chain.pem'] == (source.chain.read_bytes(), 0o644)
    backups = dict((os.path.relpath(path, str(deploy)), backup) for path, backup in result['backups'].items())
    assert sorted(backups) == [os.path.join('private', 'tls.key'), 'tls.crt']
    assert files[os.path.relpath(backups['tls.crt'], str(deploy))] == (OLD_CERTIFICATE, 0o644)
    assert files[os.path.relpath(backups[os.path.join('private', 'tls.key')], str(deploy))] == (OLD_KEY, 0o600)
    assert len(files) == 5, sorted(files)
    assert batch.install(params(source, deploy, chain_dest=str(deploy / 'chain.pem')), False, False)['changed'] is False


def test_a_failed_rename_removes_the_temporary_files_and_says_what_was_replaced(source, deploy, monkeypatch):
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if dst.endswith('tls.key'):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(src, dst)
    monkeypatch.setattr(os, 'replace', replace)
    with pytest.raises(CertificateServiceError) as raised:
        batch.install(params(source, deploy), False, False)
    assert 'dest already holds the new content' in raised.value.message
    assert 'Run the task again' in raised.value.message
    assert sorted(tree(deploy)) == [os.path.join('private', 'tls.key'), 'tls.crt']

