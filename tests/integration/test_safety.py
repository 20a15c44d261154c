"""The collection's own options cannot destroy keys, waste one-time credentials or print secrets.

Each test runs a module through real ansible-playbook against the sandbox and failed before its fix.
"""
import json
import os
import socket
import ssl
import stat
import threading
import time

import pytest

from module_helpers import CUSTOMER, calls_delta, issued_pair, operation_counts, service_args

pytestmark = pytest.mark.integration

NO_CALLS = {'signNewCertificate': 0, 'getCertificate': 0, 'renewCertificate': 0}


def _enroll_args(sandbox, tmp_path, customer_id=CUSTOMER, **extra):
    transfer_id, transfer_password = sandbox.subscribe(customer_id, 'Example Oy', 'TEST')
    return service_args(sandbox, tmp_path, customer_id=customer_id, transfer_id=transfer_id,
                        transfer_password=transfer_password, **extra)


def _renew_args(args):
    return dict((k, v) for k, v in args.items() if k not in ('transfer_id', 'transfer_password'))


def _read(path):
    with open(path, 'rb') as handle:
        return handle.read()


def _request_works_with_the_same_credentials(run_module, args):
    run, result = run_module('certificate_request', args)
    assert run.returncode == 0, run
    assert result['changed'] is True and result['action'] == 'requested', result.get('msg')


@pytest.mark.parametrize('clash', ['state_is_key', 'state_is_certificate', 'certificate_is_key',
                                   'certificate_is_new_key'])
def test_paths_that_are_one_file_are_refused_before_anything_is_sent(sandbox, run_module, tmp_path, clash):
    args = _enroll_args(sandbox, tmp_path)
    (tmp_path / 'private').mkdir(mode=0o700)
    key = args['private_key_path']
    wrong = dict(args)
    if clash == 'state_is_key':
        wrong['state_path'] = key
    elif clash == 'state_is_certificate':
        wrong['state_path'] = args['path']
    elif clash == 'certificate_is_key':
        # The same file spelt another way.
        wrong['path'] = str(tmp_path / 'certs' / '..' / 'private' / 'key.pem')
    else:
        wrong['path'] = key + '.new'
    before = operation_counts(sandbox)
    run, result = run_module('certificate_request', wrong)
    assert run.returncode == 0, run
    assert result.get('failed') is True
    assert 'are the same file' in result['msg'] and 'choose different paths' in result['msg']
    assert calls_delta(before, operation_counts(sandbox)) == NO_CALLS
    assert not os.path.exists(key)
    _request_works_with_the_same_credentials(run_module, args)


@pytest.mark.parametrize('option, value, message', [
    ('timeout', 0, 'timeout must be greater than 0, not 0'),
    ('timeout', -1, 'timeout must be greater than 0, not -1'),
    ('wait_timeout', -1, 'wait_timeout must be at least 0, not -1'),
    ('initial_delay', -0.5, 'initial_delay must be at least 0, not -0.5'),
    ('poll_interval', 0, 'poll_interval must be greater than 0, not 0'),
])
def test_a_numeric_option_out_of_range_spends_nothing(sandbox, run_module, tmp_path, option, value, message):
    args = _enroll_args(sandbox, tmp_path)
    before = operation_counts(sandbox)
    run, result = run_module('certificate_request', dict(args, **{option: value}))
    assert result.get('failed') is True and result['msg'] == message + '. Nothing was sent.', result
    assert result['error_type'] == 'RequestValidationError'
    assert calls_delta(before, operation_counts(sandbox)) == NO_CALLS
    assert not os.path.exists(args['path'] + '.state.json'), 'the credentials must not be marked as spent'
    _request_works_with_the_same_credentials(run_module, args)


def test_a_service_signer_pattern_that_is_not_a_regular_expression_spends_nothing(sandbox, run_module, tmp_path):
    """The pattern is first used on the service's answer: a typo must stop the task before the credentials go."""
    args = _enroll_args(sandbox, tmp_path)
    before = operation_counts(sandbox)
    run, result = run_module('certificate_request', dict(args, service_signer_pattern='CN=(Incomes'))
    assert result.get('failed') is True and result['error_type'] == 'RequestValidationError', result
    assert result['msg'].startswith("service_signer_pattern 'CN=(Incomes' is not a regular expression (")
    assert result['msg'].endswith('. Nothing was sent.')
    assert calls_delta(before, operation_counts(sandbox)) == NO_CALLS
    assert not os.path.exists(args['path'] + '.state.json'), 'the credentials must not be marked as spent'
    _request_works_with_the_same_credentials(run_module, args)


def _planted_state(args, new_key_path, mode=0o600):
    state = dict(version=1, operation='renew', phase='retrieved', retrieval_id='R' * 20, customer_id=CUSTOMER,
                 environment='TEST', new_key_path=new_key_path, created='2026-01-01T00:00:00+00:00')
    path = args['path'] + '.state.json'
    with open(path, 'w') as handle:
        json.dump(state, handle)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize('kind', ['names_another_key', 'writable_by_others'])
def test_a_planted_state_file_cannot_move_a_file_over_the_private_key(sandbox, run_module, tmp_path, kind):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=30)
    args = service_args(sandbox, tmp_path)
    intruder = tmp_path / 'intruder.pem'
    intruder.write_bytes(_read(key))
    os.chmod(str(intruder), 0o600)
    # The swap only checks that key and certificate pair: a copy of the right key is the strongest plant.
    if kind == 'names_another_key':
        _planted_state(args, str(intruder))
    else:
        _planted_state(args, key + '.new', mode=0o666)
    key_before, cert_before = os.stat(key), _read(cert)
    run, result = run_module('certificate_renew', _renew_args(args))
    assert result.get('failed') is True, result
    assert result['error_type'] == 'StateError'
    expected = 'names %r as the key' % str(intruder) if kind == 'names_another_key' else 'accessible to group or others'
    assert expected in result['msg']
    assert os.path.exists(str(intruder)), 'the planted file was moved'
    assert os.stat(key).st_ino == key_before.st_ino and _read(cert) == cert_before


def test_a_request_does_not_replace_another_customers_valid_certificate(sandbox, run_module, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=400, customer_id='7654321-0')
    args = _enroll_args(sandbox, tmp_path, backup=False)
    cert_before, key_before = _read(cert), _read(key)
    before = operation_counts(sandbox)
    run, result = run_module('certificate_request', args)
    assert result.get('failed') is True, result
    assert 'belongs to customer 7654321-0' in result['msg'] and 'replace_other_customer' in result['msg']
    assert calls_delta(before, operation_counts(sandbox)) == NO_CALLS
    assert _read(cert) == cert_before and _read(key) == key_before

    run, result = run_module('certificate_request', dict(args, replace_other_customer=True))
    assert run.returncode == 0, run
    assert result['changed'] is True and result['certificate']['customer_id'] == CUSTOMER, result.get('msg')


def test_a_request_does_not_take_another_environments_valid_certificate_for_its_own(sandbox, run_module, tmp_path):
    """A host moved from TEST to PRODUCTION at the same path: its TEST certificate is valid for the customer, but not
    one of this issuing_ca_path; reported as "already installed", the new credentials would lapse unused."""
    args = _enroll_args(sandbox, tmp_path)
    os.makedirs(os.path.dirname(args['path']))
    os.makedirs(os.path.dirname(args['private_key_path']), mode=0o700)
    sandbox.issue(CUSTOMER, new_key_path=args['private_key_path'], expires_in_days=300, out=args['path'])
    installed = open(args['path'], 'rb').read()
    before = operation_counts(sandbox)
    for mode in (['--check'], []):
        run, result = run_module('certificate_request', dict(args, issuing_ca_path=sandbox.tls_ca_pem), args=mode)
        assert result.get('failed') is True, (mode, run)
        assert result['msg'].startswith('The certificate at %s is valid for this customer until ' % args['path'])
        assert 'Either it was issued for another environment, or issuing_ca_path lacks its issuing CA' in result['msg']
        assert result['msg'].endswith('so nothing was sent: fix issuing_ca_path, or give this certificate a path of '
                                      'its own, or move that one away if it is no longer used.')
    assert calls_delta(before, operation_counts(sandbox)) == NO_CALLS
    assert open(args['path'], 'rb').read() == installed and not os.path.exists(args['path'] + '.state.json')
    run, result = run_module('certificate_request', args)
    assert result.get('failed') is not True and result['msg'].startswith('A valid certificate for '), run


def test_a_request_does_not_replace_a_valid_certificate_whose_key_is_kept_elsewhere(sandbox, run_module, tmp_path):
    """A mistyped private_key_path, or two entries given one certificate path: the certificate in place is valid and
    its key is in another file. A request would spend the credentials and replace a certificate still in use."""
    args = _enroll_args(sandbox, tmp_path, customer_id='5100064-1')
    os.makedirs(os.path.dirname(args['path']))
    os.makedirs(os.path.dirname(args['private_key_path']), mode=0o700)
    elsewhere = str(tmp_path / 'private' / 'the-real-key.pem')
    sandbox.issue('5100064-1', new_key_path=elsewhere, expires_in_days=300, out=args['path'])
    installed = _read(args['path'])
    before = operation_counts(sandbox)
    for mode in (['--check'], []):
        run, result = run_module('certificate_request', args, args=mode)
        assert result.get('failed') is True, (mode, run)
        assert result['msg'].startswith('The certificate at %s is valid for 5100064-1 until ' % args['path'])
        assert 'but there is no key at %s' % args['private_key_path'] in result['msg']
        assert 'give that file as private_key_path' in result['msg']
    assert calls_delta(before, operation_counts(sandbox)) == NO_CALLS
    assert _read(args['path']) == installed and not os.path.exists(args['private_key_path'])

    run, result = run_module('certificate_request', dict(args, private_key_path=elsewhere))
    assert result.get('failed') is not True and result['msg'].startswith('A valid certificate for '), run
    # A key that is really lost: the certificate moved away, the same credentials enroll.
    os.rename(args['path'], args['path'] + '.lost-key')
    _request_works_with_the_same_credentials(run_module, args)


def test_a_certificate_directory_that_is_a_link_is_refused_in_check_mode_too(sandbox, run_module, tmp_path):
    """/srv/current -> rel2 as the certificate's own directory: refused with what to do, and a check run predicts it
    instead of "renewed"."""
    release = tmp_path / 'rel2'
    release.mkdir()
    cert, key = issued_pair(sandbox, release, expires_in_days=30)
    (tmp_path / 'current').symlink_to(release / 'certs')
    args = service_args(sandbox, tmp_path, path=str(tmp_path / 'current' / 'cert.pem'), private_key_path=key)
    before = operation_counts(sandbox)
    for mode in (['--check'], []):
        run, result = run_module('certificate_renew', args, args=mode)
        assert result.get('failed') is True, (mode, run)
        assert result['msg'].startswith('The directory %s is a symbolic link (to %s).' % (
            tmp_path / 'current', release / 'certs')), result['msg']
        assert result['msg'].endswith('point the task at the real path, %s/.' % (release / 'certs'))
    assert calls_delta(before, operation_counts(sandbox)) == NO_CALLS


def test_a_proxy_password_is_not_shown_at_high_verbosity(sandbox, run_module, tmp_path):
    issued_pair(sandbox, tmp_path, expires_in_days=400)
    password = 'Proxy-Secret-7Qx2'
    args = service_args(sandbox, tmp_path, proxy='http://ops:%s@127.0.0.1:9' % password)
    run, result = run_module('certificate_renew', args, args=['-vvv'])
    assert run.returncode == 0, run
    assert result['changed'] is False, result.get('msg')
    assert 'ops:********@127.0.0.1:9' in run.output, 'the proxy should still be shown, masked'
    assert password not in run.output
    assert password not in json.dumps(result)


def test_an_endpoint_with_a_password_is_refused_on_the_first_run_and_never_shown(sandbox, run_module, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=400)
    password = 'Endpoint-Secret-4Kp9'
    endpoint = sandbox.url.replace('https://', 'https://ops:%s@' % password)
    before = operation_counts(sandbox)
    single = service_args(sandbox, tmp_path, endpoint=endpoint)
    entry = dict(path=cert, private_key_path=key, customer_id=CUSTOMER, endpoint=endpoint)
    many = dict(service_args(sandbox, tmp_path), certificates=[entry])
    for args in (single, many):
        for mode in (['--check', '-vvv'], ['-vvv']):
            run, result = run_module('certificate_renew', args, args=mode)
            assert result.get('failed') is True, (mode, run)
            messages = [result['msg']] + [item['msg'] for item in result.get('results', [])]
            assert any('endpoint must not hold a user name or password' in msg for msg in messages), messages
            assert password not in run.output and password not in json.dumps(result)
        # A module that fails on another option, while Ansible checks the arguments, shows them all in its result.
        run, result = run_module('certificate_renew', dict(args, timeout='soon'), args=['-vvv'])
        assert result.get('failed') is True and 'timeout' in result['msg'], run
        assert password not in run.output and password not in json.dumps(result)
    assert calls_delta(before, operation_counts(sandbox)) == NO_CALLS
    for root, _dirs, files in list(os.walk(str(tmp_path / 'certs'))) + list(os.walk(str(tmp_path / 'private'))):
        for name in files:
            assert password.encode() not in open(os.path.join(root, name), 'rb').read(), name


class DrippingServer(object):
    """An HTTPS server on loopback that answers one byte every interval, so that no single read times out.

    It stops by itself after max_seconds, so a client without an overall deadline hangs that long.
    """

    def __init__(self, cert_path, key_path, interval=0.4, max_seconds=40):
        self.interval, self.max_seconds = interval, max_seconds
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert_path, key_path)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(4)
        self.listener.settimeout(1)
        self.url = 'https://127.0.0.1:%d/2017/10/CertificateServices' % self.listener.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(5)
        self.listener.close()

    def _serve(self):
        started = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - started < self.max_seconds:
            try:
                raw, dummy = self.listener.accept()
            except socket.timeout:
                continue
            self.connections += 1
            threading.Thread(target=self._drip, args=(raw, started), daemon=True).start()

    def _drip(self, raw, started):
        try:
            with self.context.wrap_socket(raw, server_side=True) as conn:
                conn.settimeout(5)
                conn.recv(65536)
                for byte in b'HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nX-Padding: ' + b'x' * 1000:
                    if self._stop.is_set() or time.monotonic() - started > self.max_seconds:
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(self.interval)
        except (OSError, ssl.SSLError):
            return


def test_a_server_that_drips_its_answer_cannot_hold_the_task(sandbox, run_module, tmp_path):
    """A whole call ends after twice its read timeout however slowly the answer comes. GetCertificate's read timeout is
    timeout; the submissions' is at least 120 s (a unit test pins that), too long to wait for here."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    dummy, key = issued_pair(sandbox, tmp_path, expires_in_days=30)
    # The key a RetrievalId was asked for, as a renewal leaves it.
    pending = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with open(key + '.new', 'wb') as handle:
        handle.write(pending.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key + '.new', 0o600)
    pki = os.path.join(sandbox.directory, 'pki')
    with DrippingServer(os.path.join(pki, 'tls.pem'), os.path.join(pki, 'tls.key')) as server:
        args = service_args(sandbox, tmp_path, endpoint=server.url, timeout=2, wait_timeout=0,
                            retrieval_id='RID-DRIP-0001')
        started = time.monotonic()
        run, result = run_module('certificate_retrieve', args)
        elapsed = time.monotonic() - started
    assert server.connections == 1
    assert result.get('failed') is True, result
    assert 'did not complete its answer within 4 seconds in all' in result['msg']
    # The server drips for 40 s; the deadline is 4 s. Generous for ansible-playbook's own start on a busy machine.
    assert elapsed < 30, elapsed


def test_stale_temporary_files_of_a_killed_run_are_removed(sandbox, run_module, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=400)
    dead = os.path.join(os.path.dirname(key), '.key.pem.%d.0123456789ab.tmp' % _dead_pid())
    alive = os.path.join(os.path.dirname(key), '.key.pem.%d.ba9876543210.tmp' % os.getpid())
    unrelated = os.path.join(os.path.dirname(key), '.other.pem.%d.0123456789ab.tmp' % _dead_pid())
    for path in (dead, alive, unrelated):
        with open(path, 'wb') as handle:
            handle.write(b'-----BEGIN PRIVATE KEY-----\n')
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path))
    assert run.returncode == 0 and result['changed'] is False, run
    assert not os.path.exists(dead)
    assert os.path.exists(alive), 'a file of a run still in progress must stay'
    assert os.path.exists(unrelated), 'only the files of this certificate are cleaned up'


def _dead_pid():
    pid = 4000000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except OSError:
            pass
        pid -= 1


def test_only_the_keys_own_directory_is_made_private(sandbox, run_module, tmp_path):
    base = tmp_path / 'etc'
    args = _enroll_args(sandbox, tmp_path, path=str(base / 'ir' / 'cert.pem'),
                        private_key_path=str(base / 'ir' / 'private' / 'key.pem'))
    _request_works_with_the_same_credentials(run_module, args)
    mode = dict((name, stat.S_IMODE(os.stat(str(path)).st_mode))
                for name, path in (('etc', base), ('ir', base / 'ir'), ('private', base / 'ir' / 'private')))
    assert mode == {'etc': 0o755, 'ir': 0o755, 'private': 0o700}


def test_an_empty_certificate_file_is_named_in_the_error(sandbox, run_module, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=30)
    open(cert, 'w').close()
    run, result = run_module('certificate_renew', service_args(sandbox, tmp_path))
    assert result.get('failed') is True, result
    assert 'The certificate file %s is empty' % cert in result['msg']


def test_a_response_signed_by_a_customer_is_refused_even_when_the_trust_file_holds_its_ca(sandbox, run_module,
                                                                                          tmp_path):
    """service_ca_path given the customers' issuing CA by mistake: every customer's signature chains to it."""
    issued_pair(sandbox, tmp_path, expires_in_days=30)
    args = service_args(sandbox, tmp_path, service_ca_path=sandbox.issuing_ca_pem)
    sandbox.set_fault('renewCertificate', 'customer-signer', times=1)
    before = operation_counts(sandbox)
    try:
        run, result = run_module('certificate_renew', args)
    finally:
        sandbox.clear_faults()
    assert result.get('failed') is True, result
    # Refused on the answer to RenewCertificate itself: nothing in it was believed.
    assert calls_delta(before, operation_counts(sandbox))['getCertificate'] == 0
    # Told by its issuer, the customers' issuing CA of issuing_ca_path, not by the look of its CN.
    assert 'was signed with the certificate of customer' in result['msg'] and 'from issuing_ca_path' in result['msg']
    assert result['error_type'] == 'ResponseRejected'


def test_a_changed_state_path_does_not_send_a_transfer_id_whose_answer_was_lost(sandbox, run_module, tmp_path):
    """The earlier run's record (TransferID sent, answer lost) is at the old state_path; a run that did not look there
    would send the TransferID again."""
    args = _enroll_args(sandbox, tmp_path, customer_id='5100062-5')
    sandbox.set_fault('signNewCertificate', 'drop-after-processing', times=1)
    run, result = run_module('certificate_request', args)
    assert result.get('failed') is True and result['request_may_have_been_processed'] is True, run
    recorded = args['path'] + '.state.json'
    assert json.loads(_read(recorded))['phase'] == 'sent'

    moved = dict(args, state_path=str(tmp_path / 'elsewhere.json'))
    before = operation_counts(sandbox)
    for mode in (['--check'], []):
        run, result = run_module('certificate_request', moved, args=mode)
        assert result.get('failed') is True, (mode, run)
        assert result['msg'].startswith('An earlier run recorded a request for %s in %s' % (args['path'], recorded))
        assert 'Give state_path %s until that request is finished' % recorded in result['msg']
    assert calls_delta(before, operation_counts(sandbox)) == NO_CALLS
    assert not os.path.exists(moved['state_path'])

    # At its recorded place the request is found, and its credentials are not sent again.
    run, result = run_module('certificate_request', args)
    assert result.get('failed') is True and 'not sent again' in result['msg'], run
    assert calls_delta(before, operation_counts(sandbox)) == NO_CALLS
