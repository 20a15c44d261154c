import os
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pki_fixtures as pf  # noqa: E402

from ansible_collections.incomes_register.certificates.plugins.module_utils._install import install_layouts  # noqa: E402
from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import (  # noqa: E402
    certificate_to_pem, load_pem_bundle)

PASSPHRASE = 'keystore secret'


@pytest.fixture(scope='module')
def pki():
    return pf.make_pki()


@pytest.fixture(scope='module')
def parts(pki):
    return pki['leaf'], pki['leaf_key'], [pki['issuing'], pki['root']]


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_pem_layout(parts):
    cert, key, chain = parts
    files = install_layouts.render_layout('pem', cert, key, chain)
    assert set(files) == {'certificate', 'private_key', 'chain'}
    assert files['certificate'] == certificate_to_pem(cert)
    assert files['private_key'] == _key_pem(key)
    assert load_pem_bundle(files['chain']) == chain


def test_pem_layout_without_chain_has_no_chain_file(parts):
    cert, key, dummy = parts
    assert set(install_layouts.render_layout('pem', cert, key, [])) == {'certificate', 'private_key'}


def test_combined_layout_order_is_key_leaf_chain(parts):
    cert, key, chain = parts
    combined = install_layouts.render_layout('combined', cert, key, chain)['combined']
    assert combined.startswith(_key_pem(key))
    assert load_pem_bundle(combined) == [cert] + chain
    assert serialization.load_pem_private_key(combined, None).private_numbers() == key.private_numbers()


def test_fullchain_layout(parts):
    cert, key, chain = parts
    files = install_layouts.render_layout('fullchain', cert, key, chain)
    assert set(files) == {'fullchain', 'private_key'}
    assert load_pem_bundle(files['fullchain']) == [cert] + chain


def test_pem_layouts_are_deterministic(parts):
    for layout in ('pem', 'combined', 'fullchain'):
        assert install_layouts.render_layout(layout, *parts) == install_layouts.render_layout(layout, *parts)


def test_unknown_layout(parts):
    with pytest.raises(ValueError, match='Unknown layout'):
        install_layouts.render_layout('jks', *parts)


def test_pkcs12_round_trip(parts):
    cert, key, chain = parts
    data = install_layouts.render_layout('pkcs12', cert, key, chain, passphrase=PASSPHRASE,
                                         friendly_name='1234567-8')['pkcs12']
    loaded = pkcs12.load_pkcs12(data, PASSPHRASE.encode())
    assert loaded.key.private_numbers() == key.private_numbers()
    assert loaded.cert.certificate == cert
    assert loaded.cert.friendly_name == b'1234567-8'
    assert [c.certificate for c in loaded.additional_certs] == chain
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(data, b'wrong')


def test_pkcs12_needs_a_passphrase(parts):
    for passphrase in (None, ''):
        with pytest.raises(ValueError, match='non-empty passphrase'):
            install_layouts.render_layout('pkcs12', *parts, passphrase=passphrase)


def test_pkcs12_output_differs_each_time_but_matches(parts):
    cert, key, chain = parts
    first = install_layouts.pkcs12_bytes(key, cert, chain, PASSPHRASE, 'ir')
    second = install_layouts.pkcs12_bytes(key, cert, chain, PASSPHRASE, 'ir')
    assert first != second
    assert install_layouts.pkcs12_matches(first, PASSPHRASE, key, cert, chain, 'ir')
    assert install_layouts.pkcs12_matches(second, PASSPHRASE.encode(), key, cert, chain, b'ir')


def test_pkcs12_without_chain_matches(parts):
    cert, key, chain = parts
    data = install_layouts.pkcs12_bytes(key, cert, [], PASSPHRASE)
    assert install_layouts.pkcs12_matches(data, PASSPHRASE, key, cert, [])
    assert not install_layouts.pkcs12_matches(data, PASSPHRASE, key, cert, chain[:1])


def test_pkcs12_mismatches(pki, parts):
    cert, key, chain = parts
    data = install_layouts.pkcs12_bytes(key, cert, chain, PASSPHRASE, 'ir')
    other_cert, other_key = pf.make_leaf(pki['issuing'], pki['issuing_key'], key_label='other-leaf')
    assert not install_layouts.pkcs12_matches(data, 'changed passphrase', key, cert, chain, 'ir')
    assert not install_layouts.pkcs12_matches(data, PASSPHRASE, other_key, cert, chain, 'ir')
    assert not install_layouts.pkcs12_matches(data, PASSPHRASE, key, other_cert, chain, 'ir')
    assert not install_layouts.pkcs12_matches(data, PASSPHRASE, key, cert, chain[:1], 'ir')
    assert not install_layouts.pkcs12_matches(data, PASSPHRASE, key, cert, list(reversed(chain)), 'ir')
    assert not install_layouts.pkcs12_matches(data, PASSPHRASE, key, cert, chain, 'renamed')
    assert not install_layouts.pkcs12_matches(data, PASSPHRASE, key, cert, chain, None)
    assert not install_layouts.pkcs12_matches(b'', PASSPHRASE, key, cert, chain, 'ir')
    assert not install_layouts.pkcs12_matches(b'not a pkcs12 file', PASSPHRASE, key, cert, chain, 'ir')


def test_pkcs12_with_certificate_only_does_not_match(parts):
    cert, key, chain = parts
    data = pkcs12.serialize_key_and_certificates(
        b'ir', None, cert, None, serialization.BestAvailableEncryption(PASSPHRASE.encode()))
    assert not install_layouts.pkcs12_matches(data, PASSPHRASE, key, cert, [], 'ir')


def test_every_role_of_every_layout_has_a_destination_option(parts):
    cert, key, chain = parts
    for layout in install_layouts.LAYOUTS:
        files = install_layouts.render_layout(layout, cert, key, chain, passphrase=PASSPHRASE)
        assert set(files) <= set(install_layouts.DESTINATION_OPTION), layout
        for role, data in files.items():
            # A role that carries the key must be marked secret, or its file would be shown in a diff.
            assert (role in install_layouts.SECRET_ROLES) == install_layouts.holds_key_material(data), (layout, role)


@pytest.mark.parametrize('form', [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.PrivateFormat.OpenSSH])
def test_holds_key_material_in_every_pem_form(parts, form):
    cert, key, chain = parts
    # Encrypted OpenSSH keys need bcrypt, which the collection does not require.
    encryptions = [serialization.NoEncryption()]
    if form != serialization.PrivateFormat.OpenSSH:
        encryptions.append(serialization.BestAvailableEncryption(b'phrase'))
    for encryption in encryptions:
        pem = key.private_bytes(serialization.Encoding.PEM, form, encryption)
        # Inside other text too: a certificate file someone appended a key to.
        assert install_layouts.holds_key_material(certificate_to_pem(cert) + pem)


@pytest.mark.parametrize('data', [
    b'-----begin private key-----\nMIIE\n',
    b'--BEGIN EC PRIVATE KEY--\nMHcC\n',
    b'-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOY\n',
])
def test_holds_key_material_with_unusual_markers(data):
    assert install_layouts.holds_key_material(data)


def test_binary_files_count_as_key_material(parts):
    cert, key, chain = parts
    assert install_layouts.holds_key_material(install_layouts.pkcs12_bytes(key, cert, chain, PASSPHRASE))
    assert install_layouts.holds_key_material(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    assert install_layouts.holds_key_material(b'plain text\x00with a NUL')
    assert install_layouts.holds_key_material(b'\xff\xfe not UTF-8')


def test_certificates_and_plain_text_are_not_key_material(parts):
    cert, key, chain = parts
    assert not install_layouts.holds_key_material(certificate_to_pem(cert) + b''.join(
        certificate_to_pem(ca) for ca in chain))
    assert not install_layouts.holds_key_material(b'# managed by Ansible\r\n\tno key here\n')
    assert not install_layouts.holds_key_material(b'')
    assert not install_layouts.holds_key_material(None)
