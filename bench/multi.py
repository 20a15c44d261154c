"""Many certificates on one host (issue 17): a no-op renew and an audit of one host with M certificates against
one host with one certificate.

Both inventories are the integration tests' (fleet.write_inventory); the host with M certificates lists them in
renewal_certificates, each with its own customer, paths and one install target, as a software firm would keep its
customers' certificates; the host with one keeps the same single-certificate shorthand with one install target.
No certificate is inside its window, so the renew playbook makes no call. Each run is repeated and the best kept.
"""
import json
import os

import fleet
import yaml

TARGET_NOOP_RENEW = 3.0
TARGET_AUDIT = 2.0


def _inventory(path, root, sandbox, hosts, python, multi):
    """One host `firm`: renewal_certificates over the certificates of `hosts` (multi), or the first one alone."""
    fleet.write_inventory(path, root, sandbox, hosts, python)
    with open(path) as handle:
        inventory = yaml.safe_load(handle)
    names = sorted(hosts)
    entries = []
    for name in names:
        directory = os.path.join(root, 'hosts', name)
        entries.append({'customer_id': hosts[name], 'customer_name': 'Bench Oy',
                        'certificate_path': os.path.join(directory, 'certificate.pem'),
                        'private_key_path': os.path.join(directory, 'private', 'key.pem'),
                        'install_targets': [{'layout': 'combined', 'dest': os.path.join(directory, 'deploy', 'combined.pem')}]})
    if multi:
        host = {'renewal_certificates': entries}
    else:
        host = {'renewal_customer_id': entries[0]['customer_id'],
                'renewal_certificate_path': entries[0]['certificate_path'],
                'renewal_private_key_path': entries[0]['private_key_path'],
                'renewal_install_targets': entries[0]['install_targets']}
    inventory['all']['hosts'] = {'firm': host}
    # audit_certificates is not set: the audit reads renewal_certificates (or the one certificate) itself.
    with open(path, 'w') as handle:
        yaml.safe_dump(inventory, handle)
    return path


def measure(run_playbook, sandbox, env, python, work, count, repeat, renew, audit):
    root = os.path.join(work, 'multi')
    hosts = fleet.build(root, sandbox.directory, count, lambda index: 90 + (index * 37) % 640, prefix='m',
                        first_customer=7000000)
    inventories = {
        1: _inventory(os.path.join(root, 'inventory-1.yml'), root, sandbox, hosts, python, False),
        count: _inventory(os.path.join(root, 'inventory-%d.yml' % count), root, sandbox, hosts, python, True),
    }
    rows = []
    for certificates, inventory in sorted(inventories.items()):
        for name, playbook in (('no-op renew', renew), ('audit', audit)):
            best = None
            for round_ in range(repeat):
                summary = os.path.join(root, 'summary-%d.json' % certificates)
                report = os.path.join(root, 'report-%d' % certificates)
                extra = (['-e', 'incomes_register_renew_summary_file=' + summary] if name == 'no-op renew'
                         else ['-e', 'audit_output_dir=' + report])
                before = sandbox.calls()['total']
                log_name = 'multi-%d-%s-%d' % (certificates, name.replace(' ', '-'), round_ + 1)
                result = run_playbook(playbook, inventory, log_name, env, extra)
                result['calls'] = sandbox.calls()['total'] - before
                result['problem'] = _problem(name, certificates, summary, report, result)
                print('  multi M=%-3d %-12s wall %6.2f s  cpu %6.2f s  rc %d  calls %d%s' % (
                    certificates, name, result['wall'], result['cpu'], result['rc'], result['calls'],
                    '  ' + result['problem'] if result['problem'] else ''), flush=True)
                if best is None or result['wall'] < best['wall']:
                    best = result
            rows.append(dict(best, run=name, certificates=certificates, rounds=repeat))
    by = dict(((row['run'], row['certificates']), row) for row in rows)
    for row in rows:
        row['wall_x_one'] = row['wall'] / by[(row['run'], 1)]['wall']
        row['cpu_x_one'] = row['cpu'] / by[(row['run'], 1)]['cpu']
    return rows


def _problem(name, certificates, summary, report, result):
    if result['rc'] != 0:
        return 'exit status %d' % result['rc']
    if result['calls']:
        return '%d service calls' % result['calls']
    try:
        if name == 'no-op renew':
            with open(summary) as handle:
                rows = json.load(handle)['firm']['certificates']
            statuses = sorted(set(row['status'] for row in rows))
            if len(rows) != certificates or statuses != ['ok']:
                return 'renew outcomes %s for %d certificates' % (statuses, len(rows))
        else:
            with open(os.path.join(report, 'certificate-expiry.json')) as handle:
                total = json.load(handle)['summary']['total']
            if total != certificates:
                return 'the audit lists %d certificates, not %d' % (total, certificates)
    except (OSError, ValueError, KeyError) as error:
        return 'no output: %s' % error
    return None


def markdown(rows, started, machine):
    count = max(row['certificates'] for row in rows)
    lines = ['### Many certificates on one host', '',
             'Run of %s (`make bench BENCH_ARGS=--multi`), %s CPUs, load average %s at the start (the machine is shared). '
             'One host with %d certificates in renewal_certificates (each with one `combined` install target) against one '
             'host with one certificate (the single-certificate variables, one install target); none inside its window. '
             'Best of %d runs each; wall and CPU time of the whole ansible-playbook run.'
             % (started, machine['nproc'], machine['load'], count, rows[0]['rounds']), '',
             '| Run | Certificates | Wall s | CPU s | Wall x one | CPU x one | Service calls | OK |',
             '|---|---:|---:|---:|---:|---:|---:|---|']
    for row in rows:
        lines.append('| %s | %d | %.2f | %.2f | %.2f | %.2f | %d | %s |' % (
            row['run'], row['certificates'], row['wall'], row['cpu'], row['wall_x_one'], row['cpu_x_one'], row['calls'],
            'yes' if not row['problem'] else 'NO: ' + row['problem']))
    by = dict(((row['run'], row['certificates']), row) for row in rows)
    renew, audit = by[('no-op renew', count)], by[('audit', count)]
    lines += ['', 'Targets (wall time; CPU time in brackets):', '',
              '- no-op renew of %d certificates <= %.0f x one: %.2f (%.2f): %s' % (
                  count, TARGET_NOOP_RENEW, renew['wall_x_one'], renew['cpu_x_one'],
                  'met' if renew['wall_x_one'] <= TARGET_NOOP_RENEW and not renew['problem'] else '**not met**'),
              '- audit of %d certificates <= %.0f x one: %.2f (%.2f): %s' % (
                  count, TARGET_AUDIT, audit['wall_x_one'], audit['cpu_x_one'],
                  'met' if audit['wall_x_one'] <= TARGET_AUDIT and not audit['problem'] else '**not met**'), '']
    return '\n'.join(lines)
