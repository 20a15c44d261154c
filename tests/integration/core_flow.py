"""The integration core: enroll, a no-op rerun, renew in the window and the audit, as users run them.

One flow, run over different transports and controllers:

* tests/integration/test_core.py: local connection (the matrix runs it with each ansible-core and, through
  IR_TEST_HOST_PYTHON, with each managed-host Python and library set);
* tests/integration/test_ssh_transport.py: over OpenSSH as an unprivileged user with become.

Three hosts: `newcomer` has nothing and is enrolled with one-time credentials, `steady` has a certificate
with 400 days left, `due` one with 30 days left (inside the 60-day window).
"""
import json
import os

import yaml

HOSTS = {
    # host: (customer_id, expires_in_days or None: enrolled by the flow)
    'newcomer': ('1000101-1', None),
    'steady': ('1000102-2', 400),
    'due': ('1000103-3', 30),
}


def prepare_hosts(sandbox, root, hosts=None):
    """Each host's directory under root, with the pairs the sandbox issued for those that have one."""
    hosts = hosts or HOSTS
    for name, (customer, days) in hosts.items():
        os.makedirs(os.path.join(str(root), name, 'private'), mode=0o700, exist_ok=True)
        if days is not None:
            sandbox.issue(customer, new_key_path=os.path.join(str(root), name, 'private', 'key.pem'),
                          expires_in_days=days, out=os.path.join(str(root), name, 'certificate.pem'))


def write_inventory(path, sandbox, root, trust_src, connection_vars, hosts=None, role_vars=None):
    """An inventory whose hosts keep their files under root/<host>; connection_vars (a dict, or a function of
    the host name) are each host's own variables, so that the implicit localhost the audit's report runs on
    keeps the controller's Python and connection."""
    variables = {
        'renewal_environment': 'TEST',
        'renewal_endpoint': sandbox.url,
        'renewal_trust_src_dir': str(trust_src),
        'renewal_trust_files': ['service-signing-ca.pem', 'issuing-ca.pem', 'tls-ca.pem'],
        'renewal_trust_dir': str(root) + '/{{ inventory_hostname }}/trust',
        'renewal_tls_ca_path': '{{ renewal_trust_dir }}/tls-ca.pem',
        'renewal_certificate_path': str(root) + '/{{ inventory_hostname }}/certificate.pem',
        'renewal_private_key_path': str(root) + '/{{ inventory_hostname }}/private/key.pem',
        'renewal_initial_delay': 0,
        'renewal_poll_interval': 0.2,
        'renewal_install_targets': [{
            'layout': 'combined', 'dest': str(root) + '/{{ inventory_hostname }}/deploy/combined.pem'}],
    }
    variables.update(role_vars or {})
    hosts = hosts or HOSTS
    host_vars = {}
    for name, (customer, dummy) in hosts.items():
        own = connection_vars(name) if callable(connection_vars) else dict(connection_vars)
        own['renewal_customer_id'] = customer
        host_vars[name] = own
    with open(str(path), 'w') as handle:
        yaml.safe_dump({'all': {'vars': variables, 'hosts': host_vars}}, handle)
    return str(path)


def recap(output):
    """{host: {ok, changed, unreachable, failed, ...}} from the PLAY RECAP lines."""
    counts = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == ':' and parts[2].startswith('ok='):
            counts[parts[0]] = dict((key, int(value)) for key, value in (part.split('=') for part in parts[2:]))
    return counts


def _delta(before, after):
    return dict((op, after[op] - before[op]) for op in ('signNewCertificate', 'getCertificate', 'renewCertificate'))


def run_core(sandbox, run_playbook, inventory, tmp_path, root, extra_args=(), check_files=None):
    """Enroll `newcomer`, rerun the enrollment (no call), renew (only `due` is renewed), rerun the renewal (no
    call, nothing changed), audit (every certificate ok, no call). Asserts as it goes; returns the runs.

    check_files(root, host) is called after the renewal for each host to check files where the test can
    see them (owner, mode)."""
    runs = {}
    customer = HOSTS['newcomer'][0]
    transfer_id, transfer_password = sandbox.subscribe(customer, 'Newcomer Oy', 'TEST')
    secrets = {'incomes_register_transfer_id': transfer_id, 'incomes_register_transfer_password': transfer_password}

    before = sandbox.calls()
    run = runs['enroll'] = run_playbook('incomes_register.certificates.enroll', secrets, inventory=inventory,
                                        args=['--limit', 'newcomer'] + list(extra_args))
    assert run.returncode == 0, run
    assert _delta(before, sandbox.calls())['signNewCertificate'] == 1, run
    assert transfer_password not in run.output

    before = sandbox.calls()
    run = runs['enroll_again'] = run_playbook('incomes_register.certificates.enroll', secrets, inventory=inventory,
                                              args=['--limit', 'newcomer'] + list(extra_args))
    assert run.returncode == 0, run
    assert sandbox.calls()['total'] == before['total'], 'a host with a usable certificate is not enrolled again'
    assert recap(run.output)['newcomer']['changed'] == 0, run

    summary = str(tmp_path / 'renew-summary.json')
    before = sandbox.calls()
    run = runs['renew'] = run_playbook('incomes_register.certificates.renew',
                                       {'incomes_register_renew_summary_file': summary},
                                       inventory=inventory, args=list(extra_args))
    assert run.returncode == 0, run
    with open(summary) as handle:
        outcomes = json.load(handle)
    assert dict((host, o['status']) for host, o in outcomes.items()) == {
        'newcomer': 'ok', 'steady': 'ok', 'due': 'renewed'}, outcomes
    delta = _delta(before, sandbox.calls())
    assert delta['renewCertificate'] == 1 and delta['signNewCertificate'] == 0, delta
    # steady changes too on this first run: the role puts the trust files and the install target in place.
    assert recap(run.output)['due']['changed'] > 0, run
    for host in HOSTS:
        if check_files:
            check_files(root, host)

    before = sandbox.calls()
    run = runs['renew_again'] = run_playbook('incomes_register.certificates.renew', {},
                                             inventory=inventory, args=list(extra_args))
    assert run.returncode == 0, run
    assert sandbox.calls()['total'] == before['total'], 'a rerun must not call the service'
    assert all(counts['changed'] == 0 for counts in recap(run.output).values()), run

    before = sandbox.calls()
    report = tmp_path / 'report'
    run = runs['audit'] = run_playbook('incomes_register.certificates.audit',
                                       {'audit_output_dir': str(report), 'audit_fail_within_days': 21},
                                       inventory=inventory, args=['--check'] + list(extra_args))
    assert run.returncode == 0, run
    assert sandbox.calls()['total'] == before['total'], 'an audit never calls the service'
    with open(str(report / 'certificate-expiry.json')) as handle:
        rows = json.load(handle)['certificates']
    assert sorted((row['host'], row['status']) for row in rows) == [
        ('due', 'ok'), ('newcomer', 'ok'), ('steady', 'ok')], rows
    for name, run in runs.items():
        assert transfer_password not in run.output, name
    return runs
