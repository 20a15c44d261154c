"""certificate_reads.read: what certificate_info reads on the host and sends to the controller. Only public data
leaves the host, and the audit's module run imports no cryptography.x509."""
import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pki_fixtures  # noqa: E402
from pki_fixtures import cert_pem, key_pem, write_private as write  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils._report.certificate_reads import (  # noqa: E402
    read)

PASSPHRASE = 'reads-phrase-7'


@pytest.fixture(scope='module')
def pki():
    return pki_fixtures.make_pki()


def spki(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode('ascii')


def secret_free(reading, key, *secrets):
    text = json.dumps(reading)
    numbers = key.private_numbers()
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    assert 'PRIVATE KEY' not in text and base64.b64encode(der[-64:]).decode('ascii')[:40] not in text
    assert str(numbers.d) not in text and str(numbers.p) not in text
    for secret in secrets:
        assert secret not in text


def der(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode('ascii')


def test_of_a_combined_file_only_the_certificate_and_the_keys_public_half_leave(pki, tmp_path):
    """A combined install target holds the key before its certificate: the host sends the certificate, as
    cryptography would have read it from the file, and of the key only its SubjectPublicKeyInfo."""
    combined = write(tmp_path / 'combined.pem', key_pem(pki['leaf_key']) + cert_pem(pki['leaf']))
    key = write(tmp_path / 'key.pem', key_pem(pki['leaf_key'], PASSPHRASE))
    reading = read(dict(path=combined, private_key_path=key, private_key_passphrase=PASSPHRASE))
    assert reading['certificate'] == der(pki['leaf'])
    assert reading['public_key'] == spki(pki['leaf_key']) and reading['key_error'] is None
    secret_free(reading, pki['leaf_key'], PASSPHRASE)
    # The same with CRLF line ends, and with an old encrypted key, whose block has headers, before it.
    crlf = write(tmp_path / 'crlf.pem', (key_pem(pki['leaf_key']) + cert_pem(pki['leaf'])).replace(b'\n', b'\r\n'))
    assert read(dict(path=crlf))['certificate'] == der(pki['leaf'])
    legacy = pki['leaf_key'].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.BestAvailableEncryption(PASSPHRASE.encode()))
    assert b'Proc-Type: 4,ENCRYPTED' in legacy
    headers = write(tmp_path / 'legacy.pem', legacy + cert_pem(pki['leaf']))
    assert read(dict(path=headers))['certificate'] == der(pki['leaf'])


@pytest.mark.parametrize('damage', [
    # A certificate block whose END line is missing, or not one (indented), or labelled otherwise: a pattern
    # that ran on to the next END CERTIFICATE took the key between.
    lambda cert: cert.replace(b'-----END CERTIFICATE-----\n', b''),
    lambda cert: cert.replace(b'-----END CERTIFICATE-----', b'  -----END CERTIFICATE-----'),
    lambda cert: cert.replace(b'-----BEGIN CERTIFICATE-----', b'-----BEGIN X509 CERTIFICATE-----'),
    lambda cert: b'-----BEGIN CERTIFICATE-----\n\n',
    lambda cert: cert[:len(cert) // 2] + b'\n',
], ids=['no-end', 'indented-end', 'other-label', 'empty', 'truncated'])
def test_a_damaged_block_before_the_key_sends_nothing_of_the_key(pki, tmp_path, damage):
    """Such a file is cryptography's to read, on the host, as before this split: it reads the next certificate or
    refuses the file, and only a certificate it read leaves."""
    data = damage(cert_pem(pki['leaf'])) + key_pem(pki['leaf_key']) + cert_pem(pki['issuing'])
    reading = read(dict(path=write(tmp_path / 'damaged.pem', data)))
    secret_free(reading, pki['leaf_key'])
    assert reading['certificate'] in (None, der(pki['issuing']), der(pki['leaf']))
    if reading['certificate'] is None:
        assert 'as a certificate' in reading['error']


def test_a_file_cryptography_reads_but_not_cleanly_framed_is_still_read(pki, tmp_path):
    """Trailing blanks after the BEGIN line, indented lines: cryptography reads them, so the host does too."""
    pem = cert_pem(pki['leaf'])
    for name, data in (('blank.pem', pem.replace(b'CERTIFICATE-----\n', b'CERTIFICATE----- \n', 1)),
                       ('indented.pem', b'\n'.join(b'  ' + line if line and not line.startswith(b'-') else line
                                                   for line in pem.split(b'\n')))):
        reading = read(dict(path=write(tmp_path / name, data)))
        assert (reading['certificate'], reading['error']) == (der(pki['leaf']), None), name


def framed(der, label=b'CERTIFICATE'):
    return framed_text(base64.b64encode(der), label)


def framed_text(text, label=b'CERTIFICATE'):
    """base64 text (bytes) in a PEM block under label, in lines of 64 as PEM writers make them."""
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return b'-----BEGIN ' + label + b'-----\n' + b'\n'.join(lines) + b'\n-----END ' + label + b'-----\n'


def key_ders(key):
    plain = [key.private_bytes(serialization.Encoding.DER, form, serialization.NoEncryption())
             for form in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL)]
    return plain + [key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(PASSPHRASE.encode()))]


def test_a_key_framed_as_a_certificate_by_hand_is_not_sent(pki, tmp_path):
    """A private key's DER (PKCS#8, PKCS#1, encrypted, EC's SEC1) under a CERTIFICATE label, alone or after a
    certificate's DER in one block: cleanly framed, but not a certificate's shape, so nothing of it leaves."""
    cert = write(tmp_path / 'cert.pem', cert_pem(pki['leaf']))
    ec = pki_fixtures.ec_key('reads-ec')
    sec1 = ec.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    leaf_der = pki['leaf'].public_bytes(serialization.Encoding.DER)
    for index, body in enumerate(key_ders(pki['leaf_key']) + [sec1, leaf_der + key_ders(pki['leaf_key'])[0]]):
        for label in (b'CERTIFICATE', b'X509 CERTIFICATE'):
            reading = read(dict(path=write(tmp_path / ('framed-%d.pem' % index), framed(body, label))))
            assert reading['certificate'] is None and 'as a certificate' in reading['error'], (index, label)
            secret_free(reading, pki['leaf_key'])
        bundle = write(tmp_path / ('bundle-%d.pem' % index), cert_pem(pki['issuing']) + framed(body))
        assert read(dict(path=cert, issuing_ca_path=bundle))['issuing_ca'] == [], index


def test_certificates_have_a_certificates_shape(pki):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._report.certificate_reads import (
        certificate_shaped)
    for name in ('leaf', 'issuing', 'root'):
        assert certificate_shaped(pki[name].public_bytes(serialization.Encoding.DER)), name
    der = pki['leaf'].public_bytes(serialization.Encoding.DER)
    assert not certificate_shaped(der[:-1]) and not certificate_shaped(der + b'\x00') and not certificate_shaped(b'')


def non_canonical(pki):
    """A certificate in PEM whose last base64 character before the padding differs from the canonical one in its
    unused bits only: it decodes alike, and cryptography refuses it."""
    alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
    for name in ('leaf', 'issuing', 'root'):
        text = base64.b64encode(pki[name].public_bytes(serialization.Encoding.DER)).decode('ascii')
        if text.endswith('='):
            at = len(text.rstrip('=')) - 1
            return framed_text((text[:at] + alphabet[alphabet.index(text[at]) ^ 1] + text[at + 1:]).encode('ascii'))
    raise AssertionError('no certificate of the test PKI has padding')


def test_framing_cryptography_would_judge_goes_to_cryptography(pki, tmp_path):
    """An indented or mid-line BEGIN, non-canonical base64: the host does not pick a block itself, and the result
    is what cryptography makes of the file, so nothing else leaves."""
    from cryptography import x509
    pem = cert_pem(pki['leaf'])
    for name, data in (('indented', b'  ' + pem.replace(b'\n', b'\n  ') + cert_pem(pki['issuing'])),
                       ('prose', b'x -----BEGIN CERTIFICATE-----\n' + cert_pem(pki['issuing'])),
                       ('padding', non_canonical(pki))):
        reading = read(dict(path=write(tmp_path / (name + '.pem'), data)))
        try:
            expected = der(x509.load_pem_x509_certificate(data))
        except ValueError:
            expected = None
        assert reading['certificate'] == expected, name


def test_a_der_certificate_is_read_and_a_der_key_in_its_place_is_not_sent(pki, tmp_path):
    path = write(tmp_path / 'cert.der', pki['leaf'].public_bytes(serialization.Encoding.DER))
    assert read(dict(path=path))['certificate'] == der(pki['leaf'])
    key_der = pki['leaf_key'].private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
    wrong = read(dict(path=write(tmp_path / 'key.der', key_der)))
    assert wrong['certificate'] is None and wrong['exists'] is True
    assert wrong['error'].startswith('Cannot parse %s as a certificate' % (tmp_path / 'key.der'))
    secret_free(wrong, pki['leaf_key'])


def test_a_pem_file_without_a_certificate_sends_nothing_of_it(pki, tmp_path):
    path = write(tmp_path / 'key-only.pem', key_pem(pki['leaf_key']))
    reading = read(dict(path=path))
    assert reading['certificate'] is None
    assert reading['error'] == 'Cannot parse %s as a certificate: The data is not a PEM or DER X.509 certificate' % path
    secret_free(reading, pki['leaf_key'])


def test_of_a_bundle_only_its_certificates_leave(pki, tmp_path):
    cert = write(tmp_path / 'cert.pem', cert_pem(pki['leaf']))
    bundle = write(tmp_path / 'bundle.pem', cert_pem(pki['issuing']) + key_pem(pki['leaf_key']) + cert_pem(pki['root']))
    reading = read(dict(path=cert, issuing_ca_path=bundle))
    assert reading['issuing_ca'] == [der(pki['issuing']), der(pki['root'])]
    secret_free(reading, pki['leaf_key'])
    damaged = write(tmp_path / 'damaged.pem', cert_pem(pki['issuing']).replace(b'-----END CERTIFICATE-----\n', b'')
                    + key_pem(pki['leaf_key']) + cert_pem(pki['root']))
    secret_free(read(dict(path=cert, issuing_ca_path=damaged)), pki['leaf_key'])
    assert read(dict(path=cert, issuing_ca_path=str(tmp_path / 'none.pem')))['issuing_ca'] == []
    assert read(dict(path=cert))['issuing_ca'] is None


def test_a_key_that_cannot_be_used_is_told_without_its_passphrase(pki, tmp_path):
    cert = write(tmp_path / 'cert.pem', cert_pem(pki['leaf']))
    key = write(tmp_path / 'key.pem', key_pem(pki['leaf_key'], PASSPHRASE))
    wrong = read(dict(path=cert, private_key_path=key, private_key_passphrase='not-' + PASSPHRASE))
    assert wrong['public_key'] is None and 'passphrase' in wrong['key_error']
    secret_free(wrong, pki['leaf_key'], PASSPHRASE)


OURS = 'ansible_collections.incomes_register.certificates.plugins.module_utils.'
# What certificate_info (plugins/modules/certificate_info.py) imports, then reads with, in one module run.
IMPORTS = '''
import sys
from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, dependencies
from ansible_collections.incomes_register.certificates.plugins.module_utils._report.certificate_reads import read
def ours():
    return ' '.join(sorted(name[len(%(ours)r):] for name, module in sys.modules.items()
                           if name.startswith(%(ours)r) and getattr(module, '__file__', None)
                           and not module.__file__.endswith('__init__.py')))
def crypto():
    return ' '.join(sorted(name for name in ('cryptography.hazmat.primitives.serialization', 'cryptography.x509')
                           if name in sys.modules))
assert read(dict(path=sys.argv[1], issuing_ca_path=sys.argv[3]))['certificate']
print(ours() + ' | ' + crypto())
assert read(dict(path=sys.argv[1], private_key_path=sys.argv[2]))['public_key']
print(ours() + ' | ' + crypto())
''' % dict(ours=OURS)


def test_the_audit_imports_only_what_it_runs(pki, tmp_path):
    # A module run compiles every file it imports from its payload, twice, and cryptography.x509's import is ~20 ms
    # on every host (docs/benchmarks.md): the host reads; the controller describes. A fresh interpreter, as a
    # module run is.
    cert = write(tmp_path / 'cert.pem', cert_pem(pki['leaf']))
    key = write(tmp_path / 'key.pem', key_pem(pki['leaf_key']))
    bundle = write(tmp_path / 'bundle.pem', cert_pem(pki['issuing']))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    out = subprocess.run([sys.executable, '-c', IMPORTS, cert, key, bundle],
                         env=env, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    without_key, with_key = out.splitlines()
    assert without_key == '_report.certificate_reads _store.file_reads argspec dependencies errors renewal_policy | '
    assert with_key == ('_crypto.keys _report.certificate_reads _store.file_reads argspec dependencies errors renewal_policy'
                        ' | cryptography.hazmat.primitives.serialization')


WITHOUT_CRYPTOGRAPHY = '''
import sys
sys.modules['cryptography'] = None
from ansible_collections.incomes_register.certificates.plugins.module_utils._report.certificate_reads import read
reading = read(dict(path=sys.argv[1], issuing_ca_path=sys.argv[2]))
print(reading['certificate'] is not None, reading['issuing_ca'])
print(read(dict(path=sys.argv[2]))['error'])
'''


def test_a_host_without_cryptography_reads_clean_pem_and_says_what_else_needs_it(pki, tmp_path):
    """A file only cryptography can read (here a BEGIN in prose before the block) is told as not read on such a
    host, as a bundle or as the certificate, not a crash; a cleanly framed certificate needs no cryptography."""
    cert = write(tmp_path / 'cert.pem', cert_pem(pki['leaf']))
    unclean = write(tmp_path / 'unclean.pem', b'x -----BEGIN CERTIFICATE-----\n' + cert_pem(pki['issuing']))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    out = subprocess.run([sys.executable, '-c', WITHOUT_CRYPTOGRAPHY, cert, unclean], env=env, check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout.splitlines()
    assert out[0] == 'True []'
    assert out[1] == ('Cannot parse %s as a certificate: reading this file on this host needs the Python library '
                      'cryptography' % unclean)


# ---- what is in flight: the state file and the keys set aside ----

def in_flight_files(pki, tmp_path):
    cert = write(tmp_path / 'cert.pem', cert_pem(pki['leaf']))
    key = write(tmp_path / 'key.pem', key_pem(pki['leaf_key']))
    return cert, key


def test_no_state_file_means_nothing_in_flight(pki, tmp_path):
    cert, key = in_flight_files(pki, tmp_path)
    reading = read(dict(path=cert, private_key_path=key))
    assert reading['request'] is None and reading['set_aside_keys'] == []


def test_a_renewal_in_flight_is_read_from_the_file_the_store_writes(pki, tmp_path):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store import pending_request
    cert, key = in_flight_files(pki, tmp_path)
    request = pending_request.PendingRequest(cert + '.state.json', dict(
        operation='renew', phase=pending_request.PREPARED, customer_id='1234567-8', environment='TEST',
        endpoint='https://ir.example/svc', new_key_path=key + '.new', csr_sha256='ab' * 32))
    request.save()
    request.advance(pending_request.SUBMITTED, retrieval_id='RID-42', submitted_at='2026-11-20T03:00:04+00:00')
    reading = read(dict(path=cert, private_key_path=key))
    assert reading['request'] == dict(
        state_path=cert + '.state.json', error=None, operation='renew', phase='submitted', retrieval_id='RID-42',
        created=request.get('created'), updated=request.get('updated'), submitted_at='2026-11-20T03:00:04+00:00',
        replaces_retrieval_id=None, refused=None, answer_kept=False, certificate_kept=False, resubmit_refused=False)
    # Nothing else of the record leaves the host: not its endpoint, customer, key path or digest.
    assert 'ir.example' not in json.dumps(reading) and 'ab' * 32 not in json.dumps(reading)

    request.keep_certificate(b'0\x03\x02\x01\x00')
    kept = read(dict(path=cert))['request']
    assert kept['certificate_kept'] is True and 'certificate' not in kept


def test_a_first_certificate_in_flight_is_told_for_a_missing_certificate(tmp_path):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store import pending_request
    state = str(tmp_path / 'elsewhere.json')
    pending_request.PendingRequest(state, dict(operation='sign', phase=pending_request.SENT, transfer_id='T-1',
                                               new_key_path=str(tmp_path / 'key.pem.new'))).save()
    reading = read(dict(path=str(tmp_path / 'cert.pem'), state_path=state))
    assert reading['error'] == 'No certificate at %s' % (tmp_path / 'cert.pem')
    assert reading['request']['operation'] == 'sign' and reading['request']['phase'] == 'sent'
    assert 'T-1' not in json.dumps(reading), 'the TransferID stays on the host'


@pytest.mark.parametrize('content, why', [
    (b'{not json', 'not a JSON object'),
    (b'[1, 2]', 'not a JSON object'),
    (b'\xff\xfe', 'not a JSON object'),
    # Deeper than the JSON parser recurses: told, not the whole host's audit failing.
    (b'[' * 200000, 'not a JSON object'),
    (b' ' * (1024 * 1024 + 1), 'larger than 1048576 bytes'),
])
def test_a_state_file_that_is_no_state_is_told_not_raised(pki, tmp_path, content, why):
    cert, key = in_flight_files(pki, tmp_path)
    (tmp_path / 'cert.pem.state.json').write_bytes(content)
    request = read(dict(path=cert))['request']
    assert request['state_path'] == cert + '.state.json' and why in request['error']


def test_a_state_file_behind_a_link_or_a_directory_is_told_not_followed(pki, tmp_path):
    cert, key = in_flight_files(pki, tmp_path)
    (tmp_path / 'real.json').write_text(json.dumps({'operation': 'renew', 'phase': 'sent'}))
    os.symlink(str(tmp_path / 'real.json'), cert + '.state.json')
    request = read(dict(path=cert))['request']
    assert 'symbolic link' in request['error'] and 'phase' not in request
    os.unlink(cert + '.state.json')
    os.mkdir(cert + '.state.json')
    assert 'not a regular file' in read(dict(path=cert))['request']['error']


@pytest.mark.parametrize('fields, mode, refused', [
    (dict(version=1, operation='renew', phase='sent'), 0o644, 'it has mode 0644, open to group or others'),
    (dict(version=2, operation='renew', phase='sent'), 0o600, 'it has version 2, not 1'),
    (dict(operation='renew', phase='sent'), 0o600, 'it has version None, not 1'),
    (dict(version=1, operation='revoke', phase='sent'), 0o600, "it records operation 'revoke' and phase 'sent'"),
    (dict(version=1, operation='renew', phase='done'), 0o600, "it records operation 'renew' and phase 'done'"),
    (dict(version=1, operation='renew', phase='submitted'), 0o600, 'it is submitted but has no retrieval_id'),
    (dict(version=1, operation='renew', phase='retrieved'), 0o600, 'it is retrieved but has no retrieval_id'),
    (dict(version=1, operation='renew', phase='sent', new_key_path='/elsewhere/key.pem.new'), 0o600,
     "it names '/elsewhere/key.pem.new' as the key of the request, and the modules take it only when run with the "
     "private_key_path that started it"),
    (dict(version=1, operation='renew', phase='submitted', retrieval_id='R', certificate='not base64!'), 0o600,
     'the certificate it keeps is not base64'),
    (dict(version=1, operation='renew', phase='submitted', retrieval_id='R'), 0o600, None),
])
def test_a_state_file_the_modules_would_refuse_says_why(pki, tmp_path, fields, mode, refused):
    cert, key = in_flight_files(pki, tmp_path)
    (tmp_path / 'cert.pem.state.json').write_text(json.dumps(fields))
    os.chmod(str(tmp_path / 'cert.pem.state.json'), mode)
    assert read(dict(path=cert, private_key_path=key))['request']['refused'] == refused


def test_a_refused_resend_and_a_kept_answer_are_told_as_the_modules_count_them(pki, tmp_path):
    cert, key = in_flight_files(pki, tmp_path)
    state = tmp_path / 'cert.pem.state.json'
    os.close(os.open(str(state), os.O_CREAT | os.O_WRONLY, 0o600))
    state.write_text(json.dumps(dict(version=1, operation='renew', phase='sent', resubmit_refused_at='2026-11-20')))
    answer = tmp_path / 'cert.pem.state.json.answer.xml'
    answer.write_text('<answer/>')
    os.chmod(str(answer), 0o600)
    request = read(dict(path=cert))['request']
    # An answer file the record has no digest of is not one the modules check again.
    assert request['resubmit_refused'] is True and request['answer_kept'] is False and request['refused'] is None
    # Nor one whose digest is another's.
    state.write_text(json.dumps(dict(version=1, operation='renew', phase='sent', answer_sha256='00' * 32)))
    assert read(dict(path=cert))['request']['answer_kept'] is False
    digest = hashlib.sha256(b'<answer/>').hexdigest()
    state.write_text(json.dumps(dict(version=1, operation='renew', phase='sent', answer_sha256=digest)))
    assert read(dict(path=cert))['request']['answer_kept'] is True
    # Open to others, the modules refuse it rather than check it.
    os.chmod(str(answer), 0o644)
    request = read(dict(path=cert))['request']
    assert request['answer_kept'] is False
    assert request['refused'] == 'its kept answer %s has mode 0644, open to group or others' % answer


def test_odd_field_values_are_left_out(pki, tmp_path):
    cert, key = in_flight_files(pki, tmp_path)
    (tmp_path / 'cert.pem.state.json').write_text(json.dumps(
        {'operation': ['renew'], 'phase': 'x' * 65, 'retrieval_id': '', 'created': 7, 'updated': None}))
    request = read(dict(path=cert))['request']
    assert [request[name] for name in ('operation', 'phase', 'retrieval_id', 'created', 'updated')] == [None] * 5


def test_keys_set_aside_by_unanswered_renewals_are_listed(pki, tmp_path):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store import certificate_store
    cert, key = in_flight_files(pki, tmp_path)
    store = certificate_store.CertificateStore(cert, key)
    (tmp_path / 'key.pem.new').write_bytes(b'stand-in')
    import datetime
    first = store.set_aside_new_key(datetime.datetime(2026, 11, 1, 3, 0, tzinfo=datetime.timezone.utc))
    (tmp_path / 'key.pem.new').write_bytes(b'stand-in')
    second = store.set_aside_new_key(datetime.datetime(2026, 11, 8, 3, 0, tzinfo=datetime.timezone.utc))
    # Another key's set-aside copies, a copy of one, and the pending .new key are not this key's set-aside keys.
    (tmp_path / 'other.pem.new.unanswered-20261101T030000Z').write_bytes(b'x')
    (tmp_path / 'key.pem.new.unanswered-20261101T030000Z.bak').write_bytes(b'x')
    (tmp_path / 'key.pem.new.unanswered-later').write_bytes(b'x')
    (tmp_path / 'key.pem.new').write_bytes(b'stand-in')
    reading = read(dict(path=cert, private_key_path=key))
    assert reading['set_aside_keys'] == [first, second]
    assert read(dict(path=cert))['set_aside_keys'] == [], 'without a key path there is nothing to look beside'


def test_the_names_read_here_are_the_ones_the_store_writes(tmp_path):
    from ansible_collections.incomes_register.certificates.plugins.module_utils._report import certificate_reads
    import datetime
    from ansible_collections.incomes_register.certificates.plugins.module_utils import lifecycle
    from ansible_collections.incomes_register.certificates.plugins.module_utils._store import (
        certificate_store, pending_request)
    store = certificate_store.CertificateStore('/x/cert.pem', '/x/key.pem')
    assert store.state_path == '/x/cert.pem' + certificate_reads.STATE_SUFFIX
    assert pending_request.answer_path(store.state_path) == store.state_path + certificate_reads.ANSWER_SUFFIX
    assert certificate_reads.SET_ASIDE_INFIX == '.new' + certificate_store.SET_ASIDE
    assert store.new_key_path == '/x/key.pem.new'
    assert certificate_store._is_set_aside_time(datetime.datetime(2026, 1, 2, 3, 4, 5).strftime(
        certificate_store.SET_ASIDE_TIME))
    assert certificate_reads._SET_ASIDE_TIME.match(datetime.datetime(2026, 1, 2, 3, 4, 5).strftime(
        certificate_store.SET_ASIDE_TIME))
    assert (certificate_reads.STATE_VERSION, certificate_reads.OPERATIONS, certificate_reads.PHASES) == (
        pending_request.STATE_VERSION, pending_request.OPERATIONS, pending_request.PHASES)
    assert certificate_reads.RESUBMIT_REFUSED == lifecycle.RESUBMIT_REFUSED and lifecycle.REPLACES in \
        certificate_reads.REQUEST_FIELDS
    assert certificate_reads.RESUMABLE_PHASES == pending_request.RESUMABLE_PHASES
    state = str(tmp_path / 'state.json')
    pending_request.PendingRequest(state, dict(operation='renew', phase='sent', new_key_path='/x/key.pem.new')).save() \
        .keep_answer(b'<answer/>')
    with open(state) as handle:
        assert json.load(handle)[certificate_reads.ANSWER_DIGEST]
    assert os.path.exists(state + certificate_reads.ANSWER_SUFFIX)
