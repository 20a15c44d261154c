"""The no-op renew's or the audit's CPU for the collection at several commits, ping alongside, rounds interleaved.

    .venv/bin/python bench/role_commits.py INVENTORY COMMIT... [--rounds 3] [--playbook renew|audit] [--pipelining off|on]

INVENTORY is a fleet inventory whose certificates are all outside the renewal window, e.g.
bench/results/work/<invocation>/inventory-50.yml left by `make bench`. Each commit is unpacked with
`git archive` into bench/results/commits/<commit>/ansible_collections/incomes_register/certificates
and put on its own collections path; the playbooks run as in bench/run.py. Prints the best CPU time
of each over the rounds (every other round backwards) and its ratio to the best ping, and the median of
each round's ratio to that round's ping.
"""
import argparse
import os
import statistics
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import run  # noqa: E402


def unpack(commit):
    # Named by the commit's hash, not as given: a tree unpacked for HEAD or a branch would be measured again for
    # whatever the name points to later.
    sha = subprocess.run(['git', 'rev-parse', '--short=12', commit + '^{commit}'], cwd=run.ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    root = os.path.join(run.RESULTS, 'commits', sha)
    tree = os.path.join(root, 'ansible_collections', 'incomes_register', 'certificates')
    if not os.path.isdir(tree):
        os.makedirs(tree)
        archive = subprocess.run(['git', 'archive', commit], cwd=run.ROOT, capture_output=True, check=True).stdout
        subprocess.run(['tar', '-x', '-C', tree], input=archive, check=True)
    run.byte_compile(tree)
    return root


def arguments(doc, rounds, playbook):
    """The command line this script and bench/worker_cost.py share: an inventory, commits, rounds, a playbook."""
    parser = argparse.ArgumentParser(description=doc.split('\n\n', maxsplit=1)[0])
    parser.add_argument('inventory')
    parser.add_argument('commits', nargs='+')
    parser.add_argument('--rounds', type=int, default=rounds)
    parser.add_argument('--playbook', choices=('renew', 'audit'), default=playbook)
    parser.add_argument('--pipelining', choices=('off', 'on'), default='off',
                        help='ANSIBLE_PIPELINING for every run, ping included (default off, as bench/run.py begins)')
    return parser.parse_args()


def environment(args):
    """The bench's Ansible environment for the command line's pipelining setting."""
    return run.with_pipelining(run.ansible_environment(10), args.pipelining)


def main():
    args = arguments(__doc__, 3, 'renew')
    run.LOGS = os.path.join(run.RESULTS, 'commits', 'logs')
    os.makedirs(run.LOGS, exist_ok=True)
    env = environment(args)
    paths = dict((commit, unpack(commit)) for commit in args.commits)
    measured, playbook = ('no-op renew', run.RENEW) if args.playbook == 'renew' else ('audit', run.AUDIT)

    def extra(tag):
        if args.playbook == 'renew':
            return ['-e', 'incomes_register_renew_summary_file=' + os.path.join(run.LOGS, tag + '.json')]
        return ['-e', 'audit_output_dir=' + os.path.join(run.LOGS, tag)]
    cpu = {}
    for round_ in range(args.rounds):
        # Every other round backwards, as bench/run.py does, so that the machine's drift within a round does not
        # always favour the first commit.
        for commit in (args.commits if round_ % 2 == 0 else args.commits[::-1]):
            commit_env = dict(env, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([paths[commit], run.EXTRA_COLLECTIONS]))
            for name, path in (('ping', run.PING), (measured, playbook)):
                tag = '%s-%s-%d' % (os.path.basename(paths[commit]), name.replace(' ', '-'), round_ + 1)
                result = run.run_playbook(path, os.path.abspath(args.inventory), tag, commit_env,
                                          [] if name == 'ping' else extra(tag))
                cpu.setdefault((commit, name), []).append(result['cpu'])
                print('  %-12s %-12s round %d  cpu %6.1f s  wall %6.1f s  rc %d  load %s' % (
                    commit, name, round_ + 1, result['cpu'], result['wall'], result['rc'], result['load']), flush=True)
    ping = min(value for (dummy, name), values in cpu.items() if name == 'ping' for value in values)
    for commit in args.commits:
        best = min(cpu[(commit, measured)])
        by_round = [value / base for value, base in zip(cpu[(commit, measured)], cpu[(commit, 'ping')])]
        print('%-12s %s %.1f s (best of %d), %.3f x the best ping (%.1f s); by round %s, median %.3f' % (
            commit, measured, best, args.rounds, best / ping, ping, ' / '.join('%.3f' % r for r in by_round),
            statistics.median(by_round)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
