"""certificate_install's writes: a target's files go in together or not at all, and no two targets of one run
write one file differently."""
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
    assert raised.value.message.startswith('Could not write %s: ' % (deploy / 'private' / 'tls.key'))
    assert '(private_key_dest)' in raised.value.message
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


@pytest.mark.parametrize('failing, replaced', [('tls.crt', False), ('tls.key', True)])
def test_a_failed_rename_with_backups_keeps_them_only_when_a_file_was_replaced(source, deploy, monkeypatch,
                                                                               failing, replaced):
    real = os.replace

    def replace(src, dst):
        if dst.endswith(failing):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(src, dst)
    monkeypatch.setattr(os, 'replace', replace)
    with pytest.raises(CertificateServiceError) as raised:
        batch.install(params(source, deploy, backup=True), False, False)
    backups = [name for name in tree(deploy) if name not in (os.path.join('private', 'tls.key'), 'tls.crt')]
    if replaced:
        assert len(backups) == 2 and 'the old files are kept as ' in raised.value.message
    else:
        assert backups == [] and 'No file of this target was replaced.' in raised.value.message


class Exit(Exception):
    def __init__(self, failed, result):
        Exception.__init__(self, result.get('msg'))
        self.failed = failed
        self.result = result


class FakeModule(object):
    def __init__(self, targets, check_mode=False, **task):
        self.params = dict(DEFAULTS, **task)
        self.params['targets'] = targets
        self.check_mode = check_mode
        self._diff = True

    def fail_json(self, **result):
        raise Exit(True, result)

    def exit_json(self, **result):
        raise Exit(False, result)


def run_many(targets, check_mode=False, **task):
    with pytest.raises(Exit) as done:
        batch.install_many(FakeModule(targets, check_mode, **task))
    return done.value


@pytest.mark.parametrize('check_mode', [False, True], ids=['run', 'check'])
def test_two_certificates_inheriting_one_destination_are_refused_before_anything_is_written(
        source, other_source, tmp_path, check_mode):
    shared = tmp_path / 'shared'
    shared.mkdir()
    # renewal_install_targets inherited by two certificate entries: the same layout and paths for both.
    inherited = dict(layout='fullchain', dest=str(shared / 'tls.pem'), private_key_dest=str(shared / 'tls.key'))
    done = run_many([dict(source.options(), **inherited), dict(other_source.options(), **inherited)], check_mode)
    assert done.failed is True
    first, second = done.result['results']
    assert first['failed'] is True and second['failed'] is True
    for result in (first, second):
        assert 'targets[0] (certificate %s) dest' % source.cert in result['msg']
        assert 'targets[1] (certificate %s) dest' % other_source.cert in result['msg']
        assert os.path.realpath(str(shared / 'tls.pem')) in result['msg']
        assert result['changed'] is False
    assert os.listdir(str(shared)) == []


def test_one_targets_key_over_another_targets_certificate_through_a_linked_directory_is_refused(
        source, other_source, tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir()
    (tmp_path / 'alias').symlink_to(shared)
    third = tmp_path / 'third'
    done = run_many([
        dict(source.options(), layout='pem', dest=str(shared / 'a.crt'), private_key_dest=str(shared / 'a.key')),
        dict(other_source.options(), layout='pem', dest=str(third / 'b.crt'),
             private_key_dest=str(tmp_path / 'alias' / 'a.crt')),
        dict(other_source.options(), layout='combined', dest=str(third / 'combined.pem')),
    ])
    assert done.failed is True
    first, second, unrelated = done.result['results']
    assert first['failed'] and second['failed']
    assert ('targets[0] (certificate %s) dest and targets[1] (certificate %s) private_key_dest are the same file, %s'
            % (source.cert, other_source.cert, os.path.realpath(str(shared / 'a.crt')))) in second['msg']
    assert os.listdir(str(shared)) == []
    # A target that shares nothing is deployed: one misconfigured certificate does not hold back the others.
    assert unrelated['failed'] is False and unrelated['changed'] is True
    assert sorted(os.listdir(str(third))) == ['combined.pem']


def test_a_destination_that_is_another_targets_source_is_refused_and_the_source_kept(
        source, other_source, tmp_path):
    before = other_source.key.read_bytes()
    deploy = tmp_path / 'deploy'
    done = run_many([
        dict(source.options(), layout='pem', dest=str(deploy / 'tls.crt'), private_key_dest=str(other_source.key)),
        dict(other_source.options(), layout='combined', dest=str(deploy / 'other.pem')),
    ])
    first, second = done.result['results']
    assert first['failed'] is True
    assert ('targets[0] (certificate %s) private_key_dest and targets[1] (certificate %s) private_key_path are the '
            'same file, %s' % (source.cert, other_source.cert, os.path.realpath(str(other_source.key)))) in first['msg']
    assert other_source.key.read_bytes() == before
    # The target whose source it is only reads it, so it goes ahead.
    assert second['failed'] is False and second['changed'] is True
    assert sorted(os.listdir(str(deploy))) == ['other.pem']


def test_a_destination_that_is_its_own_source_is_still_refused_among_several_targets(source, tmp_path):
    before = source.key.read_bytes()
    done = run_many([dict(source.options(), layout='combined', dest=str(source.key))])
    assert done.result['results'][0]['failed'] is True
    assert done.result['results'][0]['msg'].startswith('dest and private_key_path are the same file')
    assert source.key.read_bytes() == before


def test_targets_that_share_only_their_sources_are_deployed(source, tmp_path):
    done = run_many([dict(layout='combined', dest=str(tmp_path / 'a' / 'combined.pem')),
                     dict(layout='pkcs12', dest=str(tmp_path / 'b' / 'keystore.p12'), pkcs12_passphrase='phrase')],
                    **source.options())
    assert done.failed is False, done.result
    assert [r['changed'] for r in done.result['results']] == [True, True]


def _sharing_a_chain(source, other_source, tmp_path, **other):
    """The renewal role's case: two certificates of one environment, each deployed to paths of its own, with
    chain_dest (and chain_path, renewal_issuing_ca_path) inherited by both."""
    chain = str(tmp_path / 'ca' / 'ca.pem')
    return [dict(source.options(), dest=str(tmp_path / 'a' / 'tls.crt'),
                 private_key_dest=str(tmp_path / 'a' / 'tls.key'), chain_dest=chain),
            dict(other_source.options(), dest=str(tmp_path / 'b' / 'tls.crt'),
                 private_key_dest=str(tmp_path / 'b' / 'tls.key'), chain_dest=chain, **other)]


def test_targets_that_write_the_same_chain_to_one_file_are_both_deployed_and_a_rerun_changes_nothing(
        source, other_source, tmp_path):
    targets = _sharing_a_chain(source, other_source, tmp_path)
    write(tmp_path / 'ca' / 'ca.pem', b'the old chain\n', 0o644)
    checked = run_many(targets, check_mode=True, backup=True)
    assert checked.failed is False, checked.result
    assert [r['changed'] for r in checked.result['results']] == [True, True]
    assert tree(tmp_path / 'ca') == {'ca.pem': (b'the old chain\n', 0o644)} and not (tmp_path / 'a').exists()
    done = run_many(targets, backup=True)
    assert done.failed is False, done.result
    assert [r['changed'] for r in done.result['results']] == [True, True]
    # The same diffs as the check showed: each target lists the chain it brings.
    assert done.result['diff'] == checked.result['diff']
    assert [d['after_header'] for d in done.result['diff']].count(targets[0]['chain_dest']) == 2
    # Written once: one backup, of the old chain.
    assert sorted(tree(tmp_path / 'ca').values()) == sorted([(b'the old chain\n', 0o644),
                                                             (source.chain.read_bytes(), 0o644)])
    assert (tmp_path / 'a' / 'tls.crt').read_bytes() == source.cert.read_bytes()
    assert (tmp_path / 'b' / 'tls.crt').read_bytes() == other_source.cert.read_bytes()
    again = run_many(targets)
    assert again.failed is False and again.result['changed'] is False, again.result


@pytest.mark.parametrize('differs', ['content', 'mode'])
def test_targets_that_write_one_chain_file_differently_are_both_refused(pki, source, other_source, tmp_path, differs):
    if differs == 'content':
        # Another issuing bundle: the root after the issuing CA.
        other_source.chain.write_bytes(certificate_to_pem(pki['issuing']) + certificate_to_pem(pki['root']))
    done = run_many(_sharing_a_chain(source, other_source, tmp_path, **({'mode': '0640'} if differs == 'mode' else {})))
    assert done.failed is True
    expected = ('targets[0] (certificate %s) chain_dest and targets[1] (certificate %s) chain_dest are the same file, '
                '%s, with different %s: ' % (source.cert, other_source.cert, tmp_path / 'ca' / 'ca.pem', differs))
    for result in done.result['results']:
        assert result['failed'] is True and result['changed'] is False
        assert expected in result['msg'], result['msg']
    assert sorted(os.listdir(str(tmp_path))) == ['other-src', 'src']
