"""The no-op renew's CPU for the collection at several commits, ping alongside, rounds interleaved.

    .venv/bin/python bench/role_commits.py INVENTORY COMMIT... [--rounds 3]

INVENTORY is a fleet inventory whose certificates are all outside the renewal window, e.g.
bench/results/work/<invocation>/inventory-50.yml left by `make bench`. Each commit is unpacked with
`git archive` into bench/results/commits/<commit>/ansible_collections/incomes_register/certificates
and put on its own collections path; the playbooks run as in bench/run.py. Prints the best CPU time
of each over the rounds (every other round backwards) and its ratio to the best ping.
"""
import argparse
import os
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import run  # noqa: E402


def unpack(commit):
    root = os.path.join(run.RESULTS, 'commits', commit.replace('/', '_').replace('^', '-parent'))
    tree = os.path.join(root, 'ansible_collections', 'incomes_register', 'certificates')
    if not os.path.isdir(tree):
        os.makedirs(tree)
        archive = subprocess.run(['git', 'archive', commit], cwd=run.ROOT, capture_output=True, check=True).stdout
        subprocess.run(['tar', '-x', '-C', tree], input=archive, check=True)
    run.byte_compile(tree)
    return root


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('inventory')
    parser.add_argument('commits', nargs='+')
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    run.LOGS = os.path.join(run.RESULTS, 'commits', 'logs')
    os.makedirs(run.LOGS, exist_ok=True)
    env = run.ansible_environment(10)
    paths = dict((commit, unpack(commit)) for commit in args.commits)
    cpu = {}
    for round_ in range(args.rounds):
        # Every other round backwards, as bench/run.py does, so that the machine's drift within a round does not
        # always favour the first commit.
        for commit in (args.commits if round_ % 2 == 0 else args.commits[::-1]):
            commit_env = dict(env, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([paths[commit], run.EXTRA_COLLECTIONS]))
            for name, playbook in (('ping', run.PING), ('no-op renew', run.RENEW)):
                result = run.run_playbook(playbook, os.path.abspath(args.inventory), '%s-%s-%d' % (
                    os.path.basename(paths[commit]), name.replace(' ', '-'), round_ + 1), commit_env)
                cpu.setdefault((commit, name), []).append(result['cpu'])
                print('  %-12s %-12s round %d  cpu %6.1f s  wall %6.1f s  rc %d  load %s' % (
                    commit, name, round_ + 1, result['cpu'], result['wall'], result['rc'], result['load']), flush=True)
    ping = min(value for (dummy, name), values in cpu.items() if name == 'ping' for value in values)
    for commit in args.commits:
        best = min(cpu[(commit, 'no-op renew')])
        print('%-12s no-op renew %.1f s (best of %d), %.2f x the best ping (%.1f s)' % (
            commit, best, args.rounds, best / ping, ping))
    return 0


if __name__ == '__main__':
    sys.exit(main())
