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
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError  # noqa: E402

PASSPHRASE = 'keystore secret'


@pytest.fixture(scope='module')
def pki():
    return pf.make_pki()


@pytest.fixture(scope='module')
def parts(pki):
    return pki['leaf'], pki['leaf_key'], [pki['issuing'], pki['root']]


def render(name, cert, key, chain, **options):
    return install_layouts.by_name(name).render(cert, key, chain, options)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_pem_layout(parts):
    cert, key, chain = parts
    files = render('pem', cert, key, chain)
    assert set(files) == {'certificate', 'private_key', 'chain'}
    assert files['certificate'] == certificate_to_pem(cert)
    assert files['private_key'] == _key_pem(key)
    assert load_pem_bundle(files['chain']) == chain


def test_pem_layout_without_chain_has_no_chain_file(parts):
    cert, key, dummy = parts
    assert set(render('pem', cert, key, [])) == {'certificate', 'private_key'}


def test_combined_layout_order_is_key_leaf_chain(parts):
    cert, key, chain = parts
    combined = render('combined', cert, key, chain)['combined']
    assert combined.startswith(_key_pem(key))
    assert load_pem_bundle(combined) == [cert] + chain
    assert serialization.load_pem_private_key(combined, None).private_numbers() == key.private_numbers()


def test_fullchain_layout(parts):
    cert, key, chain = parts
    files = render('fullchain', cert, key, chain)
    assert set(files) == {'fullchain', 'private_key'}
    assert load_pem_bundle(files['fullchain']) == [cert] + chain


def test_pem_layouts_are_deterministic(parts):
    for layout in ('pem', 'combined', 'fullchain'):
        assert render(layout, *parts) == render(layout, *parts)


def test_an_unknown_layout_fails_with_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown layout 'jks'; expected one of pem, combined, fullchain, pkcs12$"):
        install_layouts.by_name('jks')


def test_pkcs12_round_trip(parts):
    cert, key, chain = parts
    data = render('pkcs12', cert, key, chain, pkcs12_passphrase=PASSPHRASE, friendly_name='1234567-8')['pkcs12']
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
            render('pkcs12', *parts, pkcs12_passphrase=passphrase)


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


# What certificate_install's documentation says of each layout: {role: (option naming its path, secret)}.
DOCUMENTED_FILES = {
    'pem': {'certificate': ('dest', False), 'private_key': ('private_key_dest', True), 'chain': ('chain_dest', False)},
    'combined': {'combined': ('dest', True)},
    'fullchain': {'fullchain': ('dest', False), 'private_key': ('private_key_dest', True)},
    'pkcs12': {'pkcs12': ('dest', True)},
}
DOCUMENTED_OPTIONS = {
    # layout: (every option it reads, the ones it refuses to run without)
    'pem': ({'dest', 'private_key_dest', 'chain_dest'}, {'dest', 'private_key_dest'}),
    'combined': ({'dest'}, {'dest'}),
    'fullchain': ({'dest', 'private_key_dest'}, {'dest', 'private_key_dest'}),
    'pkcs12': ({'dest', 'pkcs12_passphrase', 'friendly_name'}, {'dest', 'pkcs12_passphrase'}),
}


def test_the_registry_holds_the_documented_layouts_in_the_modules_order():
    # The order is the module's and the role's choices, pem (the default) first.
    assert list(install_layouts.LAYOUTS) == ['pem', 'combined', 'fullchain', 'pkcs12']
    for name, layout in install_layouts.LAYOUTS.items():
        assert layout.name == name
        assert install_layouts.by_name(name) is layout


@pytest.mark.parametrize('name', sorted(DOCUMENTED_FILES))
def test_each_layouts_files_and_secrecy_are_the_documented_ones(name):
    layout = install_layouts.by_name(name)
    assert dict((entry.role, (entry.option, entry.secret)) for entry in layout.files) == DOCUMENTED_FILES[name]
    # Two files of one layout at one path would leave only the last one written.
    assert len(set(entry.option for entry in layout.files)) == len(layout.files)
    assert [entry.role for entry in layout.files if entry.optional] == (['chain'] if name == 'pem' else [])


@pytest.mark.parametrize('name', sorted(DOCUMENTED_OPTIONS))
def test_each_layouts_options_are_the_documented_ones(name):
    layout = install_layouts.by_name(name)
    options, required = DOCUMENTED_OPTIONS[name]
    assert set(layout.options) == options and len(layout.options) == len(options)
    assert set(layout.required) == required


@pytest.mark.parametrize('name', sorted(DOCUMENTED_OPTIONS))
def test_a_layout_refuses_without_each_option_it_needs_and_accepts_without_the_rest(name):
    layout = install_layouts.by_name(name)
    required = DOCUMENTED_OPTIONS[name][1]
    complete = dict((option, 'value') for option in required)
    layout.check_options(complete)
    for option in required:
        for missing in (None, ''):
            with pytest.raises(CertificateServiceError, match=r'^layout=%s .*%s$' % (name, option)):
                layout.check_options(dict(complete, **{option: missing}))


@pytest.mark.parametrize('name, params, message', [
    ('pkcs12', dict(dest='/k.p12'), 'layout=pkcs12 needs pkcs12_passphrase'),
    ('pem', dict(dest='/c.pem', chain_dest='/chain.pem'), 'layout=pem writes a private_key file: set private_key_dest'),
    ('fullchain', dict(dest='/f.pem'), 'layout=fullchain writes a private_key file: set private_key_dest'),
    ('combined', dict(dest='/all.pem', private_key_dest='/k.pem'),
     'layout=combined does not write private_key_dest: leave it out, or choose a layout that does (fullchain, pem).'),
    ('fullchain', dict(dest='/f.pem', private_key_dest='/k.pem', chain_dest='/c.pem'),
     'layout=fullchain does not write chain_dest: leave it out, or choose a layout that does (pem).'),
])
def test_the_refusals_say_what_to_set(name, params, message):
    # docs/troubleshooting.md quotes these messages.
    with pytest.raises(CertificateServiceError) as raised:
        install_layouts.by_name(name).check_options(params)
    assert str(raised.value) == message


def test_every_role_of_every_layout_is_one_of_its_files(parts):
    cert, key, chain = parts
    for layout in install_layouts.LAYOUTS.values():
        files = layout.render(cert, key, chain, dict(pkcs12_passphrase=PASSPHRASE))
        specs = dict((entry.role, entry) for entry in layout.files)
        assert set(files) == set(specs), layout.name
        for role, data in files.items():
            # A role that carries the key must be marked secret, or its file would be shown in a diff.
            assert specs[role].secret == install_layouts.holds_key_material(data), (layout.name, role)


@pytest.mark.parametrize('name', ['pem', 'combined', 'fullchain'])
def test_pem_layouts_match_by_bytes(parts, name):
    layout = install_layouts.by_name(name)
    for role, data in layout.render(*parts).items():
        assert layout.matches(data, data, *parts)
        assert not layout.matches(data + b'\n', data, *parts), role
        assert not layout.matches(None, data, *parts), role


def test_the_pkcs12_layout_matches_by_content(pki, parts):
    cert, key, chain = parts
    layout = install_layouts.by_name('pkcs12')
    options = dict(pkcs12_passphrase=PASSPHRASE, friendly_name='ir')
    existing = layout.render(cert, key, chain, options)['pkcs12']
    fresh = layout.render(cert, key, chain, options)['pkcs12']
    assert existing != fresh
    assert layout.matches(existing, fresh, cert, key, chain, options)
    assert not layout.matches(existing, fresh, cert, key, chain, dict(options, friendly_name='renamed'))
    assert not layout.matches(existing, fresh, cert, key, chain, dict(options, pkcs12_passphrase='other'))
    assert not layout.matches(existing, fresh, cert, key, chain[:1], options)
    assert not layout.matches(None, fresh, cert, key, chain, options)


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


def test_a_keystore_option_given_for_the_task_is_no_refusal_for_a_pem_target():
    """Targets inherit the task's options: a passphrase set once for a pkcs12 target reaches the pem one too."""
    install_layouts.by_name('pem').check_options(dict(dest='/c.pem', private_key_dest='/k.pem', pkcs12_passphrase='x',
                                                      friendly_name='app'))
