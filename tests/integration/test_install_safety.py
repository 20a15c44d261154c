"""certificate_install under hostile input (issue 13), through real ansible-playbook runs.

A destination that already holds a key, is a link or a special file, or is one of the sources must
neither show the key in a diff nor get a key copied or overwritten: the task refuses before it writes
anything, in check mode too.
"""
import os
import shutil
import stat
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from module_helpers import encrypt_key

pytestmark = pytest.mark.integration

KEY_PASSPHRASE = 'source-key-phrase-R4n7'
KEYSTORE_PASSPHRASE = 'keystore-phrase-T6c3'


class Source(object):
    """A certificate, its key and a copy of the chain, under tmp_path/src (the chain is copied because the
    sandbox's own file is shared by the session and a faulty run could overwrite it)."""

    def __init__(self, sandbox, tmp_path, passphrase=None):
        self.root = tmp_path / 'src'
        (self.root / 'private').mkdir(parents=True, mode=0o700)
        self.cert = str(self.root / 'cert.pem')
        self.key = str(self.root / 'private' / 'key.pem')
        self.chain = str(self.root / 'chain.pem')
        sandbox.issue('1234567-8', new_key_path=self.key, expires_in_days=500, out=self.cert)
        shutil.copyfile(sandbox.issuing_ca_pem, self.chain)
        plain = load_pem_private_key(read(self.key), None)
        self.key_lines = set()
        for form in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
            text = plain.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption())
            self.key_lines.update(line.decode() for line in text.splitlines() if not line.startswith(b'-----'))
        self.passphrase = passphrase
        if passphrase:
            encrypt_key(self.key, passphrase)
        self.certificate = x509.load_pem_x509_certificate(read(self.cert))

    def args(self, **extra):
        args = dict(certificate_path=self.cert, private_key_path=self.key, chain_path=self.chain)
        if self.passphrase:
            args['private_key_passphrase'] = self.passphrase
        args.update(extra)
        return args

    def shows_key(self, text):
        return any(line in text for line in self.key_lines)


def read(path):
    with open(str(path), 'rb') as handle:
        return handle.read()


def snapshot(*roots):
    """Every entry under roots: file content, link target or 'fifo', so a test can say nothing changed."""
    found = {}
    for root in roots:
        for directory, dirs, files in os.walk(str(root)):
            for name in dirs + files:
                path = os.path.join(directory, name)
                if os.path.islink(path):
                    found[path] = ('link', os.readlink(path))
                elif stat.S_ISFIFO(os.lstat(path).st_mode):
                    found[path] = 'fifo'
                elif os.path.isfile(path):
                    found[path] = ('file', read(path), stat.S_IMODE(os.lstat(path).st_mode))
    return found


def diff_before(result, path):
    befores = dict((entry['before_header'], entry['before']) for entry in result['diff'])
    return befores[str(path)]


@pytest.fixture
def source(sandbox, tmp_path):
    return Source(sandbox, tmp_path)


@pytest.fixture
def deploy(tmp_path):
    path = tmp_path / 'deploy'
    path.mkdir()
    return path


@pytest.mark.parametrize('old_layout', ['combined', 'pkcs12'])
def test_another_layout_over_a_file_that_holds_a_key_does_not_show_it_in_the_diff(
        source, deploy, run_module, old_layout):
    target = deploy / 'tls.pem'
    run, result = run_module('certificate_install', source.args(
        layout=old_layout, dest=str(target), pkcs12_passphrase=KEYSTORE_PASSPHRASE))
    assert result.get('failed') is not True, run
    old = read(target)

    run, result = run_module('certificate_install', source.args(
        layout='pem', dest=str(target), private_key_dest=str(deploy / 'tls.key'), backup=True),
        args=['--diff', '-v'])
    assert result.get('failed') is not True, run
    assert result['changed'] is True
    assert not source.shows_key(run.output), 'the diff shows the old %s file with its key' % old_layout
    assert diff_before(result, target) == '(old content not shown: it holds a private key or binary data)\n'
    assert x509.load_pem_x509_certificate(read(target)) == source.certificate
    # The backup of a file that held a key is itself a key file: same content, same 0600.
    backup = result['backups'][str(target)]
    assert read(backup) == old and stat.S_IMODE(os.stat(backup).st_mode) == 0o600


def test_an_old_certificate_is_still_shown_in_the_diff(source, deploy, run_module, sandbox):
    target = deploy / 'tls.crt'
    old_certificate = read(sandbox.issuing_ca_pem)
    target.write_bytes(old_certificate)
    run, result = run_module('certificate_install', source.args(
        layout='pem', dest=str(target), private_key_dest=str(deploy / 'tls.key')), args=['--diff'])
    assert result['changed'] is True, run
    assert diff_before(result, target) == old_certificate.decode()


def test_a_symlinked_destination_is_refused_in_check_mode_as_in_the_real_run(source, deploy, run_module, tmp_path):
    link = deploy / 'tls.pem'
    link.symlink_to(source.key)
    before = snapshot(source.root, deploy)
    args = source.args(layout='pem', dest=str(link), private_key_dest=str(deploy / 'tls.key'))

    checked, check_result = run_module('certificate_install', args, args=['--check', '--diff', '-v'])
    assert check_result.get('failed') is True, 'check mode reported a symlinked destination as a change'
    assert not source.shows_key(checked.output), 'the check-mode diff shows the key the link points to'
    assert '%s is a symbolic link' % link in check_result['msg']

    run, result = run_module('certificate_install', args, args=['--diff'])
    assert result['failed'] is True, run
    assert result['msg'] == check_result['msg']
    assert not source.shows_key(run.output)
    assert snapshot(source.root, deploy) == before


def test_backup_of_a_symlinked_destination_is_refused_before_any_copy(source, deploy, run_module):
    link = deploy / 'keystore.p12'
    link.symlink_to(source.key)
    before = snapshot(source.root, deploy)
    run, result = run_module('certificate_install', source.args(
        layout='combined', dest=str(link), backup=True))
    assert result['failed'] is True, run
    assert 'symbolic link' in result['msg']
    assert snapshot(source.root, deploy) == before, 'a backup of the key the link points to was written'


def test_a_fifo_as_destination_is_refused_without_reading_it(source, deploy, run_module):
    fifo = deploy / 'tls.crt'
    os.mkfifo(str(fifo))
    before = snapshot(source.root, deploy)
    run, result = run_module('certificate_install', source.args(
        layout='pem', dest=str(fifo), private_key_dest=str(deploy / 'tls.key')), args=['--check', '--diff'])
    assert result['failed'] is True, run
    assert result['msg'] == ('dest %s is not a regular file; certificate_install only replaces regular files. '
                             'Point dest at a file path.' % fifo)
    assert snapshot(source.root, deploy) == before


def _same_file_cases():
    """(id, layout options, the two options that name one file, which of them is the path in the message)."""
    return [
        ('dest is the source key',
         lambda s, d: dict(layout='pem', dest=s.key, private_key_dest=str(d / 'tls.key')),
         ('dest', 'private_key_path'), lambda s, d: s.key),
        ('private_key_dest is the source certificate',
         lambda s, d: dict(layout='pem', dest=str(d / 'tls.crt'), private_key_dest=s.cert),
         ('private_key_dest', 'certificate_path'), lambda s, d: s.cert),
        ('chain_dest is the source chain',
         lambda s, d: dict(layout='pem', dest=str(d / 'tls.crt'), private_key_dest=str(d / 'tls.key'),
                           chain_dest=s.chain),
         ('chain_dest', 'chain_path'), lambda s, d: s.chain),
        ('combined dest is the source certificate',
         lambda s, d: dict(layout='combined', dest=s.cert),
         ('dest', 'certificate_path'), lambda s, d: s.cert),
        ('dest reaches the source key through a linked directory',
         lambda s, d: dict(layout='fullchain', dest=str(d / 'src-alias' / 'private' / 'key.pem'),
                           private_key_dest=str(d / 'tls.key')),
         ('dest', 'private_key_path'), lambda s, d: s.key),
        ('dest is a hard link to the source key',
         lambda s, d: dict(layout='pem', dest=str(d / 'key-hard-link.pem'), private_key_dest=str(d / 'tls.key')),
         ('dest', 'private_key_path'), lambda s, d: str(d / 'key-hard-link.pem')),
        ('two destinations are one file through a linked directory',
         lambda s, d: dict(layout='fullchain', dest=str(d / 'tls.pem'),
                           private_key_dest=str(d / 'deploy-alias' / 'tls.pem')),
         ('dest', 'private_key_dest'), lambda s, d: str(d / 'tls.pem')),
    ]


@pytest.mark.parametrize('options, names, path', [case[1:] for case in _same_file_cases()],
                         ids=[case[0] for case in _same_file_cases()])
def test_a_destination_that_is_a_source_or_another_destination_is_refused_before_writing(
        source, deploy, run_module, options, names, path):
    (deploy / 'src-alias').symlink_to(source.root)
    (deploy / 'deploy-alias').symlink_to(deploy)
    os.link(source.key, str(deploy / 'key-hard-link.pem'))
    before = snapshot(source.root, deploy)
    for mode in (['--check', '--diff'], ['--diff']):
        run, result = run_module('certificate_install', source.args(**options(source, deploy)), args=mode)
        assert result.get('failed') is True, (mode, run)
        assert result['msg'].startswith('%s and %s are the same file, %s: ' % (
            names[0], names[1], os.path.realpath(path(source, deploy)))), result['msg']
        assert 'Give %s a path of its own' % names[0] in result['msg'] or 'Give each a path' in result['msg']
        assert not source.shows_key(run.output)
        assert snapshot(source.root, deploy) == before


def test_no_passphrase_or_key_at_vvv_when_the_destinations_are_hostile(sandbox, tmp_path, deploy, run_module):
    source = Source(sandbox, tmp_path, passphrase=KEY_PASSPHRASE)
    target = deploy / 'tls.pem'
    runs = []
    for options in (dict(layout='combined', dest=str(target)),
                    dict(layout='pkcs12', dest=str(target), pkcs12_passphrase=KEYSTORE_PASSPHRASE),
                    dict(layout='pem', dest=str(target), private_key_dest=str(deploy / 'tls.key')),
                    dict(layout='pem', dest=source.key, private_key_dest=str(deploy / 'other.key'))):
        run, result = run_module('certificate_install', source.args(**options), args=['-vvv', '--diff'])
        runs.append((options['layout'], run, result))
    assert [result.get('failed', False) for dummy, dummy, result in runs] == [False, False, False, True], runs
    for layout, run, result in runs:
        for secret in (KEY_PASSPHRASE, KEYSTORE_PASSPHRASE):
            assert secret not in run.output, 'a passphrase in the -vvv output of the %s run' % layout
        assert not source.shows_key(run.output), 'key material in the -vvv output of the %s run' % layout


@pytest.fixture
def immutable():
    """chattr +i on a directory: even root cannot create a file in it, so the key's temporary file fails."""
    marked = []

    def mark(path):
        done = subprocess.run(['chattr', '+i', str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            pytest.skip('chattr +i is not available here: %s' % done.stderr.decode(errors='replace').strip())
        marked.append(str(path))
    yield mark
    for path in marked:
        subprocess.run(['chattr', '-i', path], check=True)


@pytest.mark.parametrize('backup', [False, True], ids=['no backup', 'backup'])
def test_a_key_that_cannot_be_written_leaves_the_old_pair_in_place(source, deploy, run_module, immutable, backup):
    (deploy / 'private').mkdir(mode=0o700)
    old_certificate, old_key = b'old certificate\n', b'old key\n'
    (deploy / 'tls.crt').write_bytes(old_certificate)
    (deploy / 'private' / 'tls.key').write_bytes(old_key)
    os.chmod(str(deploy / 'private' / 'tls.key'), 0o600)
    before = snapshot(deploy)
    immutable(deploy / 'private')
    run, result = run_module('certificate_install', source.args(
        layout='pem', dest=str(deploy / 'tls.crt'), private_key_dest=str(deploy / 'private' / 'tls.key'),
        backup=backup), args=['--diff'])
    assert result.get('failed') is True, run
    # The old certificate beside the old key, no temporary file, no backup: as before the run.
    assert snapshot(deploy) == before
    assert 'Could not write %s: ' % (deploy / 'private' / 'tls.key') in result['msg'] and '(private_key_dest)' in result['msg']
    assert 'No file of this target was replaced' in result['msg']
    assert not source.shows_key(run.output)


def test_two_targets_that_write_one_file_are_refused_before_either_is_written(sandbox, source, deploy, run_module,
                                                                              tmp_path):
    other = Source(sandbox, tmp_path / 'other')
    (deploy / 'alias').symlink_to(deploy)
    targets = [dict(other.args(), layout='fullchain', dest=str(deploy / 'fullchain.pem'),
                    private_key_dest=str(deploy / 'tls.key')),
               dict(layout='combined', dest=str(deploy / 'alias' / 'tls.key'))]
    before = snapshot(source.root, other.root, deploy)
    for mode in (['--check', '--diff'], ['--diff']):
        run, result = run_module('certificate_install', source.args(targets=targets), args=mode)
        assert result.get('failed') is True, (mode, run)
        expected = ('targets[0] (certificate %s) private_key_dest and targets[1] (certificate %s) dest are the same '
                    'file, %s' % (other.cert, source.cert, deploy / 'tls.key'))
        assert [r['failed'] for r in result['results']] == [True, True]
        assert all(expected in r['msg'] for r in result['results']), result['results']
        assert not source.shows_key(run.output) and not other.shows_key(run.output)
        assert snapshot(source.root, other.root, deploy) == before


@pytest.mark.parametrize('option, kept', [('private_key_dest', 'key'), ('dest', 'certificate'), ('dest', 'new key')])
def test_a_destination_another_certificate_is_kept_at_is_refused(sandbox, source, deploy, run_module, tmp_path,
                                                                 option, kept):
    """A copied target that points at another certificate's files (its key, which no backup keeps; its pending key,
    which spent credentials wait on) is refused before anything is written, in check mode too."""
    from module_helpers import issued_pair, service_args
    other = tmp_path / 'other'
    other.mkdir()
    cert, key = issued_pair(sandbox, other, expires_in_days=500)
    run, result = run_module('certificate_renew', service_args(sandbox, other))
    assert result.get('failed') is not True and result['changed'] is False, run
    shutil.copyfile(key, key + '.new')
    path = dict(key=key, certificate=cert)[kept] if kept != 'new key' else key + '.new'
    args = source.args(layout='pem', dest=str(deploy / 'cert.pem'), private_key_dest=str(deploy / 'key.pem'))
    args[option] = path
    before = snapshot(other, deploy)
    for mode in (['--check'], []):
        run, result = run_module('certificate_install', args, args=mode)
        assert result.get('failed') is True, (mode, run)
        assert result['msg'].startswith('%s %s is ' % (option, path)), result['msg']
        assert 'that the request and renewal modules keep' in result['msg'] and 'Nothing was written' in result['msg']
        assert snapshot(other, deploy) == before
