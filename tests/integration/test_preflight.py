"""The preflight for real: certificate_preflight and the preflight playbook against a running sandbox."""
import csv
import io
import json
import os
import re
import socket
import stat
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from irsandbox.testing import RunningSandbox
from module_helpers import CUSTOMER, calls_delta, encrypt_key, issued_pair, service_args


def preflight_args(sandbox, tmp_path, **extra):
    args = service_args(sandbox, tmp_path, **extra)
    for name in ('initial_delay', 'poll_interval', 'wait_timeout'):
        args.pop(name)
    return args


def by_name(result):
    return dict((item['name'], item) for item in result['checks'])


def closed_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def pem_file(path, *certs):
    path.write_bytes(b''.join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs))
    return str(path)


def bundle(path):
    with open(path, 'rb') as handle:
        return x509.load_pem_x509_certificates(handle.read())


def test_the_preflight_passes_against_the_sandbox_and_spends_nothing(sandbox, run_module, tmp_path):
    issued_pair(sandbox, tmp_path, expires_in_days=200)
    before = sandbox.calls()
    run, result = run_module('certificate_preflight', preflight_args(sandbox, tmp_path, private_key_passphrase=None))
    assert run.returncode == 0, run
    assert result['passed'] is True and not result.get('failed'), result
    assert [(item['name'], item['status']) for item in result['checks']] == [
        (name, 'ok') for name in ('python_cryptography', 'python_lxml', 'python_signxml', 'python_requests',
                                  'service_ca_path', 'issuing_ca_path', 'tls_ca_path', 'certificate',
                                  'certificate_chain', 'reachability', 'clock_skew', 'signed_answer')]
    assert 'its private key matches' in by_name(result)['certificate']['message']
    assert 'answered FAIL' in by_name(result)['signed_answer']['message']
    assert result['msg'] == 'Preflight passed: 12 checks, 12 ok, 0 warnings, 0 skipped'
    assert calls_delta(before, sandbox.calls()) == {'signNewCertificate': 0, 'getCertificate': 1,
                                                    'renewCertificate': 0}


def test_a_missing_intermediate_in_issuing_ca_path_is_named(sandbox, run_module, tmp_path):
    issued_pair(sandbox, tmp_path, expires_in_days=200)
    intermediate, root = bundle(sandbox.issuing_ca_pem)
    only_root = pem_file(tmp_path / 'root-only.pem', root)
    run, result = run_module('certificate_preflight', preflight_args(sandbox, tmp_path, issuing_ca_path=only_root))
    assert result['failed'] is True and result['passed'] is False
    chain = by_name(result)['certificate_chain']
    assert chain['status'] == 'fail'
    missing = intermediate.subject.rfc4514_string()
    assert 'was issued by %s, which is not in the trusted issuing CA bundle' % missing in chain['message']
    assert 'Add the certificate of %s, the CA that issued it, to issuing_ca_path' % missing in chain['message']
    assert 'certificate_chain' in result['msg']
    # Everything else still ran and passed.
    assert [item['name'] for item in result['checks'] if item['status'] != 'ok'] == ['certificate_chain']


def test_a_missing_intermediate_in_service_ca_path_is_named(sandbox, run_module, tmp_path):
    """The signer side: only when the sandbox signs through an intermediate (its real-service profile)."""
    service_certs = bundle(sandbox.service_ca_pem)
    roots = [cert for cert in service_certs if cert.subject == cert.issuer]
    intermediates = [cert for cert in service_certs if cert.subject != cert.issuer]
    if not (roots and intermediates):
        pytest.skip('the sandbox signs directly under its self-signed service CA: no intermediate to leave out')
    root_only = pem_file(tmp_path / 'service-root-only.pem', *roots)
    run, result = run_module('certificate_preflight', preflight_args(sandbox, tmp_path, service_ca_path=root_only,
                                                                     path=None, private_key_path=None))
    answer = by_name(result)['signed_answer']
    assert answer['status'] == 'fail'
    assert 'issued by %s, which is not in service_ca_path' % intermediates[0].subject.rfc4514_string() \
        in answer['message']
    assert 'add its certificate' in answer['message']


def test_the_issuing_ca_file_as_service_ca_path_is_called_the_wrong_trust_file(sandbox, run_module, tmp_path):
    before = sandbox.calls()
    run, result = run_module('certificate_preflight', preflight_args(
        sandbox, tmp_path, service_ca_path=sandbox.issuing_ca_pem, path=None, private_key_path=None))
    assert result['failed'] is True
    checks = by_name(result)
    assert checks['reachability']['status'] == 'ok' and checks['clock_skew']['status'] == 'ok'
    answer = checks['signed_answer']
    assert answer['status'] == 'fail'
    # The signer's own issuer: the services issuing CA where the bundle has one, else its root.
    service_certs = bundle(sandbox.service_ca_pem)
    signer_issuer = ([cert for cert in service_certs if cert.subject != cert.issuer] or service_certs)[0]
    signer_issuer = signer_issuer.subject.rfc4514_string()
    assert answer['message'].startswith('The answer of the service cannot be trusted: The response was signed by ')
    assert 'issued by %s, which is not in service_ca_path' % signer_issuer in answer['message']
    assert "service_ca_path holds the customers' issuing CA (a certificate also in issuing_ca_path)" \
        in answer['message']
    assert checks['certificate']['status'] == 'skipped'
    assert calls_delta(before, sandbox.calls())['getCertificate'] == 1


def test_an_unreachable_endpoint_is_reported_as_refused(sandbox, run_module, tmp_path):
    endpoint = 'https://127.0.0.1:%d/2017/10/CertificateServices' % closed_port()
    run, result = run_module('certificate_preflight', preflight_args(sandbox, tmp_path, endpoint=endpoint,
                                                                     path=None, private_key_path=None))
    assert result['failed'] is True
    checks = by_name(result)
    assert checks['reachability']['status'] == 'fail'
    assert checks['reachability']['message'].startswith('The connection to 127.0.0.1:%s (directly) was refused'
                                                        % endpoint.split(':')[2].split('/')[0])
    assert checks['clock_skew']['status'] == 'skipped' and checks['signed_answer']['status'] == 'skipped'
    assert result['msg'].startswith('Preflight failed 1 of 12 checks: reachability: The connection to')


def test_tls_and_proxy_failures_each_say_what_to_set(sandbox, run_module, tmp_path):
    args = preflight_args(sandbox, tmp_path, path=None, private_key_path=None)
    del args['tls_ca_path']
    run, result = run_module('certificate_preflight', args)
    message = by_name(result)['reachability']['message']
    assert 'could not be verified with the CA bundle of the requests library (certifi)' in message
    assert 'Set tls_ca_path' in message
    proxy = 'http://preflight:proxy-secret-71@127.0.0.1:%d' % closed_port()
    run, result = run_module('certificate_preflight', dict(args, proxy=proxy, tls_ca_path=sandbox.tls_ca_pem))
    message = by_name(result)['reachability']['message']
    assert message.startswith('Could not reach 127.0.0.1:%d through the proxy 127.0.0.1:' % sandbox.port)
    assert 'Check the proxy option' in message
    assert 'proxy-secret-71' not in run.output


def test_a_clock_skew_over_five_minutes_fails(tmp_path, run_module):
    with RunningSandbox(str(tmp_path / 'skewed'), retrieval_delay=0, date_offset=600) as skewed:
        run, result = run_module('certificate_preflight', preflight_args(skewed, tmp_path, path=None,
                                                                         private_key_path=None))
    assert result['failed'] is True
    clock = by_name(result)['clock_skew']
    assert clock['status'] == 'fail'
    assert re.match(r"This host's clock is (599|600|601) seconds behind the service's \(HTTP Date .* GMT\), more "
                    r'than max_clock_skew 300\.', clock['message']), clock['message']
    assert 'fix time synchronisation' in clock['message']
    # The signed answer was still verified: the skew is the only failure.
    assert [item['name'] for item in result['checks'] if item['status'] == 'fail'] == ['clock_skew']


FAKE_LXML = 'raise ImportError("No module named lxml (hidden by the preflight test)")\n'


def test_a_host_without_lxml_is_told_so_and_the_module_does_not_crash(sandbox, run_module, tmp_path):
    hidden = tmp_path / 'no-lxml'
    (hidden / 'lxml').mkdir(parents=True)
    (hidden / 'lxml' / '__init__.py').write_text(FAKE_LXML)
    wrapper = tmp_path / 'python-without-lxml'
    wrapper.write_text('#!/bin/sh\nPYTHONPATH=%s${PYTHONPATH:+:$PYTHONPATH}\nexport PYTHONPATH\nexec %s "$@"\n'
                       % (hidden, sys.executable))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    issued_pair(sandbox, tmp_path, expires_in_days=200)
    run, result = run_module('certificate_preflight', preflight_args(sandbox, tmp_path),
                             env={'ANSIBLE_PYTHON_INTERPRETER': str(wrapper)})
    assert result['failed'] is True, run
    assert 'checks' in result and 'Traceback' not in result.get('module_stderr', ''), result
    checks = by_name(result)
    assert checks['python_lxml']['status'] == 'fail'
    assert checks['python_lxml']['message'].startswith('The Python library lxml cannot be imported by ')
    assert 'hidden by the preflight test' in checks['python_lxml']['message']
    assert 'pip install lxml' in checks['python_lxml']['message']
    assert checks['python_cryptography']['status'] == 'ok'
    # The file checks need only cryptography; the service checks are skipped, saying why.
    assert checks['certificate']['status'] == 'ok' and checks['service_ca_path']['status'] == 'ok'
    for name in ('reachability', 'clock_skew', 'signed_answer'):
        assert checks[name]['status'] == 'skipped'
        assert checks[name]['message'].startswith('Not checked: it needs lxml and signxml, missing on this host')


PLAYBOOK_INVENTORY = """
ready ansible_connection=local renewal_service_ca_path={service}
broken ansible_connection=local renewal_service_ca_path={issuing}
ghost ansible_host=127.0.0.1 ansible_port={ssh_port} ansible_connection=ssh
"""


def test_the_playbook_reports_every_host_in_every_format_and_fails_listing_the_failures(
        sandbox, run_playbook, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=200)
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text(PLAYBOOK_INVENTORY.format(service=sandbox.service_ca_pem, issuing=sandbox.issuing_ca_pem,
                                                   ssh_port=closed_port()))
    before = sandbox.calls()
    run = run_playbook('incomes_register.certificates.preflight', {
        'renewal_environment': 'TEST', 'renewal_endpoint': sandbox.url, 'renewal_customer_id': CUSTOMER,
        'renewal_tls_ca_path': sandbox.tls_ca_pem, 'renewal_issuing_ca_path': sandbox.issuing_ca_pem,
        'renewal_certificate_path': cert, 'renewal_private_key_path': key,
        'preflight_output_dir': str(tmp_path / 'report'),
    }, inventory=str(inventory), env={'ANSIBLE_TIMEOUT': '5'})
    assert run.returncode != 0, run
    assert ('Preflight failed: broken (%s TEST %s): signed_answer: The answer of the service cannot be trusted'
            % (CUSTOMER, cert)) in run.output, run
    assert 'ghost: host: ' in run.output
    assert calls_delta(before, sandbox.calls()) == {'signNewCertificate': 0, 'getCertificate': 2,
                                                    'renewCertificate': 0}

    report = tmp_path / 'report'
    assert sorted(os.listdir(str(report))) == ['preflight.csv', 'preflight.html', 'preflight.json', 'preflight.prom']
    document = json.loads((report / 'preflight.json').read_text())
    rows = document['checks']
    assert document['summary']['failed_hosts'] == ['broken', 'ghost']
    assert [row['status'] for row in rows if row['host'] == 'ghost'] == ['unreachable']
    assert [row['check'] for row in rows if row['status'] == 'fail'] == ['signed_answer']
    assert all(row['status'] == 'ok' for row in rows if row['host'] == 'ready')
    html = (report / 'preflight.html').read_text()
    for host in ('broken', 'ghost', 'ready'):
        assert '<td class="host" data-label="Host">%s</td>' % host in html
    assert html.count('<tr class="s-fail">') == 1 and html.count('<tr class="s-unreachable">') == 1
    assert 'The answer of the service cannot be trusted' in html
    prom = (report / 'preflight.prom').read_text()
    for row in rows:
        certificate = ',certificate="%s"' % row['certificate'] if row['certificate'] else ''
        assert 'incomes_register_preflight_check_passed{host="%s"%s,check="%s",status="%s"} %d\n' % (
            row['host'], certificate, row['check'], row['status'],
            0 if row['status'] in ('fail', 'unreachable') else 1) in prom
    table = list(csv.DictReader(io.StringIO((report / 'preflight.csv').read_text())))
    assert [(row['host'], row['check'], row['status']) for row in table] == [
        (row['host'], row['check'], row['status']) for row in rows]


# ---- review fixes ----------------------------------------------------------------------------------------------

def test_an_endpoint_the_client_cannot_use_fails_the_preflight_and_sends_nothing(sandbox, run_module, tmp_path):
    before = sandbox.calls()
    run, result = run_module('certificate_preflight', preflight_args(sandbox, tmp_path, endpoint='http://127.0.0.1:1/x',
                                                                     path=None, private_key_path=None))
    assert result['failed'] is True and result['passed'] is False, result
    checks = by_name(result)
    assert [checks[name]['status'] for name in ('reachability', 'clock_skew', 'signed_answer')] == ['fail'] * 3
    assert checks['reachability']['message'].startswith(
        'Nothing was sent: the service client cannot be set up (endpoint must be an https:// URL')
    assert result['msg'].startswith('Preflight failed 3 of 12 checks: reachability: Nothing was sent')
    assert result['endpoint'] == 'http://127.0.0.1:1/x' and result['customer_id'] == CUSTOMER
    assert calls_delta(before, sandbox.calls())['getCertificate'] == 0


def test_a_soap_fault_for_the_unknown_retrieval_id_is_a_warning(sandbox, run_module, tmp_path):
    sandbox.set_fault('getCertificate', 'http500', times=1)
    try:
        run, result = run_module('certificate_preflight', preflight_args(sandbox, tmp_path, path=None,
                                                                         private_key_path=None))
    finally:
        sandbox.clear_faults('getCertificate')
    assert run.returncode == 0 and result['passed'] is True, result
    checks = by_name(result)
    assert checks['reachability']['status'] == 'ok'
    answer = checks['signed_answer']
    assert answer['status'] == 'warn'
    assert '(SOAP fault ' in answer['message']
    assert 'endpoint is a SOAP service and was reached, but a fault carries no signature' in answer['message']
    assert 'Renewals verify every answer anyway' in answer['message']
    assert result['msg'].endswith('(signed_answer)')


SERVICE_GROUP = 'group/incomes_register.certificates.service'

GROUP_DEFAULTS_PLAYBOOK = """
- name: Every module of the service group under one module_defaults block
  hosts: all
  gather_facts: false
  module_defaults:
    group/incomes_register.certificates.service: "{{ group_defaults }}"
  tasks:
    - name: Preflight
      incomes_register.certificates.certificate_preflight:
        path: "{{ certificate }}"
        private_key_path: "{{ key }}"
      register: preflight
      ignore_errors: true

    - name: Renew, in check mode (the certificate is far from its window)
      incomes_register.certificates.certificate_renew:
        path: "{{ certificate }}"
        private_key_path: "{{ key }}"
      check_mode: true
      register: renew
      ignore_errors: true

    - name: Retrieve, in check mode (nothing is in flight)
      incomes_register.certificates.certificate_retrieve:
        path: "{{ certificate }}"
        private_key_path: "{{ key }}"
      check_mode: true
      register: retrieve
      ignore_errors: true

    - name: Request, in check mode (the certificate is usable)
      incomes_register.certificates.certificate_request:
        path: "{{ certificate }}"
        private_key_path: "{{ key }}"
        transfer_id: not-used
        transfer_password: not-used
      check_mode: true
      register: request
      ignore_errors: true

    - name: Save the results for the test
      ansible.builtin.copy:
        content: "{{ dict(preflight=preflight, renew=renew, retrieve=retrieve, request=request) | to_nice_json }}"
        dest: "{{ results_file }}"
        mode: '0600'
      delegate_to: localhost
      check_mode: false
"""


def test_preflight_runs_under_module_defaults_for_the_service_group_as_the_role_sets_them(
        sandbox, run_playbook, tmp_path):
    cert, key = issued_pair(sandbox, tmp_path, expires_in_days=200)
    # What the renewal role and the enroll playbook put in the group's defaults, and the group's other shared options.
    defaults = dict(
        environment='TEST', endpoint=sandbox.url, customer_id=CUSTOMER, customer_name='Example Oy',
        service_ca_path=sandbox.service_ca_pem, issuing_ca_path=sandbox.issuing_ca_pem, tls_ca_path=sandbox.tls_ca_pem,
        timeout=30, wait=True, wait_timeout=60, initial_delay=0, poll_interval=0.5, final_error_codes=['PKI001'],
        state_path=str(tmp_path / 'state.json'), key_size=2048, mode='0644', backup=True,
        lock_timeout=5)
    playbook = tmp_path / 'group.yml'
    playbook.write_text(GROUP_DEFAULTS_PLAYBOOK)
    before = sandbox.calls()
    run = run_playbook(str(playbook), {'group_defaults': defaults, 'certificate': cert, 'key': key})
    assert run.returncode == 0, run
    preflight = run.results['preflight']
    assert not preflight.get('failed'), preflight.get('msg')
    assert preflight['passed'] is True
    assert [item['status'] for item in preflight['checks']] == ['ok'] * 12
    for module in ('renew', 'retrieve', 'request'):
        assert not run.results[module].get('failed'), (module, run.results[module].get('msg'))
    assert calls_delta(before, sandbox.calls()) == {'signNewCertificate': 0, 'getCertificate': 1,
                                                    'renewCertificate': 0}


def test_every_module_of_the_service_group_takes_every_option_the_others_share(tmp_path):
    import subprocess
    import yaml
    from conftest import ROOT, ansible_env
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        members = yaml.safe_load(handle)['action_groups']['service']
    names = ['incomes_register.certificates.' + member for member in members]
    doc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '--json', '-t', 'module']
                         + names, capture_output=True, text=True, env=ansible_env(), cwd=str(tmp_path), timeout=300,
                         check=True)
    options = dict((name, set(entry['doc']['options'])) for name, entry in json.loads(doc.stdout).items())
    assert sorted(options) == sorted(names)
    for name in names:
        shared = set.intersection(*[options[other] for other in names if other != name])
        assert shared <= options[name], '%s does not take %s' % (name, ', '.join(sorted(shared - options[name])))


MANY_INVENTORY = """
many ansible_connection=local
one ansible_connection=local renewal_customer_id={one_customer} renewal_certificate_path={one_cert} renewal_private_key_path={one_key}
"""


def issued_in(sandbox, tmp_path, name, customer, environment='TEST'):
    """A certificate of customer valid 200 more days and its key, in tmp_path/name."""
    (tmp_path / name / 'private').mkdir(parents=True, mode=0o700)
    cert, key = str(tmp_path / name / 'cert.pem'), str(tmp_path / name / 'private' / 'key.pem')
    sandbox.issue(customer, new_key_path=key, expires_in_days=200, out=cert, environment=environment)
    return cert, key


def test_the_playbook_checks_every_certificate_of_a_host_with_renewal_certificates(sandbox, run_playbook, tmp_path):
    test_cert, test_key = issued_in(sandbox, tmp_path, 'test', '1801001-1')
    production_cert, production_key = issued_in(sandbox, tmp_path, 'production', '1801002-2', 'PRODUCTION')
    # A passphrase given only in its entry of renewal_certificates: used, and never shown.
    passphrase = 'preflight-entry-phrase-K8'
    encrypt_key(production_key, passphrase)
    elsewhere_cert, elsewhere_key = issued_in(sandbox, tmp_path, 'elsewhere', '1801003-3')
    one_cert, one_key = issued_in(sandbox, tmp_path, 'one', '1801004-4')
    dead_endpoint = 'https://127.0.0.1:%d/2017/10/CertificateServices' % closed_port()
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text(MANY_INVENTORY.format(one_customer='1801004-4', one_cert=one_cert, one_key=one_key))
    (tmp_path / 'host_vars').mkdir()
    (tmp_path / 'host_vars' / 'many.yml').write_text(json.dumps({'renewal_certificates': [
        {'customer_id': '1801001-1', 'certificate_path': test_cert, 'private_key_path': test_key,
         'owner': '', 'install_targets': []},
        {'customer_id': '1801002-2', 'environment': 'PRODUCTION', 'certificate_path': production_cert,
         'private_key_path': production_key, 'private_key_passphrase': passphrase},
        # Its own endpoint, where nothing listens: checked, and failing, apart from the others.
        {'customer_id': '1801003-3', 'endpoint': dead_endpoint, 'certificate_path': elsewhere_cert,
         'private_key_path': elsewhere_key},
        # No customer id here and no renewal_customer_id on the host: this entry alone fails, saying so.
        {'certificate_path': str(tmp_path / 'nobody.pem'), 'private_key_path': str(tmp_path / 'nobody.key')},
    ]}))
    before = sandbox.calls()
    run = run_playbook('incomes_register.certificates.preflight', {
        'renewal_environment': 'TEST', 'renewal_endpoint': sandbox.url, 'renewal_tls_ca_path': sandbox.tls_ca_pem,
        'renewal_service_ca_path': sandbox.service_ca_pem, 'renewal_issuing_ca_path': sandbox.issuing_ca_pem,
        'preflight_output_dir': 'report',
    }, inventory=str(inventory), args=['-v'])
    assert run.returncode != 0, run
    assert "'renewal_customer_id' is undefined" not in run.output, run
    assert passphrase not in run.output
    assert ('many (1801003-3 TEST %s): reachability: The connection to 127.0.0.1:%s (directly) was refused'
            % (elsewhere_cert, dead_endpoint.split(':')[2].split('/')[0])) in run.output, run
    assert ("many (TEST %s): preflight: This certificate has no customer_id" % (tmp_path / 'nobody.pem')) in run.output
    # One GetCertificate per certificate that reached the sandbox: the TEST and PRODUCTION entries and host one.
    assert calls_delta(before, sandbox.calls()) == {'signNewCertificate': 0, 'getCertificate': 3,
                                                    'renewCertificate': 0}

    rows = json.loads((tmp_path / 'report' / 'preflight.json').read_text())['checks']
    certificates = {}
    for row in rows:
        certificates.setdefault((row['host'], row['certificate']), []).append((row['check'], row['status']))
    every_check = ['python_cryptography', 'python_lxml', 'python_signxml', 'python_requests', 'service_ca_path',
                   'issuing_ca_path', 'tls_ca_path', 'certificate', 'certificate_chain', 'reachability',
                   'clock_skew', 'signed_answer']
    assert list(certificates) == [
        ('many', '1801001-1 TEST %s' % test_cert), ('many', '1801002-2 PRODUCTION %s' % production_cert),
        ('many', '1801003-3 TEST %s' % elsewhere_cert), ('many', 'TEST %s' % (tmp_path / 'nobody.pem')),
        ('one', '1801004-4 TEST %s' % one_cert)]
    for host, label in (('many', '1801001-1 TEST %s' % test_cert), ('many', '1801002-2 PRODUCTION %s' % production_cert),
                        ('one', '1801004-4 TEST %s' % one_cert)):
        assert certificates[(host, label)] == [(name, 'ok') for name in every_check], label
    elsewhere = dict(certificates[('many', '1801003-3 TEST %s' % elsewhere_cert)])
    assert elsewhere['certificate'] == 'ok' and elsewhere['reachability'] == 'fail'
    assert certificates[('many', 'TEST %s' % (tmp_path / 'nobody.pem'))] == [('preflight', 'fail')]
    table = list(csv.DictReader(io.StringIO((tmp_path / 'report' / 'preflight.csv').read_text())))
    assert [(row['host'], row['certificate'], row['check']) for row in table] == [
        (row['host'], row['certificate'], row['check']) for row in rows]
    assert passphrase not in (tmp_path / 'report' / 'preflight.json').read_text()


def test_the_playbook_completes_each_certificate_as_the_role_does_and_reads_renewal_trust_dir(
        sandbox, run_playbook, tmp_path):
    import shutil
    import yaml

    phrase = 'host-wide-phrase-R5'
    plain_cert, plain_key = issued_in(sandbox, tmp_path, 'plain', '5100055-3')
    locked_cert, locked_key = issued_in(sandbox, tmp_path, 'locked', '5100056-1')
    encrypt_key(locked_key, phrase)
    trusted_cert, trusted_key = issued_in(sandbox, tmp_path, 'trusted', '5100058-8')
    trust_dir = tmp_path / 'trust'
    trust_dir.mkdir()
    shutil.copy(sandbox.service_ca_pem, str(trust_dir / 'service-signing-ca.pem'))
    shutil.copy(sandbox.issuing_ca_pem, str(trust_dir / 'issuing-ca.pem'))
    trust = {'renewal_service_ca_path': sandbox.service_ca_pem, 'renewal_issuing_ca_path': sandbox.issuing_ca_pem}
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}',
                 'renewal_endpoint': sandbox.url, 'renewal_tls_ca_path': sandbox.tls_ca_pem},
        'hosts': {
            # The role reads an entry's empty passphrase as none: the unencrypted key is checked as it is,
            # the other entry's with the host's passphrase.
            'shared': dict(trust, renewal_private_key_passphrase=phrase, renewal_certificates=[
                {'customer_id': '5100055-3', 'certificate_path': plain_cert, 'private_key_path': plain_key,
                 'private_key_passphrase': ''},
                {'customer_id': '5100056-1', 'certificate_path': locked_cert, 'private_key_path': locked_key}]),
            # No trust paths of its own: the role's, in renewal_trust_dir.
            'trusted': {'renewal_trust_dir': str(trust_dir), 'renewal_customer_id': '5100058-8',
                        'renewal_certificate_path': trusted_cert, 'renewal_private_key_path': trusted_key},
            # Still to be enrolled: nothing installed, and not checked.
            'enrolling': dict(trust, renewal_customer_id='5100059-6', preflight_check_installed=False,
                              renewal_certificate_path=str(tmp_path / 'none' / 'cert.pem')),
            # Still to be enrolled, its trust files only on the controller: copied first, as enroll would.
            'fresh': {'renewal_trust_src_dir': str(trust_dir), 'renewal_trust_dir': str(tmp_path / 'fresh-trust'),
                      'renewal_customer_id': '5100060-9', 'preflight_check_installed': False,
                      'renewal_certificate_path': str(tmp_path / 'none-fresh' / 'cert.pem')},
        }}}))
    before = sandbox.calls()
    run = run_playbook('incomes_register.certificates.preflight', {'preflight_output_dir': 'report'},
                       inventory=str(inventory), args=['-vvv'])
    assert run.returncode == 0, run
    assert phrase not in run.output
    assert calls_delta(before, sandbox.calls()) == {'signNewCertificate': 0, 'getCertificate': 5,
                                                    'renewCertificate': 0}
    assert sorted(os.listdir(str(tmp_path / 'fresh-trust'))) == ['issuing-ca.pem', 'service-signing-ca.pem']
    rows = json.loads((tmp_path / 'report' / 'preflight.json').read_text())['checks']
    statuses = {}
    for row in rows:
        statuses.setdefault((row['host'], row['certificate']), {})[row['check']] = row['status']
    assert sorted(statuses) == sorted([
        ('shared', '5100055-3 TEST %s' % plain_cert), ('shared', '5100056-1 TEST %s' % locked_cert),
        ('trusted', '5100058-8 TEST %s' % trusted_cert), ('enrolling', '5100059-6 TEST %s' % sandbox.url),
        ('fresh', '5100060-9 TEST %s' % sandbox.url)])
    for (host, label), checks in statuses.items():
        skipped = ('certificate', 'certificate_chain') if host in ('enrolling', 'fresh') else ()
        assert checks == dict((name, 'skipped' if name in skipped else 'ok') for name in checks), (host, label)
        assert len(checks) == 12, (host, label)
