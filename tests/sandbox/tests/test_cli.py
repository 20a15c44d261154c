"""The command line: init, issue, list, revoke, config, background start/stop/status, restarts."""
import datetime
import email.utils
import json
import os
import stat
import subprocess
import sys

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from irsandbox.testing import RunningSandbox, SandboxError
from wire_client import Client, load_pem_cert, make_csr, spki


def run(*args, check=True):
    completed = subprocess.run([sys.executable, '-m', 'irsandbox', *map(str, args)], capture_output=True, text=True,
                               timeout=60, check=False)
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


def common_name(name):
    return name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_init_creates_the_pki_with_private_keys_kept_private(sandbox):
    pki_dir = os.path.join(sandbox.directory, 'pki')
    assert stat.S_IMODE(os.stat(pki_dir).st_mode) == 0o700
    keys = [name for name in os.listdir(pki_dir) if name.endswith('.key')]
    assert keys and all(stat.S_IMODE(os.stat(os.path.join(pki_dir, key)).st_mode) == 0o600 for key in keys)
    for path in (sandbox.service_ca_pem, sandbox.issuing_ca_pem, sandbox.tls_ca_pem):
        assert not any(line.startswith('-----BEGIN') and 'PRIVATE' in line for line in open(path, encoding='ascii'))

    # Both bundles list the issuing CA first and its root last.
    services_issuing_ca, services_root_ca = load_pem_cert(sandbox.service_ca_pem)
    issuing_ca, root_ca = load_pem_cert(sandbox.issuing_ca_pem)
    (tls_ca,) = load_pem_cert(sandbox.tls_ca_pem)
    assert common_name(services_root_ca.subject) == common_name(services_root_ca.issuer) == \
        'Incomes Register Sandbox Services Root CA'
    assert common_name(services_issuing_ca.subject) == 'Incomes Register Sandbox Services Issuing CA v1'
    services_issuing_ca.verify_directly_issued_by(services_root_ca)
    assert common_name(root_ca.subject) == 'Incomes Register Sandbox Root CA'
    assert common_name(issuing_ca.subject) == 'Data Providers Sandbox Issuing CA v1'
    issuing_ca.verify_directly_issued_by(root_ca)
    assert tls_ca == root_ca
    tls = x509.load_pem_x509_certificate(open(os.path.join(pki_dir, 'tls.pem'), 'rb').read())
    tls.verify_directly_issued_by(root_ca)
    names = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ['localhost']
    assert sorted(str(ip) for ip in names.get_values_for_type(x509.IPAddress)) == ['127.0.0.1', '::1']


def test_init_refuses_to_overwrite_without_force_or_while_running(sandbox):
    assert 'already initialised' in run('init', '--dir', sandbox.directory, check=False).stderr
    assert 'running' in run('init', '--dir', sandbox.directory, '--force', check=False).stderr


def test_issue_with_an_explicit_window_and_a_new_key(sandbox, tmp_path):
    key_path, cert_path = tmp_path / 'new.key', tmp_path / 'cert.pem'
    issued = sandbox.issue('2222222-2', new_key_path=key_path, out=cert_path, name='Window Oy',
                           not_before='2024-01-01T00:00:00Z', not_after='2024-03-01T12:00:00+00:00')
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert cert.not_valid_before_utc == datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    assert cert.not_valid_after_utc == datetime.datetime(2024, 3, 1, 12, tzinfo=datetime.timezone.utc)
    assert issued['serial'] == str(cert.serial_number) and issued['serial_hex'] == '%X' % cert.serial_number
    assert issued['certificate_path'] == str(cert_path) and issued['key_path'] == str(key_path)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert spki(key.public_key()) == spki(cert.public_key())
    assert common_name(cert.subject) == '2222222-2'


@pytest.mark.parametrize('days', [5, 45, 400, -3])
def test_issue_expiring_in_days(sandbox, keys, tmp_path, days):
    csr_path = tmp_path / 'request.pem'
    csr_path.write_bytes(make_csr(keys[3], 'ignored').public_bytes(serialization.Encoding.PEM))
    issued = sandbox.issue('3333333-3', csr_path=csr_path, expires_in_days=days)
    cert = x509.load_pem_x509_certificate(issued['certificate_pem'].encode())
    expected = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    assert abs((cert.not_valid_after_utc - expected).total_seconds()) < 60
    assert cert.not_valid_before_utc <= datetime.datetime.now(datetime.timezone.utc)
    assert common_name(cert.subject) == '3333333-3'  # the subject is the service's, not the CSR's
    assert spki(cert.public_key()) == spki(keys[3].public_key())


def test_list_and_database_never_hold_a_password(sandbox):
    transfer_id, password = sandbox.subscribe('4444444-4', 'Secret Oy')
    listing = sandbox.cli('list', '--json') + sandbox.cli('list')
    assert transfer_id in listing and password not in listing
    for name in os.listdir(sandbox.directory):
        if name.startswith('sandbox.sqlite'):
            with open(os.path.join(sandbox.directory, name), 'rb') as handle:
                assert password.encode() not in handle.read()


def test_subscribe_prints_the_credentials_like_the_secure_email(sandbox):
    output = sandbox.cli('subscribe', '--customer-id', '5555555-5', '--name', 'Mail Oy')
    lines = dict(line.split(':', 1) for line in output.splitlines())
    assert len(lines['TransferId'].strip()) <= 32 and len(lines['TransferPassword'].strip()) == 16


def test_revoke_accepts_hex_serials_and_refuses_unknown_ones(sandbox, tmp_path):
    issued = sandbox.issue('6666666-6', new_key_path=tmp_path / 'k.pem', expires_in_days=30)
    sandbox.revoke('0x' + issued['serial_hex'])
    certificate = next(c for c in sandbox.state()['certificates'] if c['serial'] == issued['serial'])
    assert certificate['revoked'] is True
    with pytest.raises(SandboxError):
        sandbox.revoke('12345')


def test_config_reports_and_changes_settings(sandbox):
    assert sandbox.configure() == {'retrieval_delay': 0.0, 'validity_days': 730, 'credential_lifetime_days': 14.0,
                                   'profile': 'real', 'not_ready_code': 'PKI008',
                                   'not_ready_message': 'The certificate is not ready yet; retry later',
                                   'date_offset': 0.0}
    try:
        assert sandbox.configure(credential_lifetime_days=1)['credential_lifetime_days'] == 1.0
        transfer_id, dummy = sandbox.subscribe('8888888-8', None)
        expires = next(t for t in sandbox.state()['transfers'] if t['transfer_id'] == transfer_id)['expires_at']
        left = datetime.datetime.fromisoformat(expires) - datetime.datetime.now(datetime.timezone.utc)
        assert datetime.timedelta(hours=23) < left <= datetime.timedelta(days=1)
    finally:
        sandbox.configure(credential_lifetime_days=14)


@pytest.mark.parametrize('args', [
    ['--profile', 'fake'],
    ['--not-ready-code', ''],
    ['--not-ready-code', 'PKI0080000000000X'],   # 17 characters: more than ErrorCode allows
    ['--not-ready-message', 'M' * 256],
    ['--not-ready-message', 'two\nlines'],
])
def test_config_refuses_values_the_response_could_not_carry(sandbox, args):
    before = sandbox.configure()
    completed = run('config', '--dir', sandbox.directory, *args, check=False)
    assert completed.returncode == 2 and args[0] in completed.stderr
    assert sandbox.configure() == before


def test_date_offset_shifts_the_http_date_header(sandbox):
    def server_date():
        answer = requests.get(sandbox.url, verify=sandbox.tls_ca_pem, timeout=10)
        return email.utils.parsedate_to_datetime(answer.headers['Date'])
    try:
        assert sandbox.configure(date_offset=-600)['date_offset'] == -600.0
        skew = datetime.datetime.now(datetime.timezone.utc) - server_date()
        assert datetime.timedelta(seconds=595) < skew < datetime.timedelta(seconds=605)
    finally:
        sandbox.configure(date_offset=0)
    assert abs(datetime.datetime.now(datetime.timezone.utc) - server_date()) < datetime.timedelta(seconds=5)


def test_background_start_status_stop(tmp_path):
    directory = tmp_path / 'bg'
    run('init', '--dir', directory)
    assert run('status', '--dir', directory, check=False).returncode == 3
    url = run('start', '--dir', directory, '--retrieval-delay', '2', '--profile', 'minimal', '--not-ready-code',
              'PKI777', '--not-ready-message', 'Wait a little').stdout.strip()
    try:
        assert url.startswith('https://127.0.0.1:') and url.endswith('/2017/10/CertificateServices')
        status = json.loads(run('status', '--dir', directory, '--json').stdout)
        assert status['running'] and status['url'] == url
        assert json.loads((directory / 'server.json').read_text())['url'] == url
        assert 'already running' in run('start', '--dir', directory, check=False).stderr
        settings = json.loads(run('config', '--dir', directory, '--json').stdout)
        assert (settings['retrieval_delay'], settings['profile'], settings['not_ready_code'],
                settings['not_ready_message']) == (2.0, 'minimal', 'PKI777', 'Wait a little')
    finally:
        assert run('stop', '--dir', directory).stdout.strip() == 'stopped'
    assert not (directory / 'server.json').exists()
    assert run('stop', '--dir', directory).stdout.strip() == 'not running'
    assert 'listening on %s' % url in (directory / 'server.log').read_text()


def test_state_survives_a_restart(tmp_path, keys):
    directory = tmp_path / 'persistent'
    with RunningSandbox(directory) as first:
        client = Client(first)
        transfer_id, password = first.subscribe('9999999-9', None)
        signed = client.sign_new('9999999-9', transfer_id, password, make_csr(keys[0], '9999999-9'))
        cert = client.get('9999999-9', signed.retrieval_id).certificate
        first.set_fault('renewCertificate', 'http500')
        first.configure(validity_days=100)
    assert not (directory / 'server.json').exists()
    with RunningSandbox(directory) as second:
        client = Client(second)
        assert client.get('9999999-9', signed.retrieval_id).certificate == cert
        assert client.sign_new('9999999-9', transfer_id, password, make_csr(keys[0], '9999999-9')).codes == [
            'PKI004']
        assert 'renewCertificate http500' in second.cli('fault', 'list')
        assert second.configure()['validity_days'] == 100
        assert second.calls()['getCertificate'] == 1  # counters restart with the server
