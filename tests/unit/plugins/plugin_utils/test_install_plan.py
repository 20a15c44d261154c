from ansible_collections.incomes_register.certificates.plugins.plugin_utils.install_plan import install_plan


def certificate(path, targets, **extra):
    return dict({'certificate_path': path, 'private_key_path': path + '.key', 'issuing_ca_path': '/etc/ir/issuing.pem',
                 'owner': '', 'group': 'ssl-cert', 'private_key_passphrase': '', 'install_targets': targets}, **extra)


OK = {'action': 'none', 'changed': False}


def test_a_valid_certificate_is_deployed_to_each_target_over_its_own_files():
    plan = install_plan([certificate('/c.pem', [{'dest': '/srv/a.pem', 'format': 'combined'}, {'dest': '/srv/b.pem'}])],
                        {'results': [OK]})
    assert plan == [
        {'certificate_path': '/c.pem', 'private_key_path': '/c.pem.key', 'chain_path': '/etc/ir/issuing.pem',
         'owner': None, 'group': 'ssl-cert', 'private_key_passphrase': None, 'dest': '/srv/a.pem', 'format': 'combined'},
        {'certificate_path': '/c.pem', 'private_key_path': '/c.pem.key', 'chain_path': '/etc/ir/issuing.pem',
         'owner': None, 'group': 'ssl-cert', 'private_key_passphrase': None, 'dest': '/srv/b.pem'}]


def test_a_target_overrides_the_certificates_ownership_and_chain():
    plan = install_plan([certificate('/c.pem', [{'dest': '/srv/a.pem', 'owner': 'nginx', 'chain_path': '/other.pem'}])],
                        {'results': [OK]})
    assert plan[0]['owner'] == 'nginx' and plan[0]['chain_path'] == '/other.pem' and plan[0]['group'] == 'ssl-cert'


def test_a_failed_renewal_is_not_deployed_and_the_others_are():
    plan = install_plan([certificate('/a.pem', [{'dest': '/srv/a.pem'}]), certificate('/b.pem', [{'dest': '/srv/b.pem'}])],
                        {'results': [{'failed': True, 'msg': 'no'}, OK]})
    assert [target['dest'] for target in plan] == ['/srv/b.pem']


def test_a_certificate_without_a_result_is_not_deployed():
    assert install_plan([certificate('/a.pem', [{'dest': '/srv/a.pem'}])], {'failed': True, 'msg': 'module failed'}) == []


def test_the_wave_decides_for_a_submitted_certificate():
    pending = {'failed': True, 'error_type': 'RetrievalPending', 'action': 'pending'}
    certificates = [certificate('/a.pem', [{'dest': '/srv/a.pem'}]), certificate('/b.pem', [{'dest': '/srv/b.pem'}])]
    plan = install_plan(certificates, {'results': [pending, pending]},
                        {'0': {'action': 'retrieved'}, '1': {'action': 'pending', 'failed': True}})
    assert [target['dest'] for target in plan] == ['/srv/a.pem']


def test_no_targets_no_plan():
    assert install_plan([certificate('/a.pem', []), certificate('/b.pem', None)], {'results': [OK, OK]}) == []
