import pytest

from ansible_collections.incomes_register.certificates.plugins.module_utils.argspec import url_secrets


@pytest.mark.parametrize('params, expected', [
    (dict(proxy='http://ops:Proxy-Secret@127.0.0.1:3128'), {'Proxy-Secret'}),
    (dict(proxy='http://ops@127.0.0.1:3128'), set()),
    (dict(endpoint='https://ops:Endpoint-Secret@pkc.example/x'), {'Endpoint-Secret'}),
    (dict(endpoint='https://TOKEN-7Kq@pkc.example/x'), {'TOKEN-7Kq'}),
    (dict(certificates=[dict(endpoint='https://a:Entry-Secret@pkc.example/x'), 'not a dict', dict(path='/c.pem')]),
     {'Entry-Secret'}),
    (dict(certificates='a string, as given before validation', endpoint=['not', 'a', 'string']), set()),
    (dict(endpoint='https://[::1@pkc.example/x'), set()),
    (dict(endpoint='https://pkc.example/x', proxy='http://127.0.0.1:3128'), set()),
])
def test_url_secrets_names_what_the_output_must_mask(params, expected):
    assert url_secrets(params) == expected
