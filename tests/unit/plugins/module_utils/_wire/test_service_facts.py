import pytest

from ansible_collections.incomes_register.certificates.plugins.module_utils._wire import service_facts
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import RequestValidationError


def test_endpoints_follow_the_environment():
    assert service_facts.resolve_endpoint('TEST') == 'https://pkiws-testi.vero.fi/2017/10/CertificateServices'
    assert service_facts.resolve_endpoint('PRODUCTION') == 'https://pkiws.vero.fi/2017/10/CertificateServices'
    assert service_facts.resolve_endpoint('TEST', 'https://pkc.example/2017/10/CertificateServices') == \
        'https://pkc.example/2017/10/CertificateServices'
    with pytest.raises(RequestValidationError, match='https://'):
        service_facts.resolve_endpoint('TEST', 'http://pkiws-testi.vero.fi/2017/10/CertificateServices')
    with pytest.raises(RequestValidationError, match='environment'):
        service_facts.resolve_endpoint('STAGING')


@pytest.mark.parametrize('url', ['https://ops:Endpoint-Secret@pkc.example/x', 'https://ops@pkc.example/x',
                                 'https://:Endpoint-Secret@pkc.example/x'])
def test_an_endpoint_with_a_user_name_or_password_is_refused_without_showing_them(url):
    with pytest.raises(RequestValidationError) as refused:
        service_facts.resolve_endpoint('TEST', url)
    assert refused.value.message.startswith('endpoint must not hold a user name or password')
    assert 'Endpoint-Secret' not in refused.value.message and 'ops' not in refused.value.message


@pytest.mark.parametrize('url', ['https://[::1/x', 'https:///x', 'ftp://pkc.example/x', ''])
def test_an_endpoint_that_is_no_https_url_with_a_host_is_refused(url):
    with pytest.raises(RequestValidationError, match='must be an https:// URL'):
        service_facts.checked_endpoint(url)
