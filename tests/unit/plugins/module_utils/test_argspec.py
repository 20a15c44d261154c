import contextlib
import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19: the arguments alone, no serialization profile
    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps(dict(ANSIBLE_MODULE_ARGS=args)))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec
from ansible_collections.incomes_register.certificates.plugins.module_utils.argspec import url_secrets


@pytest.mark.parametrize('params, expected', [
    (dict(proxy='http://ops:Proxy-Secret@127.0.0.1:3128'), {'Proxy-Secret'}),
    (dict(proxy='http://ops@127.0.0.1:3128'), set()),
    (dict(endpoint='https://ops:Endpoint-Secret@pkc.example/x'), {'Endpoint-Secret'}),
    (dict(endpoint='https://TOKEN-7Kq@pkc.example/x'), {'TOKEN-7Kq'}),
    (dict(endpoint='https://ops:@pkc.example/x'), set()),
    (dict(proxy='http://ops:p@ss-Secret@127.0.0.1:3128 and https://x:Second-Secret@h/'),
     {'p@ss-Secret', 'Second-Secret'}),
    (dict(certificates=[dict(endpoint='https://a:Entry-Secret@pkc.example/x'), 'not a dict', dict(path='/c.pem')]),
     {'Entry-Secret'}),
    # As given, before Ansible validates them: an entry as JSON or key=value text, an endpoint in a list.
    (dict(certificates=['{"endpoint": "https://a:Json-Secret@pkc.example/x", "path": "/c.pem"}',
                        'endpoint=https://b:Kv-Secret@pkc.example/x path=/d.pem']), {'Json-Secret', 'Kv-Secret'}),
    (dict(endpoint=['https://c:List-Secret@pkc.example/x']), {'List-Secret'}),
    (dict(endpoint='https://pkc.example/x', proxy='http://127.0.0.1:3128', path='/etc/ir/me@host.pem'), set()),
])
def test_url_secrets_names_what_the_output_must_mask(params, expected):
    assert url_secrets(params) == expected


ENTRY = dict(endpoint=dict(type='str'), path=dict(type='str'))
SPEC = dict(endpoint=dict(type='str'), timeout=dict(type='int', default=30),
            certificates=dict(type='list', elements='dict', options=ENTRY))


def run_module(capsys, args):
    with patch_module_args(args):
        try:
            module = argspec.create_module(SPEC)
            module.exit_json(endpoint=module.params['endpoint'], certificates=module.params['certificates'])
        except SystemExit:
            pass
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize('args', [
    # Fails on another option while Ansible validates the arguments: the invocation shows them all.
    dict(endpoint='https://ops:Secret-One@pkc.example/x', timeout='soon'),
    dict(certificates=['{"endpoint": "https://ops:Secret-Two@pkc.example/x", "path": "/c.pem"}'], timeout='soon'),
    # Valid: the entry given as JSON text is a dict by the time the module answers.
    dict(certificates=['{"endpoint": "https://ops:Secret-Three@pkc.example/x", "path": "/c.pem"}']),
])
def test_a_url_password_is_masked_whether_the_module_fails_on_its_arguments_or_not(capsys, args):
    result = run_module(capsys, args)
    text = json.dumps(result)
    assert 'Secret-' not in text and 'ops:********@pkc.example' in text, text
    assert result.get('failed') is (True if 'timeout' in args else None)
