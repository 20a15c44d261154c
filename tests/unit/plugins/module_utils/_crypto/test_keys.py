import os
import sys

import pytest
from cryptography.hazmat.primitives import hashes, serialization

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pki_fixtures  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto import keys  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import (  # noqa: E402
    CertificateServiceError, LocalFileError)

PASSPHRASE = 'correct horse battery'


@pytest.fixture(scope='module')
def key():
    return pki_fixtures.rsa_key('keys-test')


def test_serialize_unencrypted_is_pkcs8_and_round_trips(key):
    pem = keys.serialize_private_key(key)
    assert pem.startswith(b'-----BEGIN PRIVATE KEY-----')
    assert keys.load_private_key(pem).private_numbers() == key.private_numbers()


def test_serialize_with_passphrase_encrypts_and_round_trips(key):
    pem = keys.serialize_private_key(key, PASSPHRASE)
    assert pem.startswith(b'-----BEGIN ENCRYPTED PRIVATE KEY-----')
    assert keys.load_private_key(pem, PASSPHRASE).private_numbers() == key.private_numbers()
    assert keys.load_private_key(pem, PASSPHRASE.encode()).private_numbers() == key.private_numbers()


def test_empty_passphrase_is_refused(key):
    with pytest.raises(ValueError, match='must not be empty'):
        keys.serialize_private_key(key, '')
    with pytest.raises(keys.PrivateKeyError, match='must not be empty'):
        keys.load_private_key(keys.serialize_private_key(key, PASSPHRASE), '')


def test_wrong_passphrase_is_a_clear_secret_free_error(key):
    pem = keys.serialize_private_key(key, PASSPHRASE)
    with pytest.raises(keys.PrivateKeyError, match='passphrase is wrong') as info:
        keys.load_private_key(pem, 'not it at all')
    assert isinstance(info.value, LocalFileError)
    assert 'not it at all' not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_missing_passphrase_for_encrypted_key(key):
    pem = keys.serialize_private_key(key, PASSPHRASE)
    with pytest.raises(keys.PrivateKeyError, match='encrypted: give its passphrase'):
        keys.load_private_key(pem)


def test_passphrase_for_unencrypted_key(key):
    with pytest.raises(keys.PrivateKeyError, match='not encrypted'):
        keys.load_private_key(keys.serialize_private_key(key), PASSPHRASE)


@pytest.mark.parametrize('data', [b'', b'hello', b'-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'])
def test_not_a_key(data):
    with pytest.raises(keys.PrivateKeyError, match='not a PEM private key'):
        keys.load_private_key(data)


def test_damaged_key_message_never_contains_key_material(key):
    pem = keys.serialize_private_key(key)
    lines = pem.splitlines()
    damaged = b'\n'.join(lines[:5] + [lines[5][:-8] + b'!!!!!!!!'] + lines[6:]) + b'\n'
    with pytest.raises(CertificateServiceError) as info:
        keys.load_private_key(damaged)
    for line in lines[1:-1]:
        assert line.decode() not in str(info.value)


def test_a_damaged_key_loads_to_compare_but_never_to_sign(key):
    pem = pki_fixtures.inconsistent_rsa_pem(key)
    compared = keys.load_private_key(pem, for_signing=False)
    assert compared.public_key().public_numbers() == key.public_key().public_numbers()
    with pytest.raises(keys.PrivateKeyError, match='damaged: it parses, but its RSA numbers are not consistent'):
        keys.load_private_key(pem)


def test_a_sound_key_loads_the_same_either_way(key):
    pem = keys.serialize_private_key(key)
    assert (keys.load_private_key(pem, for_signing=False).private_numbers()
            == keys.load_private_key(pem).private_numbers() == key.private_numbers())


def test_non_rsa_key_is_refused():
    pem = pki_fixtures.ec_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())
    with pytest.raises(keys.PrivateKeyError, match='not an RSA key'):
        keys.load_private_key(pem)


def test_fingerprint_is_sha256_of_spki(key):
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    expected = digest.finalize().hex().upper()
    fingerprint = keys.public_key_fingerprint(key.public_key())
    assert fingerprint.replace(':', '') == expected
    assert len(fingerprint.split(':')) == 32


def test_keys_match():
    pki = pki_fixtures.make_pki()
    assert keys.keys_match(pki['leaf_key'], pki['leaf'])
    assert not keys.keys_match(pki['issuing_key'], pki['leaf'])
