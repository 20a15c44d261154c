"""The audit's or the no-op renew's CPU per host, split by process, for the collection at several commits.

    .venv/bin/python bench/worker_cost.py INVENTORY COMMIT... [--rounds 4] [--playbook audit|renew] [--pipelining off|on]

Runs ping and the playbook over INVENTORY (a fleet inventory left by `make bench`, e.g.
bench/results/work/<invocation>/inventory-100.yml) for each commit (unpacked as bench/role_commits.py does),
rounds interleaved, every other round backwards, with an `ansible-playbook` that records, as each of
ansible-core's workers ends, the CPU it used (getrusage of the worker itself) and that of its children (the
module process and the local connection's commands). The controller's own is the rest of the run's. A
whole run's CPU on a shared machine moves by several per cent from one run to the next; the worker's own
CPU for one task, the median over many hosts, is steady to a fraction of a millisecond, which is what a
change to a task's arguments or an action plugin moves. Prints ms per host: median of each round, and the
median over the rounds.
"""
import collections
import json
import os
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import role_commits  # noqa: E402
import run  # noqa: E402

# Run as the ansible-playbook of a measured run: ansible-core's worker records its CPU in WORKER_COST_FILE.
WRAPPER = r'''
import json, os, resource, sys
from ansible.executor.process import worker

_run = worker.WorkerProcess._run


def _measured(self):
    try:
        return _run(self)
    finally:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        line = json.dumps({'task': self._task.get_name(), 'host': self._host.name,
                           'worker': own.ru_utime + own.ru_stime, 'children': children.ru_utime + children.ru_stime})
        fd = os.open(os.environ['WORKER_COST_FILE'], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, (line + '\n').encode())
        os.close(fd)


worker.WorkerProcess._run = _measured
from ansible.cli.playbook import main
sys.argv[0] = 'ansible-playbook'
sys.exit(main())
'''


def measure(playbook, inventory, extra, env, record):
    if os.path.exists(record):
        os.unlink(record)
    command = [sys.executable, '-c', WRAPPER, '-i', inventory, playbook] + extra
    started = os.times()
    wall = time.monotonic()
    child = subprocess.Popen(command, env=dict(env, WORKER_COST_FILE=record), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    dummy, status, usage = os.wait4(child.pid, 0)
    del started
    total = usage.ru_utime + usage.ru_stime
    rows = [json.loads(line) for line in open(record)]
    return {'rc': os.waitstatus_to_exitcode(status), 'total': total, 'wall': time.monotonic() - wall, 'rows': rows}


def split(result, hosts):
    """ms per host: the controller, each task's workers and their children (medians over hosts), and the run."""
    by_task = collections.OrderedDict()
    for row in result['rows']:
        # A role's task is named '<role FQCN> : <name>', which the printed column would cut to the role's name alone.
        by_task.setdefault(row['task'].split(' : ')[-1], []).append(row)
    workers = sum(row['worker'] for row in result['rows'])
    children = sum(row['children'] for row in result['rows'])
    parts = {'run': result['total'] * 1000.0 / hosts,
             'controller': (result['total'] - workers - children) * 1000.0 / hosts}
    for task, rows in by_task.items():
        parts['worker: ' + task] = statistics.median(row['worker'] for row in rows) * 1000.0
        parts['module: ' + task] = statistics.median(row['children'] for row in rows) * 1000.0
    return parts


def main():
    args = role_commits.arguments(__doc__, 4, 'audit')
    inventory = os.path.abspath(args.inventory)
    with open(inventory) as handle:
        hosts = sum(1 for line in handle if line.startswith('    h') and line.rstrip().endswith(':'))
    run.LOGS = os.path.join(run.RESULTS, 'commits', 'logs')
    os.makedirs(run.LOGS, exist_ok=True)
    env = role_commits.environment(args)
    paths = dict((commit, role_commits.unpack(commit)) for commit in args.commits)
    playbook = run.AUDIT if args.playbook == 'audit' else run.RENEW
    parts = collections.defaultdict(list)
    for round_ in range(args.rounds):
        for commit in (args.commits if round_ % 2 == 0 else args.commits[::-1]):
            commit_env = dict(env, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([paths[commit], run.EXTRA_COLLECTIONS]))
            for name, path in (('ping', run.PING), (args.playbook, playbook)):
                tag = '%s-%s-%d' % (os.path.basename(paths[commit]), name, round_ + 1)
                extra = [] if name == 'ping' else (
                    ['-e', 'audit_output_dir=' + os.path.join(run.LOGS, tag)] if name == 'audit' else
                    ['-e', 'incomes_register_renew_summary_file=' + os.path.join(run.LOGS, tag + '.json')])
                result = measure(path, inventory, extra, commit_env, os.path.join(run.LOGS, tag + '.workers'))
                if result['rc'] != 0:
                    sys.exit('%s %s round %d failed (rc %d)' % (commit, name, round_ + 1, result['rc']))
                for part, value in split(result, hosts).items():
                    parts[(commit, name, part)].append(value)
                print('  %-10s %-6s round %d  %.1f ms per host  load %.1f' % (
                    commit, name, round_ + 1, result['total'] * 1000.0 / hosts, os.getloadavg()[0]), flush=True)
    print('\nms of CPU per host, %d hosts: median over the hosts in each round; the median of the rounds last' % hosts)
    for (commit, name, part), values in parts.items():
        rounds = ' '.join('%6.1f' % v for v in values)
        print('  %-10s %-6s %-48s %s   %.1f' % (commit, name, part[:48], rounds, statistics.median(values)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
