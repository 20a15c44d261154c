"""Where the audit's time goes: the CPU of one module run, and what it imports.

    .venv/bin/python bench/module_cost.py [--runs 25] [--rounds 2]

Runs ping, the audit, the community.crypto audit and the no-op renew once over one local host
with ANSIBLE_KEEP_REMOTE_FILES=1, then runs every AnsiballZ payload they left (the module's
arguments are inside it) --runs times in a row, --rounds times interleaved, and reports the median
CPU time (user + system of the payload's process tree, os.wait4) per module and round; then the
CPU time (time.process_time, not wall time, which a loaded machine inflates) of the imports that
make the difference. The difference between two
modules here is what a host pays per module run; everything else in the bench's CPU per host is
the controller's (templating, forks, results, the report).
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import fleet  # noqa: E402
import run  # noqa: E402  (the bench's own environment, playbooks and collections path)
from irsandbox.testing import RunningSandbox  # noqa: E402

# CPU of importing each, in a fresh interpreter that has already imported what every module imports.
IMPORTS = ('cryptography.x509', 'cryptography.hazmat.primitives.serialization',
           'cryptography.x509, cryptography.hazmat.primitives.serialization',
           'ansible_collections.incomes_register.certificates.plugins.module_utils._report.certificate_reads',
           'ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.keys',
           'ansible_collections.community.crypto.plugins.module_utils._crypto.module_backends.certificate_info')
IMPORT_PROBE = """
import sys, time
sys.path[:0] = sys.argv[2:]
import ansible.module_utils.basic
started = time.process_time()
exec('import ' + sys.argv[1])
print((time.process_time() - started) * 1000.0)
"""


# cryptography.x509.name compiles the regular expressions of its RFC 4514 parser when it is imported; one of
# them, with its character classes up to U+10FFFF, is most of that import's own cost. Only a diagnostic: it
# reads a private attribute, and says so when a cryptography release has moved it.
REGEX_PROBE = """
import re, statistics, time
from cryptography.x509 import name
pattern = getattr(getattr(name, '_RFC4514NameParser', None), '_STRING_RE', None)
if pattern is None:
    print('nan')
else:
    samples = []
    for dummy in range(5):
        re.purge()
        started = time.process_time()
        re.compile(pattern.pattern, pattern.flags)
        samples.append(time.process_time() - started)
    print(statistics.median(samples) * 1000.0)
"""


def cpu_of(command, env):
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    dummy, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        return None
    return (usage.ru_utime + usage.ru_stime) * 1000.0


def imports(python, paths, runs):
    """Median CPU ms of each import of IMPORTS, over `runs` fresh interpreters."""
    found = {}
    for statement in IMPORTS:
        samples = []
        for dummy in range(runs):
            completed = subprocess.run([python, '-c', IMPORT_PROBE, statement] + paths, capture_output=True,
                                       text=True, check=False)
            if completed.returncode:
                break
            samples.append(float(completed.stdout))
        found[statement] = statistics.median(samples) if samples else None
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--runs', type=int, default=25)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--pipelining', choices=('off', 'on'), default='off',
                        help='only changes how the payloads are left behind; they are run the same way')
    args = parser.parse_args()
    os.makedirs(run.RESULTS, exist_ok=True)
    work = tempfile.mkdtemp(prefix='module-cost-', dir=run.RESULTS)
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
    # A payload that needs what its play had set up (a copy's source file) cannot run again: left out.
    for name, payload in sorted(payloads.items()):
        if cpu_of([python, payload], module_env) is None:
            print('  left out, fails when run again: %s' % name)
            del payloads[name]
    timings = dict((name, []) for name in payloads)
    for dummy in range(args.rounds):
        for name, payload in sorted(payloads.items()):
            samples = [cpu_of([python, payload], module_env) for dummy in range(args.runs)]
            timings[name].append(statistics.median(samples))
    print('\nCPU of one module run, median of %d runs, per round (ms):' % args.runs)
    for name in sorted(timings):
        print('  %-48s %s' % (name, ' / '.join('%.0f' % value for value in timings[name])))
    print('\nCPU of an import after ansible.module_utils.basic, median of %d fresh interpreters (ms; from the '
          'file system with bytecode caches, which a payload has only for the packages, not for the collections):'
          % args.runs)
    for statement, value in imports(python, [run.COLLECTIONS, run.EXTRA_COLLECTIONS], args.runs).items():
        print('  %-100s %s' % (statement, '%.1f' % value if value is not None else 'failed'))
    regex = subprocess.run([python, '-c', REGEX_PROBE], capture_output=True, text=True, check=False)
    regex_ms = '%.1f' % float(regex.stdout) if regex.returncode == 0 else 'failed'
    print('  %-100s %s' % ("of which compiling cryptography.x509.name's RFC 4514 string pattern (median of 5)", regex_ms))
    print('\nPayloads and logs in %s' % work)
    return 0


if __name__ == '__main__':
    sys.exit(main())
