import json
import os
import stat

import pytest

from ansible_collections.incomes_register.certificates.plugins.module_utils._store import pending_state
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import StateError

KEY_PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n'


def _sign_state(**changes):
    state = dict(operation='sign', phase='prepared', customer_id='1234567-8', environment='TEST',
                 endpoint='https://pkiws-testi.vero.fi/2017/10/CertificateServices', transfer_id='T123',
                 new_key_path='/etc/ir/key.pem', csr_sha256='ab' * 32)
    state.update(changes)
    return state


def test_round_trip_with_private_mode_and_stamps(tmp_path):
    path = str(tmp_path / 'cert.pem.state.json')
    saved = pending_state.save_state(path, _sign_state())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = pending_state.load_state(path)
    assert loaded == saved
    assert loaded['version'] == pending_state.STATE_VERSION
    assert loaded['created'].endswith('Z') and loaded['updated'].endswith('Z')
    assert loaded['transfer_id'] == 'T123'
    assert json.loads(open(path).read()) == loaded


def test_save_keeps_created_and_moves_phase_on(tmp_path):
    path = str(tmp_path / 'state.json')
    first = pending_state.save_state(path, _sign_state(created='2025-01-01T00:00:00Z'))
    second = pending_state.save_state(path, dict(first, phase='submitted', retrieval_id='R42'))
    assert second['created'] == '2025-01-01T00:00:00Z'
    assert pending_state.load_state(path)['phase'] == 'submitted'
    assert pending_state.load_state(path)['retrieval_id'] == 'R42'


def test_save_does_not_modify_the_callers_dict(tmp_path):
    state = _sign_state()
    pending_state.save_state(str(tmp_path / 's.json'), state)
    assert 'version' not in state and 'updated' not in state


def test_missing_state_is_none_and_clear_is_idempotent(tmp_path):
    path = str(tmp_path / 'state.json')
    assert pending_state.load_state(path) is None
    assert pending_state.clear_state(path) is False
    pending_state.save_state(path, _sign_state())
    assert pending_state.clear_state(path) is True
    assert not os.path.exists(path)
    assert pending_state.load_state(path) is None


@pytest.mark.parametrize('secret_field', [
    {'transfer_password': 'hunter2'},
    {'TransferPassword': 'hunter2'},
    {'key_passphrase': 'hunter2'},
    {'extra': {'nested': {'password': 'hunter2'}}},
])
def test_refuses_secret_keys(tmp_path, secret_field):
    path = str(tmp_path / 'state.json')
    with pytest.raises(StateError, match='never be stored') as info:
        pending_state.save_state(path, _sign_state(**secret_field))
    assert 'hunter2' not in str(info.value)
    assert not os.path.exists(path)


@pytest.mark.parametrize('value', [KEY_PEM, KEY_PEM.replace('PRIVATE', 'RSA PRIVATE').encode(), ['a', KEY_PEM]])
def test_refuses_private_key_values(tmp_path, value):
    path = str(tmp_path / 'state.json')
    with pytest.raises(StateError, match='new_key') as info:
        pending_state.save_state(path, _sign_state(new_key=value))
    assert 'MIIEvQ' not in str(info.value)
    assert not os.path.exists(path)


@pytest.mark.parametrize('changes, message', [
    ({'operation': 'revoke'}, 'operation'),
    ({'phase': 'done'}, 'phase'),
    ({'phase': 'submitted'}, 'no retrieval_id'),
])
def test_save_refuses_bad_shape(tmp_path, changes, message):
    with pytest.raises(StateError, match=message):
        pending_state.save_state(str(tmp_path / 's.json'), _sign_state(**changes))


def test_save_refuses_non_json_values(tmp_path):
    with pytest.raises(StateError, match='plain JSON'):
        pending_state.save_state(str(tmp_path / 's.json'), _sign_state(when=object()))


@pytest.mark.parametrize('content, message', [
    (b'{"version": 1, "operation": "sign", "pha', 'not valid JSON'),
    (b'\xff\xfe', 'not valid JSON'),
    (b'[1, 2]', 'version None'),
    (b'{"version": 99, "operation": "sign", "phase": "sent"}', 'version 99'),
    (b'{"version": 1, "operation": "sign", "phase": "lost"}', 'phase'),
])
def test_load_refuses_corrupt_or_unknown_state(tmp_path, content, message):
    path = tmp_path / 'state.json'
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(StateError, match=message):
        pending_state.load_state(str(path))


def test_load_refuses_a_state_file_others_can_write_or_that_another_user_owns(tmp_path):
    """The state names the file the swap moves over the private key: a planted one must not be read."""
    path = str(tmp_path / 'state.json')
    pending_state.save_state(path, _sign_state())
    os.chmod(path, 0o666)
    with pytest.raises(StateError, match='cannot be trusted.*accessible to group or others'):
        pending_state.load_state(path)
    os.chmod(path, 0o600)
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
        with pytest.raises(StateError, match='cannot be trusted.*owned by uid 65534'):
            pending_state.load_state(path)
        assert pending_state.load_state(path, owner='65534')['operation'] == 'sign'


def test_renew_state_without_transfer_id(tmp_path):
    path = str(tmp_path / 'state.json')
    state = dict(operation='renew', phase='sent', customer_id='1234567-8', environment='TEST',
                 endpoint='https://example.invalid/', new_key_path='/k', csr_sha256='00')
    pending_state.save_state(path, state)
    assert pending_state.load_state(path)['operation'] == 'renew'
