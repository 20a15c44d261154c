import json
import os
import stat

import pytest

from ansible_collections.incomes_register.certificates.plugins.module_utils._store import pending_request
from ansible_collections.incomes_register.certificates.plugins.module_utils._store.pending_request import PendingRequest
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import StateError

KEY_PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n'


def _sign_state(**changes):
    state = dict(operation='sign', phase='prepared', customer_id='1234567-8', environment='TEST',
                 endpoint='https://pkiws-testi.vero.fi/2017/10/CertificateServices', transfer_id='T123',
                 new_key_path='/etc/ir/key.pem', csr_sha256='ab' * 32)
    state.update(changes)
    return state


NEW_KEY = '/etc/ir/key.pem'


def save_state(path, fields):
    return PendingRequest(path, fields).save().fields()


def load_state(path, owner=None):
    request = PendingRequest.load(path, NEW_KEY, owner=owner)
    return None if request is None else request.fields()


def clear_state(path):
    return PendingRequest(path, {}).clear()


def test_round_trip_with_private_mode_and_stamps(tmp_path):
    path = str(tmp_path / 'cert.pem.state.json')
    saved = save_state(path, _sign_state())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = load_state(path)
    assert loaded == saved
    assert loaded['version'] == pending_request.STATE_VERSION
    assert loaded['created'].endswith('Z') and loaded['updated'].endswith('Z')
    assert loaded['transfer_id'] == 'T123'
    assert json.loads(open(path).read()) == loaded


def test_save_keeps_created_and_moves_phase_on(tmp_path):
    path = str(tmp_path / 'state.json')
    first = save_state(path, _sign_state(created='2025-01-01T00:00:00Z'))
    second = save_state(path, dict(first, phase='submitted', retrieval_id='R42'))
    assert second['created'] == '2025-01-01T00:00:00Z'
    assert load_state(path)['phase'] == 'submitted'
    assert load_state(path)['retrieval_id'] == 'R42'


def test_save_does_not_modify_the_callers_dict(tmp_path):
    state = _sign_state()
    save_state(str(tmp_path / 's.json'), state)
    assert 'version' not in state and 'updated' not in state


def test_missing_state_is_none_and_clear_is_idempotent(tmp_path):
    path = str(tmp_path / 'state.json')
    assert load_state(path) is None
    assert clear_state(path) is False
    save_state(path, _sign_state())
    assert clear_state(path) is True
    assert not os.path.exists(path)
    assert load_state(path) is None


@pytest.mark.parametrize('secret_field', [
    {'transfer_password': 'hunter2'},
    {'TransferPassword': 'hunter2'},
    {'key_passphrase': 'hunter2'},
    {'extra': {'nested': {'password': 'hunter2'}}},
])
def test_refuses_secret_keys(tmp_path, secret_field):
    path = str(tmp_path / 'state.json')
    with pytest.raises(StateError, match='never be stored') as info:
        save_state(path, _sign_state(**secret_field))
    assert 'hunter2' not in str(info.value)
    assert not os.path.exists(path)


@pytest.mark.parametrize('value', [KEY_PEM, KEY_PEM.replace('PRIVATE', 'RSA PRIVATE').encode(), ['a', KEY_PEM]])
def test_refuses_private_key_values(tmp_path, value):
    path = str(tmp_path / 'state.json')
    with pytest.raises(StateError, match='new_key') as info:
        save_state(path, _sign_state(new_key=value))
    assert 'MIIEvQ' not in str(info.value)
    assert not os.path.exists(path)


@pytest.mark.parametrize('changes, message', [
    ({'operation': 'revoke'}, 'operation'),
    ({'phase': 'done'}, 'phase'),
    ({'phase': 'submitted'}, 'no retrieval_id'),
])
def test_save_refuses_bad_shape(tmp_path, changes, message):
    with pytest.raises(StateError, match=message):
        save_state(str(tmp_path / 's.json'), _sign_state(**changes))


def test_save_refuses_non_json_values(tmp_path):
    with pytest.raises(StateError, match='plain JSON'):
        save_state(str(tmp_path / 's.json'), _sign_state(when=object()))


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
        load_state(str(path))


def test_load_refuses_a_state_file_others_can_write_or_that_another_user_owns(tmp_path):
    """The state names the file the swap moves over the private key: a planted one must not be read."""
    path = str(tmp_path / 'state.json')
    save_state(path, _sign_state())
    os.chmod(path, 0o666)
    with pytest.raises(StateError, match='cannot be trusted.*accessible to group or others'):
        load_state(path)
    os.chmod(path, 0o600)
    if os.geteuid() == 0:
        os.chown(path, 65534, 65534)
        with pytest.raises(StateError, match='cannot be trusted.*owned by uid 65534'):
            load_state(path)
        assert load_state(path, owner='65534')['operation'] == 'sign'


def test_renew_state_without_transfer_id(tmp_path):
    path = str(tmp_path / 'state.json')
    state = dict(operation='renew', phase='sent', customer_id='1234567-8', environment='TEST',
                 endpoint='https://example.invalid/', new_key_path=NEW_KEY, csr_sha256='00')
    save_state(path, state)
    assert load_state(path)['operation'] == 'renew'


def test_load_refuses_a_state_naming_another_new_key(tmp_path):
    """The swap moves the named key over the private key: only the path this task derives is accepted."""
    path = str(tmp_path / 'state.json')
    save_state(path, _sign_state(new_key_path='/etc/shadow'))
    with pytest.raises(StateError, match="names '/etc/shadow' as the key"):
        load_state(path)


def test_a_state_without_new_key_path_gets_the_derived_one(tmp_path):
    path = str(tmp_path / 'state.json')
    fields = _sign_state()
    del fields['new_key_path']
    save_state(path, fields)
    assert PendingRequest.load(path, NEW_KEY).new_key_path == NEW_KEY


def test_advance_records_the_phase_and_fields_and_keeps_created(tmp_path):
    path = str(tmp_path / 'state.json')
    request = PendingRequest(path, _sign_state(created='2025-01-01T00:00:00Z')).save()
    assert not request.resumable
    request.advance('submitted', retrieval_id='R42')
    loaded = PendingRequest.load(path, NEW_KEY)
    assert (loaded.phase, loaded.retrieval_id, loaded.operation, loaded.resumable) == ('submitted', 'R42', 'sign', True)
    assert loaded.get('created') == '2025-01-01T00:00:00Z'


def test_an_unsaved_request_writes_nothing(tmp_path):
    path = str(tmp_path / 'state.json')
    PendingRequest(path, _sign_state(phase='submitted', retrieval_id='R1'))
    assert not os.path.exists(path)


@pytest.mark.parametrize('given, same', [
    (dict(customer_id='1234567-8', environment='TEST'), True),
    (dict(customer_id='7654321-0'), False),
    (dict(environment='PRODUCTION'), False),
    (dict(endpoint='HTTPS://PKIWS-TESTI.vero.fi:443/2017/10/CertificateServices/'), True),
    (dict(endpoint='https://pkiws.vero.fi/2017/10/CertificateServices'), False),
    (dict(), True),
])
def test_check_same_compares_what_was_recorded(given, same):
    request = PendingRequest('/nonexistent/state.json', _sign_state(phase='submitted', retrieval_id='R1'))
    if same:
        request.check_same(**given)
    else:
        with pytest.raises(StateError, match='a request cannot move to another'):
            request.check_same(**given)


def test_check_same_skips_fields_the_file_does_not_record():
    fields = _sign_state()
    del fields['endpoint']
    PendingRequest('/nonexistent/state.json', fields).check_same(endpoint='https://elsewhere.example/')


def test_a_kept_certificate_is_recorded_read_back_and_dropped(tmp_path):
    path = str(tmp_path / 'cert.pem.state.json')
    request = PendingRequest(path, _sign_state(phase='submitted', retrieval_id='RID-1')).save()
    assert request.kept_certificate() is None
    request.keep_certificate(b'\x30\x82 certificate DER')
    loaded = PendingRequest.load(path, NEW_KEY)
    assert loaded.kept_certificate() == b'\x30\x82 certificate DER'
    assert (loaded.phase, loaded.retrieval_id) == ('submitted', 'RID-1')
    loaded.drop_certificate()
    assert 'certificate' not in load_state(path) and PendingRequest.load(path, NEW_KEY).kept_certificate() is None


def test_a_kept_certificate_that_is_not_base64_is_named(tmp_path):
    path = str(tmp_path / 'cert.pem.state.json')
    PendingRequest(path, _sign_state(phase='submitted', retrieval_id='RID-1', certificate='not base64!')).save()
    with pytest.raises(StateError, match='not base64.*"certificate" field'):
        PendingRequest.load(path, NEW_KEY).kept_certificate()


def test_an_endpoint_recorded_with_a_password_loses_it_on_the_next_save(tmp_path):
    """A state file from before such endpoints were refused: the run resumes and the password is not written again."""
    path = str(tmp_path / 'cert.pem.state.json')
    with open(path, 'w') as handle:
        json.dump(dict(_sign_state(), endpoint='https://ops:Old-Secret@pkc.example:8443/2017/10/CertificateServices',
                       new_key_path=NEW_KEY, version=pending_request.STATE_VERSION), handle)
    os.chmod(path, 0o600)
    request = PendingRequest.load(path, NEW_KEY)
    assert request.get('endpoint') == 'https://pkc.example:8443/2017/10/CertificateServices'
    request.check_same(endpoint='https://pkc.example:8443/2017/10/CertificateServices')
    request.advance('sent')
    assert 'Old-Secret' not in open(path).read() and 'ops' not in json.load(open(path))['endpoint']
