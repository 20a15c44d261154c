"""Where the audit's time goes: the CPU of one module run, and what it imports.

    .venv/bin/python bench/module_cost.py [--runs 25] [--rounds 2]

Runs ping, the audit, the community.crypto audit and the no-op renew once over one local host
with ANSIBLE_KEEP_REMOTE_FILES=1, then runs every AnsiballZ payload they left (the module's
arguments are inside it) --runs times in a row, --rounds times interleaved, and reports the median
CPU time (user + system of the payload's process tree, os.wait4) per module and round. One run of
each payload with `python -X importtime` gives the biggest imports. The difference between two
modules here is what a host pays per module run; everything else in the bench's CPU per host is
the controller's (templating, forks, results, the report).
"""
import argparse
import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import fleet  # noqa: E402
import run  # noqa: E402  (the bench's own environment, playbooks and collections path)
from irsandbox.testing import RunningSandbox  # noqa: E402

IMPORT_LINE = re.compile(r'import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)')
WATCHED = ('ansible.module_utils.basic', 'cryptography.x509', 'cryptography.hazmat.primitives.serialization',
           'cryptography.hazmat.bindings._rust', 'ansible_collections', 'lxml', 'signxml', 'requests', 'json',
           'encodings.idna')


def cpu_of(command, env):
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    dummy, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError('%s exited %d' % (command, process.returncode))
    return (usage.ru_utime + usage.ru_stime) * 1000.0


def imports(python, payload, env):
    """Cumulative microseconds of the top-level import of each watched package (first occurrence)."""
    completed = subprocess.run([python, '-X', 'importtime', payload], capture_output=True, text=True, env=env,
                               check=False)
    found, total = {}, 0
    for line in completed.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        cumulative, depth, name = int(match.group(2)), len(match.group(3)), match.group(4)
        if depth == 1:
            total += cumulative
        for watched in WATCHED:
            if (name == watched or name.startswith(watched + '.')) and watched not in found:
                found[watched] = cumulative
    found['all imports'] = total
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--runs', type=int, default=25)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--pipelining', choices=('off', 'on'), default='off',
                        help='only changes how the payloads are left behind; they are run the same way')
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix='module-cost-', dir=os.path.join(BENCH, 'results'))
    run.LOGS = os.path.join(work, 'logs')
    run.WORK = work
    os.makedirs(run.LOGS)
    python = sys.executable
    env = dict(run.ansible_environment(1), ANSIBLE_KEEP_REMOTE_FILES='1')
    run.community_crypto()
    payloads = {}
    with RunningSandbox(os.path.join(work, 'sandbox'), retrieval_delay=0) as sandbox:
        hosts = fleet.build(work, sandbox.directory, 1, lambda index: 400)
        inventory = fleet.write_inventory(os.path.join(work, 'inventory.yml'), work, sandbox, hosts, python)
        for name, playbook, extra in [
                ('ping', run.PING, []),
                ('audit', run.AUDIT, ['-e', 'audit_output_dir=' + os.path.join(work, 'report')]),
                ('c.crypto', run.CC_AUDIT, ['-e', 'cc_report=' + os.path.join(work, 'cc.csv')]),
                ('no-op renew', run.RENEW, [])]:
            remote = os.path.join(work, 'remote-' + name.replace(' ', '-'))
            result = run.run_playbook(playbook, inventory, name.replace(' ', '-'),
                                      dict(env, ANSIBLE_REMOTE_TMP=remote), extra)
            if result['rc']:
                sys.exit('%s failed: see %s' % (name, result['log']))
            for payload in sorted(glob.glob(os.path.join(remote, '*', 'AnsiballZ_*.py'))):
                module = os.path.basename(payload)[len('AnsiballZ_'):-len('.py')]
                payloads.setdefault('%s (%s)' % (module, name), payload)
    # The payloads run as the module processes of the bench do: the bench's Python, no Ansible variables.
    module_env = dict((key, value) for key, value in os.environ.items() if not key.startswith('ANSIBLE_'))
    timings = dict((name, []) for name in payloads)
    for dummy in range(args.rounds):
        for name, payload in sorted(payloads.items()):
            samples = [cpu_of([python, payload], module_env) for dummy in range(args.runs)]
            timings[name].append(statistics.median(samples))
    print('\nCPU of one module run, median of %d runs, per round (ms):' % args.runs)
    for name in sorted(timings):
        print('  %-48s %s' % (name, ' / '.join('%.0f' % value for value in timings[name])))
    print('\nImports, cumulative ms (one run with -X importtime):')
    for name, payload in sorted(payloads.items()):
        found = imports(python, payload, module_env)
        print('  %-48s %s' % (name, ', '.join('%s %.1f' % (key, value / 1000.0) for key, value in sorted(
            found.items(), key=lambda item: -item[1]))))
    print('\nPayloads and logs in %s' % work)
    return 0


if __name__ == '__main__':
    sys.exit(main())
