import os
import sys

import pytest
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pki_fixtures  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils._store import certificate_store  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_ops, file_reads  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import certificates as certs  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils._store.pending_request import RETRIEVED  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import LocalFileError  # noqa: E402


def test_a_key_is_loaded_once_per_content(tmp_path, monkeypatch):
    key_path = str(tmp_path / 'key.pem')
    first, second = pki_fixtures.rsa_key('store-a'), pki_fixtures.rsa_key('store-b')
    file_ops.atomic_write(key_path, keys.serialize_private_key(first), 0o600)
    loads = []
    real_load = keys.load_private_key

    def counting_load(data, passphrase=None, for_signing=True):
        loads.append((data, for_signing))
        return real_load(data, passphrase, for_signing=for_signing)
    monkeypatch.setattr(certificate_store.keys, 'load_private_key', counting_load)
    store = certificate_store.CertificateStore(str(tmp_path / 'cert.pem'), key_path)

    assert store.private_key().private_numbers() == first.private_numbers()
    assert store.private_key().private_numbers() == first.private_numbers()
    assert len(loads) == 1

    file_ops.atomic_write(key_path, keys.serialize_private_key(second), 0o600)
    assert store.private_key().private_numbers() == second.private_numbers(), 'a replaced key is read again'
    assert len(loads) == 2


def test_a_key_about_to_sign_is_checked_once_even_after_a_compare_only_load(tmp_path, monkeypatch):
    key_path = str(tmp_path / 'key.pem')
    file_ops.atomic_write(key_path, keys.serialize_private_key(pki_fixtures.rsa_key('store-a')), 0o600)
    loads = []
    real_load = keys.load_private_key

    def counting_load(data, passphrase=None, for_signing=True):
        loads.append(for_signing)
        return real_load(data, passphrase, for_signing=for_signing)
    monkeypatch.setattr(certificate_store.keys, 'load_private_key', counting_load)
    store = certificate_store.CertificateStore(str(tmp_path / 'cert.pem'), key_path)

    store.private_key()
    store.private_key()
    assert loads == [False], 'reads that only compare skip the RSA check'
    store.private_key(for_signing=True)
    store.private_key(for_signing=True)
    store.private_key()
    assert loads == [False, True], 'the check runs once, before the key signs'


def test_a_damaged_key_is_refused_before_it_signs(tmp_path):
    key_path = str(tmp_path / 'key.pem')
    file_ops.atomic_write(key_path, pki_fixtures.inconsistent_rsa_pem(pki_fixtures.rsa_key('store-a')), 0o600)
    store = certificate_store.CertificateStore(str(tmp_path / 'cert.pem'), key_path)
    assert store.private_key() is not None
    with pytest.raises(keys.PrivateKeyError, match='damaged'):
        store.private_key(for_signing=True)


def test_the_cache_never_skips_the_permission_check(tmp_path):
    key_path = str(tmp_path / 'key.pem')
    file_ops.atomic_write(key_path, keys.serialize_private_key(pki_fixtures.rsa_key('store-a')), 0o600)
    store = certificate_store.CertificateStore(str(tmp_path / 'cert.pem'), key_path)
    store.private_key()
    os.chmod(key_path, 0o644)
    with pytest.raises(file_ops.LocalFileError, match='chmod 0600'):
        store.private_key()


def two_certificates_on_one_key(tmp_path):
    """(key path, store a, store b): two certificates given one private_key_path."""
    key_path = str(tmp_path / 'private' / 'key.pem')
    return (key_path, certificate_store.CertificateStore(str(tmp_path / 'a' / 'cert.pem'), key_path),
            certificate_store.CertificateStore(str(tmp_path / 'b' / 'cert.pem'), key_path))


def test_two_certificates_sharing_one_key_are_serialised(tmp_path):
    dummy, first, second = two_certificates_on_one_key(tmp_path)
    with first.lock(timeout=5):
        with pytest.raises(LocalFileError, match='key.pem.lock is still held'):
            with second.lock(timeout=0.3):
                pass
    with second.lock(timeout=5):
        pass


def test_a_key_path_belongs_to_the_certificate_that_used_it_first(tmp_path):
    # A renewal of either certificate would replace the other one's key: the second one is refused under
    # the lock, before a request could be made, for as long as the first certificate's file exists.
    key_path, first, second = two_certificates_on_one_key(tmp_path)
    with first.lock(timeout=5):
        pass
    (tmp_path / 'a' / 'cert.pem').write_text('the first certificate')
    with pytest.raises(LocalFileError) as refused:
        with second.lock(timeout=5):
            pass
    assert refused.value.message == (
        'The key %s belongs to the certificate %s (recorded in %s.lock), and a request for %s would replace it. '
        'Give each certificate its own private_key_path. If %s no longer uses this key, delete %s.lock while no '
        'run is in progress.'
        % (key_path, tmp_path / 'a' / 'cert.pem', key_path, tmp_path / 'b' / 'cert.pem', tmp_path / 'a' / 'cert.pem',
           key_path))
    with first.lock(timeout=5):
        pass
    os.remove(str(tmp_path / 'a' / 'cert.pem'))
    with second.lock(timeout=5):
        pass
    with open(key_path + '.lock') as lock_file:
        assert lock_file.read() == '%s\n%s.state.json\n%s\n' % (
            tmp_path / 'b' / 'cert.pem', tmp_path / 'b' / 'cert.pem', tmp_path / 'b' / 'cert.pem')


def test_a_certificate_whose_release_directory_was_switched_keeps_its_key(tmp_path):
    for release in ('rel1', 'rel2'):
        (tmp_path / release / 'tls').mkdir(parents=True)
        (tmp_path / release / 'tls' / 'cert.pem').write_text('certificate of %s' % release)
    current = tmp_path / 'current'
    current.symlink_to(tmp_path / 'rel1')
    store = certificate_store.CertificateStore(str(current / 'tls' / 'cert.pem'), str(tmp_path / 'shared' / 'key.pem'))
    with store.lock(timeout=5):
        pass
    current.unlink()
    current.symlink_to(tmp_path / 'rel2')
    with store.lock(timeout=5):
        pass


def test_a_first_certificate_still_being_requested_holds_its_key(tmp_path):
    # No certificate file yet, only the state of its request (and <key>.new): the key is still taken.
    key_path, first, second = two_certificates_on_one_key(tmp_path)
    with first.lock(timeout=5):
        first.new_request('sign', customer_id='1234567-8', environment='TEST').save()
    with pytest.raises(LocalFileError, match='belongs to the certificate %s' % (tmp_path / 'a' / 'cert.pem')):
        with second.lock(timeout=5):
            pass
    # Check mode takes no lock and writes nothing, but predicts the refusal.
    with open(key_path + '.lock') as lock_file:
        recorded = lock_file.read()
    with pytest.raises(LocalFileError, match='belongs to the certificate'):
        second.check_key_claim()
    first.check_key_claim()
    with open(key_path + '.lock') as lock_file:
        assert lock_file.read() == recorded


@pytest.mark.parametrize('paths, message', [
    (dict(state_path='KEY'), 'private_key_path and state_path are the same file'),
    (dict(path='KEY'), 'path and private_key_path are the same file'),
    (dict(path='KEY.new'), 'path and the new key'),
    (dict(state_path='CERT.new'), 'state_path and the new certificate'),
])
def test_files_of_one_certificate_must_be_distinct(tmp_path, paths, message):
    key = str(tmp_path / 'key.pem')
    cert = str(tmp_path / 'cert.pem')
    resolved = dict((name, value.replace('KEY', key).replace('CERT', cert)) for name, value in paths.items())
    store = certificate_store.CertificateStore(resolved.get('path', cert), key,
                                               state_path=resolved.get('state_path'))
    with pytest.raises(LocalFileError, match=message):
        store.check_paths()
    certificate_store.CertificateStore(cert, key).check_paths()


@pytest.mark.parametrize('which', ['path', 'private_key_path', 'state_path'])
def test_relative_paths_are_refused(tmp_path, which):
    paths = dict(path=str(tmp_path / 'cert.pem'), private_key_path=str(tmp_path / 'key.pem'), state_path=None)
    paths[which] = 'relative/file.pem'
    store = certificate_store.CertificateStore(**paths)
    with pytest.raises(LocalFileError) as refused:
        store.check_paths()
    assert refused.value.message == '%s relative/file.pem is relative: give an absolute path. Nothing was changed.' % which


def test_a_replacement_takes_only_the_ownership_this_process_may_give(tmp_path, monkeypatch):
    """Root keeps the replaced file's owner and group; a task that is not root keeps its group only when it is one
    of the task's, since a refused chown after the certificate was issued would fail every rerun."""
    store = certificate_store.CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem'))
    (tmp_path / 'cert.pem').write_bytes(b'old')
    info = os.lstat(str(tmp_path / 'cert.pem'))
    stranger = info.st_gid + 4242
    monkeypatch.setattr(os, 'lstat', lambda path: os.stat_result(
        (info.st_mode, 0, 0, 1, 1234, stranger, 3, 0, 0, 0)))
    monkeypatch.setattr(os, 'geteuid', lambda: 0)
    assert store._ownership(store.path) == (1234, stranger)
    monkeypatch.setattr(os, 'geteuid', lambda: 1234)
    monkeypatch.setattr(os, 'getegid', lambda: 99)
    monkeypatch.setattr(os, 'getgroups', lambda: [99])
    assert store._ownership(store.path) == (None, None)
    monkeypatch.setattr(os, 'getgroups', lambda: [99, stranger])
    assert store._ownership(store.path) == (None, stranger)
    assert certificate_store.CertificateStore(store.path, store.key_path, owner='svc', group='svc')._ownership(store.path) == (
        'svc', 'svc')


def swap_ready(tmp_path, change_mark):
    """A store with a pair in place and a retrieved, verified new pair waiting for the swap."""
    root, root_key = pki_fixtures.make_root()
    issuing, issuing_key = pki_fixtures.make_intermediate(root, root_key)
    store = certificate_store.CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'private' / 'key.pem'),
                                               change_mark=change_mark)
    (tmp_path / 'private').mkdir(mode=0o700)
    for label, cert_path, key_path in (('swap-old', store.path, store.key_path),
                                       ('swap-new', store.new_cert_path, store.new_key_path)):
        key = pki_fixtures.rsa_key(label)
        cert, dummy = pki_fixtures.make_leaf(issuing, issuing_key, key=key)
        file_ops.atomic_write(cert_path, certs.certificate_to_pem(cert), 0o644)
        file_ops.atomic_write(key_path, keys.serialize_private_key(key), 0o600)
    request = store.new_request('renew', customer_id=pki_fixtures.CUSTOMER_ID, retrieval_id='R1')
    request.advance(RETRIEVED)
    return store, request


@pytest.mark.parametrize('killed_at', ['key', 'certificate'])
def test_a_swap_stopped_at_either_rename_leaves_the_change_mark(tmp_path, monkeypatch, killed_at):
    store, request = swap_ready(tmp_path, change_mark=True)
    assert store.change_mark() is None
    old = store.certificate()
    real_replace = os.replace
    stop = store.key_path if killed_at == 'key' else store.path

    def killed(source, target):
        if target == stop:
            raise KeyboardInterrupt('killed')
        real_replace(source, target)
    monkeypatch.setattr(os, 'replace', killed)
    with pytest.raises(KeyboardInterrupt):
        store.finish_swap(request)
    assert store.change_mark() == str(tmp_path / 'cert.pem.changed')
    mark = (tmp_path / 'cert.pem.changed').read_text()
    assert 'cert.pem was replaced' in mark
    assert file_reads.read_change_mark(store.path)['replaced_not_after'] == certs.iso(old.not_valid_after_utc)

    monkeypatch.setattr(os, 'replace', real_replace)
    done = store.finish_swap(request)
    assert keys.keys_match(store.private_key(), done['certificate'])
    assert store.change_mark() == str(tmp_path / 'cert.pem.changed'), 'only whoever restarts the services removes it'
    assert (tmp_path / 'cert.pem.changed').read_text() == mark, 'the rerun names the certificate the services read'
    (tmp_path / 'cert.pem.changed').unlink()
    assert store.change_mark() is None


def test_a_swap_removes_the_keys_set_aside_for_unanswered_renewals_and_nothing_else(tmp_path):
    store, request = swap_ready(tmp_path, change_mark=False)
    private = tmp_path / 'private'
    kept = ['key.pem.new.unanswered-20261101T080000Z', 'key.pem.new.unanswered-20261202T093015Z']
    others = ['key.pem.new.unanswered-notes.txt', 'key.pem.new.unanswered-20261101T0800Z',
              'other.pem.new.unanswered-20261101T080000Z', 'key.pem.unanswered-20261101T080000Z']
    for name in kept + others:
        (private / name).write_text('a key')
    done = store.finish_swap(request)
    assert done['removed_keys'] == [str(private / name) for name in kept]
    assert sorted(name for name in os.listdir(str(private)) if 'unanswered' in name) == sorted(others)


def test_a_set_aside_key_that_cannot_be_removed_does_not_fail_the_swap(tmp_path, monkeypatch):
    store, request = swap_ready(tmp_path, change_mark=False)
    (tmp_path / 'private' / 'key.pem.new.unanswered-20261101T080000Z').write_text('a key')
    real_unlink = os.unlink

    def refused(path, *args, **kwargs):
        if '.unanswered-' in str(path):
            raise PermissionError(13, 'Permission denied')
        return real_unlink(path, *args, **kwargs)
    monkeypatch.setattr(os, 'unlink', refused)
    done = store.finish_swap(request)
    assert done['removed_keys'] == [] and keys.keys_match(store.private_key(), done['certificate'])
    assert done['keys_left'] == [(str(tmp_path / 'private' / 'key.pem.new.unanswered-20261101T080000Z'),
                                  'Permission denied')]
    assert store.pending() is None


def test_a_missing_request_key_with_an_unreadable_set_aside_key_is_not_told_to_request_again(tmp_path):
    """The set-aside key may be the certificate's own: requesting again would throw that certificate away."""
    root, root_key = pki_fixtures.make_root()
    issuing, issuing_key = pki_fixtures.make_intermediate(root, root_key)
    store = certificate_store.CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'private' / 'key.pem'))
    (tmp_path / 'private').mkdir(mode=0o700)
    key = pki_fixtures.rsa_key('store-aside')
    cert, dummy = pki_fixtures.make_leaf(issuing, issuing_key, key=key)
    aside = store.new_key_path + '.unanswered-20261101T080000Z'
    file_ops.atomic_write(aside, keys.serialize_private_key(key), 0o600)
    os.chmod(aside, 0o644)
    request = store.new_request('renew', customer_id=pki_fixtures.CUSTOMER_ID).advance('submitted', retrieval_id='R1')
    with pytest.raises(certificate_store.StateError) as refused:
        store.complete(request, cert.public_bytes(serialization.Encoding.DER), pki_fixtures.CUSTOMER_ID, [issuing])
    assert 'the keys set aside at %s (' % aside in refused.value.message
    assert 'request again' not in refused.value.message and os.path.exists(aside)
    os.chmod(aside, 0o600)
    done = store.complete(request, cert.public_bytes(serialization.Encoding.DER), pki_fixtures.CUSTOMER_ID, [issuing])
    assert done['restored_key'] == aside and keys.keys_match(store.private_key(), done['certificate'])


def test_a_mark_left_by_an_earlier_swap_is_kept(tmp_path):
    """The services have not been restarted since that earlier swap: the certificate they may read is the one it
    names, not the one this swap replaces."""
    store, request = swap_ready(tmp_path, change_mark=True)
    earlier = file_reads.change_mark_text(store.path, '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')
    (tmp_path / 'cert.pem.changed').write_text(earlier)
    store.finish_swap(request)
    assert (tmp_path / 'cert.pem.changed').read_text() == earlier
    assert file_reads.read_change_mark(store.path) == dict(
        path=store.path + '.changed', replaced_at='2026-01-01T00:00:00Z', replaced_not_after='2026-02-01T00:00:00Z')


def test_a_swap_over_a_certificate_that_cannot_be_read_still_marks_it(tmp_path):
    store, request = swap_ready(tmp_path, change_mark=True)
    (tmp_path / 'cert.pem').write_text('damaged')
    store.finish_swap(request)
    mark = file_reads.read_change_mark(store.path)
    assert mark['path'] == store.path + '.changed' and mark['replaced_at'] is not None
    assert mark['replaced_not_after'] is None


def test_without_change_mark_a_swap_leaves_no_mark(tmp_path):
    store, request = swap_ready(tmp_path, change_mark=False)
    (tmp_path / 'cert.pem.changed').write_text('left by hand')
    store.finish_swap(request)
    assert store.change_mark() is None, 'a mark is only reported when asked for'
    assert (tmp_path / 'cert.pem.changed').read_text() == 'left by hand'


@pytest.mark.parametrize('planted', ['symlink', 'directory'])
def test_a_change_mark_that_is_not_a_regular_file_is_refused_and_never_reported(tmp_path, planted):
    store = certificate_store.CertificateStore(str(tmp_path / 'cert.pem'), str(tmp_path / 'key.pem'), change_mark=True)
    if planted == 'symlink':
        (tmp_path / 'elsewhere').write_text('x')
        os.symlink(str(tmp_path / 'elsewhere'), str(tmp_path / 'cert.pem.changed'))
    else:
        (tmp_path / 'cert.pem.changed').mkdir()
    with pytest.raises(LocalFileError, match='cert.pem.changed'):
        store.check_paths()
    assert store.change_mark() is None, 'nobody is told to delete it'
    certificate_store.CertificateStore(store.path, store.key_path).check_paths()


def test_a_certificate_whose_state_path_changed_while_its_request_is_unfinished_is_refused(tmp_path):
    # The earlier run's record (a TransferID sent, its answer lost) would not be seen, and a new request
    # would send the TransferID again.
    key_path = str(tmp_path / 'private' / 'key.pem')
    cert_path = str(tmp_path / 'cert.pem')
    first = certificate_store.CertificateStore(cert_path, key_path, state_path=str(tmp_path / 'one.json'))
    with first.lock(timeout=5):
        first.new_request('sign', customer_id='1234567-8', environment='TEST').save()
    moved = certificate_store.CertificateStore(cert_path, key_path, state_path=str(tmp_path / 'two.json'))
    with open(key_path + '.lock') as lock_file:
        recorded = lock_file.read()
    with pytest.raises(LocalFileError) as refused:
        with moved.lock(timeout=5):
            pass
    assert refused.value.message == (
        "An earlier run recorded a request for %s in %s (its state_path then, named in %s.lock), and this run's "
        'state_path is %s: a new request would leave that one unfinished and, for a first certificate, send its '
        'TransferID again. Give state_path %s until that request is finished, or move %s (and %s.answer.xml, if it '
        'is there) to %s and %s.answer.xml while no run is in progress. Nothing was changed.'
        % (cert_path, tmp_path / 'one.json', key_path, tmp_path / 'two.json', tmp_path / 'one.json',
           tmp_path / 'one.json', tmp_path / 'one.json', tmp_path / 'two.json', tmp_path / 'two.json'))
    with pytest.raises(LocalFileError, match='its state_path then'):
        moved.check_key_claim()
    with open(key_path + '.lock') as lock_file:
        assert lock_file.read() == recorded, 'a refused run records nothing'
    # A record at this run's own state_path is seen: a release directory switched with its files copied.
    (tmp_path / 'two.json').write_bytes((tmp_path / 'one.json').read_bytes())
    os.chmod(str(tmp_path / 'two.json'), 0o600)
    with moved.lock(timeout=5):
        assert moved.pending() is not None
    os.remove(str(tmp_path / 'two.json'))
    # Moved by hand, as the message says, the request is found at its new place.
    os.rename(str(tmp_path / 'one.json'), str(tmp_path / 'two.json'))
    with moved.lock(timeout=5):
        assert moved.pending() is not None
    # Once no request is unfinished, the state_path may change freely.
    os.remove(str(tmp_path / 'two.json'))
    with first.lock(timeout=5):
        pass
