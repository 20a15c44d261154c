"""`make bench`: the audit and the renewal against Ansible's own floor and community.crypto.

One run on one machine measures, for each fleet size N (--sizes, default 50,200,500) of local
hosts with real certificates:
  ping          ansible.builtin.ping: the floor, one module run per host
  audit         incomes_register.certificates.audit (certificate_info per host, expiry_report once)
  c.crypto      bench/playbooks/community_crypto_audit.yml: x509_certificate_info per host,
                aggregated once on the controller
  no-op renew   incomes_register.certificates.renew with no certificate in its renewal window
then renews --renew-sizes hosts that are inside the window against the sandbox, and measures the
sandbox's own throughput per operation. It prints the tables and writes them into
docs/benchmarks.md between the bench:begin/bench:end markers.

Every playbook runs with the project's ansible-core, the same inventory, forks and environment.
community.crypto comes from the `ansible` package of PyPI, installed into bench/.venv-ansible
together with the very ansible-core version of the project's venv; only its community.crypto
directory is put on the collections path (a symlink under bench/results/collections).

Memory: each run is a fresh ansible-playbook process reaped with os.wait4, whose rusage covers
the process and every descendant it waited for: ru_maxrss is the largest single process of the
run (in practice the controller), ru_utime + ru_stime the CPU time of the whole tree. A sampler
also sums the proportional set size (Pss) of the live process tree four times a second, which
counts the forks and module processes that run at the same time.
"""
import argparse
import compileall
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')
RESULTS = os.path.join(BENCH, 'results')
# Each invocation works and logs in its own directories (set in main), so two can run at once.
WORK = os.path.join(RESULTS, 'work')
LOGS = os.path.join(RESULTS, 'logs')
WAVE_RESULTS = os.path.join(BENCH, 'wave-results.json')
WAVE_LOCK = os.path.join(RESULTS, 'wave-results.lock')
WAVE_SVG = os.path.join(ROOT, 'docs', 'benchmarks-wave.svg')
VENV_ANSIBLE = os.path.join(BENCH, '.venv-ansible')
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
EXTRA_COLLECTIONS = os.path.join(RESULTS, 'collections')
DOC = os.path.join(ROOT, 'docs', 'benchmarks.md')
BEGIN, END = '<!-- bench:begin -->', '<!-- bench:end -->'
WAVE_BEGIN, WAVE_END = '<!-- wave:begin -->', '<!-- wave:end -->'
MULTI_BEGIN, MULTI_END = '<!-- multi:begin -->', '<!-- multi:end -->'

# tests/integration for process_kill: the tests' walk of a run's process tree, which the Pss sampling reuses.
sys.path[:0] = [BENCH, COLLECTIONS, os.path.join(ROOT, 'tests', 'integration')]

import fleet  # noqa: E402  (needs the path above)
import multi  # noqa: E402
import process_kill  # noqa: E402
import throughput  # noqa: E402
import wave  # noqa: E402
from irsandbox.testing import RunningSandbox  # noqa: E402

PING = os.path.join(BENCH, 'playbooks', 'ping.yml')
CC_AUDIT = os.path.join(BENCH, 'playbooks', 'community_crypto_audit.yml')
AUDIT = 'incomes_register.certificates.audit'
RENEW = 'incomes_register.certificates.renew'
RENEW_SEQUENTIAL = os.path.join(BENCH, 'playbooks', 'renew_sequential.yml')
TARGET_AUDIT = 1.25
TARGET_NOOP_RENEW = 2.0


# -- community.crypto ----------------------------------------------------------------------

def _version(python, distribution):
    completed = subprocess.run([python, '-c', 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))',
                                distribution], capture_output=True, text=True, check=False)
    return completed.stdout.strip() if completed.returncode == 0 else None


def community_crypto():
    """Install `ansible` next to our ansible-core version once; link its community.crypto. Returns versions."""
    core = _version(sys.executable, 'ansible-core')
    python = os.path.join(VENV_ANSIBLE, 'bin', 'python')
    if not os.path.exists(python):
        subprocess.run([sys.executable, '-m', 'venv', VENV_ANSIBLE], check=True)
    if _version(python, 'ansible-core') != core or _version(python, 'ansible') is None:
        print('Installing the ansible package for ansible-core %s into %s ...' % (core, VENV_ANSIBLE), flush=True)
        # Pinning ansible-core makes pip pick the newest `ansible` release built for it.
        subprocess.run([python, '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', 'ansible',
                        'ansible-core==%s' % core], check=True)
    site = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                          capture_output=True, text=True, check=True).stdout.strip()
    source = os.path.join(site, 'ansible_collections', 'community', 'crypto')
    link = os.path.join(EXTRA_COLLECTIONS, 'ansible_collections', 'community', 'crypto')
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.islink(link) or os.path.exists(link):
        os.unlink(link)
    os.symlink(source, link)
    with open(os.path.join(source, 'MANIFEST.json')) as handle:
        crypto = json.load(handle)['collection_info']['version']
    return {'ansible-core': core, 'ansible (for community.crypto)': _version(python, 'ansible'),
            'community.crypto': crypto}


# -- measuring one run -----------------------------------------------------------------------

def _pss_kib(pid):
    try:
        with open('/proc/%d/smaps_rollup' % pid) as handle:
            for line in handle:
                if line.startswith('Pss:'):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreePss(threading.Thread):
    """Peak of the summed Pss of a process and its descendants, sampled every `interval` seconds."""

    def __init__(self, pid, interval=0.25):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kib = pid, interval, 0
        self._done = threading.Event()

    def run(self):
        while not self._done.wait(self.interval):
            total = sum(_pss_kib(pid) for pid in [self.pid] + process_kill.descendants(self.pid))
            self.peak_kib = max(self.peak_kib, total)

    def stop(self):
        self._done.set()
        self.join()


def ansible_environment(forks):
    env = dict(os.environ)
    for name in list(env):
        # Whatever the caller's shell sets for Ansible must not make one run differ from another.
        if name.startswith('ANSIBLE_'):
            del env[name]
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': os.pathsep.join([COLLECTIONS, EXTRA_COLLECTIONS]),
        'ANSIBLE_FORKS': str(forks),
        'ANSIBLE_PIPELINING': 'False',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_NOCOLOR': '1',
        'PATH': os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', ''),
    })
    return env


def with_pipelining(env, setting):
    """env with ANSIBLE_PIPELINING for a setting of the command line's --pipelining ('off' or 'on')."""
    return dict(env, ANSIBLE_PIPELINING='True' if setting == 'on' else 'False')


def byte_compile(collection):
    """Write the bytecode of the collection's Python files, as pip does for community.crypto's when it installs
    them. A user's first run writes it beside the plugins; a shell with PYTHONDONTWRITEBYTECODE set (this
    machine's) never does, and then every Ansible worker compiles our filter and action plugins again and
    community.crypto's not at all."""
    if not compileall.compile_dir(os.path.join(collection, 'plugins'), quiet=1):
        sys.exit('Could not byte-compile the plugins of %s' % collection)


def run_playbook(playbook, inventory, log_name, env, extra=()):
    """Run one ansible-playbook; wall and CPU seconds, memory, exit status."""
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, playbook] + list(extra)
    log_path = os.path.join(LOGS, log_name + '.log')
    with open(log_path, 'w') as log:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=WORK)
        sampler = TreePss(process.pid)
        sampler.start()
        dummy, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        sampler.stop()
    # Popen must not reap the process again.
    process.returncode = os.waitstatus_to_exitcode(status)
    return {'load': '%.1f/%.1f' % (load_before, os.getloadavg()[0]),
            'wall': wall, 'cpu': usage.ru_utime + usage.ru_stime, 'max_rss_mb': usage.ru_maxrss / 1024.0,
            'tree_pss_mb': sampler.peak_kib / 1024.0, 'rc': process.returncode, 'log': os.path.relpath(log_path, ROOT)}


def calls_delta(before, after):
    return dict((name, after.get(name, 0) - before.get(name, 0))
                for name in ('signNewCertificate', 'renewCertificate', 'getCertificate', 'total'))


# -- the scenarios -----------------------------------------------------------------------------

def measure_size(sandbox, size, inventory, environments, repeat):
    """ping, audit, c.crypto and no-op renew over `size` hosts, with each Ansible setting of `environments`
    ({'off': env, 'on': env}: pipelining) side by side, `repeat` rounds interleaved; best of each."""
    def files(setting):
        return (os.path.join(WORK, 'report-%d-%s' % (size, setting)),
                os.path.join(WORK, 'renew-summary-%d-%s.json' % (size, setting)),
                os.path.join(WORK, 'cc-report-%d-%s.csv' % (size, setting)))

    def scenarios(setting):
        report_dir, summary_file, cc_report = files(setting)
        return [
            ('ping', PING, []),
            ('audit', AUDIT, ['-e', 'audit_output_dir=' + report_dir]),
            ('c.crypto', CC_AUDIT, ['-e', 'cc_report=' + cc_report]),
            ('no-op renew', RENEW, ['-e', 'incomes_register_renew_summary_file=' + summary_file]),
        ]
    names = [name for name, dummy, dummy in scenarios('off')]
    runs = dict(((name, setting), []) for name in names for setting in environments)
    for round_ in range(repeat):
        # Every other round runs backwards (ping last, pipelining on before off), so that the machine's speed
        # drifting during a round does not always favour the scenarios that come first.
        order = list(enumerate(names))
        settings = list(environments.items())
        if round_ % 2:
            order.reverse()
            settings.reverse()
        for index, name in order:
            # Side by side: each scenario with both pipelining settings before the next scenario.
            for setting, env in settings:
                dummy, playbook, extra = scenarios(setting)[index]
                before = sandbox.calls()
                result = run_playbook(playbook, inventory, '%d-%s-%s-%d' % (
                    size, name.replace(' ', '-').replace('.', ''), setting, round_ + 1), env, extra)
                result['calls'] = calls_delta(before, sandbox.calls())
                runs[(name, setting)].append(result)
                print('  N=%-4d %-12s pipelining %-3s wall %6.1f s  cpu %6.1f s  rc %d  calls %d  load %s' % (
                    size, name, setting, result['wall'], result['cpu'], result['rc'], result['calls']['total'],
                    result['load']), flush=True)
    rows = []
    for setting in environments:
        _check_outputs(size, dict((name, runs[(name, setting)]) for name in names), *files(setting))
        base = {}
        for name in names:
            results = runs[(name, setting)]
            base[name] = {
                'run': name, 'hosts': size, 'setting': setting, 'rounds': len(results),
                # Noise on a shared machine only ever adds time: the best round is the measurement.
                'wall': min(r['wall'] for r in results), 'cpu': min(r['cpu'] for r in results),
                'max_rss_mb': max(r['max_rss_mb'] for r in results),
                'tree_pss_mb': max(r['tree_pss_mb'] for r in results),
                'calls': max(r['calls']['total'] for r in results),
                'ok': all(r['rc'] == 0 and not r.get('problem') for r in results),
                'problems': sorted(set(r['problem'] for r in results if r.get('problem'))),
                'logs': [r['log'] for r in results], 'loads': [r['load'] for r in results],
            }
            rows.append(base[name])
        pings = runs[('ping', setting)]
        for name in names:
            row = base[name]
            row['wall_x_ping'] = row['wall'] / base['ping']['wall']
            row['cpu_x_ping'] = row['cpu'] / base['ping']['cpu']
            # The best of each can pair a round in which the machine was fast for one playbook with a slow
            # one for another (this machine's speed drifts); a ratio within each round shows that spread.
            row['cpu_x_ping_rounds'] = [result['cpu'] / ping['cpu']
                                        for result, ping in zip(runs[(name, setting)], pings)]
            row['wall_x_cc'] = row['wall'] / base['c.crypto']['wall']
            row['cpu_x_cc'] = row['cpu'] / base['c.crypto']['cpu']
    return rows


def _check_outputs(size, runs, report_dir, summary_file, cc_report):
    """A fast run that did not do the work is no measurement: check what each playbook produced."""
    problem = None
    try:
        with open(os.path.join(report_dir, 'certificate-expiry.json')) as handle:
            total = json.load(handle)['summary']['total']
        if total != size:
            problem = 'the audit report lists %d certificates, not %d' % (total, size)
    except (OSError, ValueError, KeyError) as error:
        problem = 'no audit report: %s' % error
    _flag(runs['audit'], problem)
    try:
        with open(cc_report) as handle:
            lines = len(handle.read().splitlines()) - 1
        problem = None if lines == size else 'the community.crypto report has %d rows, not %d' % (lines, size)
    except OSError as error:
        problem = 'no community.crypto report: %s' % error
    _flag(runs['c.crypto'], problem)
    try:
        with open(summary_file) as handle:
            statuses = [outcome['status'] for outcome in json.load(handle).values()]
        problem = None if statuses == ['ok'] * size else 'renew outcomes %s' % sorted(set(statuses))
    except (OSError, ValueError, KeyError) as error:
        problem = 'no renew summary: %s' % error
    for result in runs['no-op renew']:
        if result['calls']['total']:
            problem = 'the no-op renew made %d service calls' % result['calls']['total']
    _flag(runs['no-op renew'], problem)


def _flag(results, problem):
    if problem:
        for result in results:
            result['problem'] = problem


def measure_renewal(sandbox, size, setting, env, python):
    """Renew `size` hosts that are all inside the window; service calls per renewal and time."""
    root = os.path.join(WORK, 'renewal-%d-%s' % (size, setting))
    # Both settings renew in the same sandbox: each its own customers.
    first = 4000000 + (0 if setting == 'off' else 500000)
    hosts = fleet.build(root, sandbox.directory, size, lambda index: 45, prefix='r', first_customer=first)
    inventory = fleet.write_inventory(os.path.join(root, 'inventory.yml'), root, sandbox, hosts, python)
    summary_file = os.path.join(root, 'renew-summary.json')
    before = sandbox.calls()
    result = run_playbook(RENEW, inventory, '%d-renewal-%s' % (size, setting), env,
                          ['-e', 'incomes_register_renew_summary_file=' + summary_file])
    calls = calls_delta(before, sandbox.calls())
    try:
        with open(summary_file) as handle:
            statuses = [outcome['status'] for outcome in json.load(handle).values()]
    except (OSError, ValueError, KeyError):
        statuses = []
    renewed = statuses.count('renewed')
    print('  N=%-4d %-12s pipelining %-3s wall %6.1f s  cpu %6.1f s  rc %d  renewed %d  calls %s  load %s' % (
        size, 'renewal', setting, result['wall'], result['cpu'], result['rc'], renewed, calls, result['load']),
        flush=True)
    return dict(result, hosts=size, setting=setting, renewed=renewed, calls=calls,
                renew_per_host=calls['renewCertificate'] / float(size),
                get_per_host=calls['getCertificate'] / float(size),
                ok=result['rc'] == 0 and renewed == size)


# -- reporting ---------------------------------------------------------------------------------

def code_version():
    """The last commit that changed what the playbooks run (plugins, roles, playbooks), and whether the tree differs."""
    def git(*args):
        return subprocess.run(['git'] + list(args), cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()
    paths = ['plugins', 'roles', 'playbooks', 'meta']
    commit = git('log', '-1', '--format=%h', '--', *paths) or 'unknown'
    return commit + ('+changes' if git('status', '--porcelain', '--', *paths) else '')


def machine(versions, forks):
    model = 'unknown'
    try:
        with open('/proc/cpuinfo') as handle:
            model = next((line.split(':', 1)[1].strip() for line in handle if line.startswith('model name')), model)
        with open('/proc/meminfo') as handle:
            memory_kib = int(next(line.split()[1] for line in handle if line.startswith('MemTotal:')))
    except (OSError, StopIteration, ValueError):
        memory_kib = 0
    import cryptography
    return dict({
        'nproc': os.cpu_count(), 'cpu': model, 'memory_gib': round(memory_kib / 1024.0 / 1024.0, 1),
        'kernel': platform.release(), 'python': platform.python_version(), 'cryptography': cryptography.__version__,
        'forks': forks,
    }, **versions)


def markdown(data):
    m = data['machine']
    lines = [
        'Run of %s, %.1f min in all. Machine: %s CPUs (%s), %s GiB memory, Linux %s; Python %s, ansible-core %s, '
        'cryptography %s; community.crypto %s from the `ansible` %s package. Forks %d for every playbook; '
        'connection local, no fact gathering; the code of commit %s; every run with ANSIBLE_PIPELINING off '
        '(Ansible\'s default) and on, '
        'side by side (ratios are to ping with the same setting); %d round(s) per run, interleaved (every other '
        'round backwards), the best '
        'kept (CPU ×ping by round: each round against the same round\'s ping, in the order they ran, which '
        'shows how far this machine\'s speed moved during the run). Load average %s at the start, %s at the end '
        '(the machine is shared); Load is the 1-minute '
        'load average before / after each run (the worst round).' % (
            data['started'], data['minutes'], m['nproc'], m['cpu'], m['memory_gib'], m['kernel'], m['python'],
            m['ansible-core'], m['cryptography'], m['community.crypto'], m['ansible (for community.crypto)'],
            m['forks'], data['code'], data.get('repeat', 1), data['load_start'], data['load_end']),
        '',
        '| Run | Hosts | Pipelining | Wall s | CPU s | Wall ×ping | CPU ×ping | CPU ×ping by round | Wall ×c.crypto '
        '| CPU ×c.crypto | Max RSS MB | Peak tree Pss MB | Service calls | Load | OK |',
        '|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|',
    ]
    row_format = '| %s | %d | %s | %.1f | %.1f | %.2f | %.2f | %s | %.2f | %.2f | %.0f | %.0f | %d | %s | %s |'
    for row in data['sizes']:
        lines.append(row_format % (
            row['run'], row['hosts'], row['setting'], row['wall'], row['cpu'], row['wall_x_ping'], row['cpu_x_ping'],
            _by_round(row), row['wall_x_cc'], row['cpu_x_cc'], row['max_rss_mb'], row['tree_pss_mb'], row['calls'],
            max(row['loads'], key=lambda load: float(load.split('/')[1])),
            'yes' if row['ok'] else 'NO: ' + '; '.join(row['problems'] or ['non-zero exit'])))
    lines += ['', 'Targets (CPU time, same run; wall time in brackets, more disturbed by other load on the '
              'machine):', '']
    for target in data['targets']:
        lines.append('- %s: %s' % (target['text'], 'met' if target['met'] else '**not met**'))
    if data['renewal']:
        lines += ['', 'Renewal of hosts inside the window (sandbox with retrieval delay 0, initial_delay 0, role '
                  'throttle 5):', '',
                  '| Hosts | Pipelining | Renewed | Wall s | CPU s | s per host | RenewCertificate per host '
                  '| GetCertificate per host | SignNewCertificate | Max RSS MB |',
                  '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|']
        for row in data['renewal']:
            lines.append('| %d | %s | %d | %.1f | %.1f | %.2f | %.2f | %.2f | %d | %.0f |' % (
                row['hosts'], row['setting'], row['renewed'], row['wall'], row['cpu'], row['wall'] / row['hosts'],
                row['renew_per_host'], row['get_per_host'], row['calls']['signNewCertificate'], row['max_rss_mb']))
    if data['throughput']:
        lines += ['', 'Sandbox throughput (%d keep-alive HTTPS clients over loopback, at most %.0f s per '
                  'operation):' % (data['throughput'][0]['clients'], data['throughput_seconds']), '',
                  '| Operation | Answered OK | Failed | Seconds | Requests/s | p50 ms | p95 ms |',
                  '|---|---:|---:|---:|---:|---:|---:|']
        for row in data['throughput']:
            lines.append('| %s | %d | %d | %.1f | %.1f | %.0f | %.0f |' % (
                row['operation'], row['ok'], row['failed'], row['seconds'], row['per_second'],
                row['p50_ms'] or 0, row['p95_ms'] or 0))
    return '\n'.join(lines) + '\n'


def _rounds_note(row):
    rounds = row.get('cpu_x_ping_rounds', [])
    if len(rounds) < 2:
        return ''
    # Each round's ratio is to the ping of the same round, so it is not moved by the machine's speed drifting
    # between rounds, which the best of each is; their median is the steadier reading of the two.
    return '; by round %s, median %.2f' % (_by_round(row), statistics.median(rounds))


def _by_round(row):
    """The CPU ratio to ping of each round, in the order the rounds ran ('' from a results file without them)."""
    return ' / '.join('%.2f' % ratio for ratio in row.get('cpu_x_ping_rounds', []))


def targets(rows):
    """The issue's targets per size and pipelining setting, judged on CPU time (wall time given too)."""
    found = []
    for size, setting in sorted(set((row['hosts'], row['setting']) for row in rows)):
        by = dict((row['run'], row) for row in rows if row['hosts'] == size and row['setting'] == setting)
        audit, renew = by['audit'], by['no-op renew']
        where = 'N=%d, pipelining %s' % (size, setting)
        found.append({'hosts': size, 'setting': setting, 'met': audit['cpu_x_ping'] <= TARGET_AUDIT,
                      'text': '%s: audit <= %.2f x ping: %.2f (%.2f)%s' % (
                          where, TARGET_AUDIT, audit['cpu_x_ping'], audit['wall_x_ping'], _rounds_note(audit))})
        found.append({'hosts': size, 'setting': setting, 'met': audit['cpu'] < by['c.crypto']['cpu'],
                      'text': '%s: audit cheaper than the community.crypto audit: %.2f x (%.2f)' % (
                          where, audit['cpu_x_cc'], audit['wall_x_cc'])})
        found.append({'hosts': size, 'setting': setting,
                      'met': renew['cpu_x_ping'] <= TARGET_NOOP_RENEW and renew['calls'] == 0,
                      'text': '%s: no-op renew <= %.0f x ping with 0 service calls: %.2f (%.2f), %d calls%s' % (
                          where, TARGET_NOOP_RENEW, renew['cpu_x_ping'], renew['wall_x_ping'], renew['calls'],
                          _rounds_note(renew))})
    return found


def write_doc(text, begin=BEGIN, end=END):
    """Replace one generated part of docs/benchmarks.md, keep the prose around it."""
    try:
        with open(DOC) as handle:
            current = handle.read()
    except FileNotFoundError:
        current = '# Benchmarks\n\n%s\n%s\n' % (begin, end)
    if begin not in current or end not in current:
        current = current.rstrip('\n') + '\n\n%s\n%s\n' % (begin, end)
    head, rest = current.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(DOC, 'w') as handle:
        handle.write('%s%s\n%s%s%s' % (head, begin, text, end, tail))


# -- main ------------------------------------------------------------------------------------------

def _sizes(text):
    return [int(part) for part in text.split(',') if part.strip()]


def _points(text):
    return [tuple(int(value) for value in part.split(':')) for part in text.split(',') if part.strip()]


def _settings(text):
    settings = [part.strip() for part in text.split(',') if part.strip()]
    if not settings or any(setting not in ('off', 'on') for setting in settings):
        raise argparse.ArgumentTypeError('off, on or off,on')
    return settings


def _roles(text):
    roles = [part.strip() for part in text.split(',') if part.strip()]
    if not roles or any(role not in wave.ROLES for role in roles):
        raise argparse.ArgumentTypeError('new, old or new,old')
    return roles


def render_wave(rows):
    """The wave's table and plot, from every run in the results file."""
    text = wave.markdown(rows)
    wave.svg(rows, WAVE_SVG)
    write_doc(text, WAVE_BEGIN, WAVE_END)
    return text


def main():
    global WORK, LOGS  # pylint: disable=global-statement
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--sizes', type=_sizes, default=[50, 200, 500], help='fleet sizes, comma-separated')
    parser.add_argument('--renew-sizes', type=_sizes, default=[50],
                        help='fleet sizes for the renewal inside the window (each host really renews)')
    parser.add_argument('--forks', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=1, help='interleaved rounds per size; the best is kept')
    parser.add_argument('--pipelining', type=_settings, default=['off', 'on'],
                        help='ANSIBLE_PIPELINING settings every run is made with, side by side (default off,on)')
    parser.add_argument('--throughput-seconds', type=float, default=5.0, help='upper bound per operation')
    parser.add_argument('--no-doc', action='store_true', help='print only; leave docs/benchmarks.md alone')
    parser.add_argument('--wave', type=_points, default=[(20, 10), (200, 30)],
                        help='renewal wave points N:D (hosts:service delay in s), comma-separated; empty for none')
    parser.add_argument('--wave-roles', type=_roles, default=['new', 'old'],
                        help='new (the role\'s wave and its submission baseline), old (renew_sequential.yml) '
                             'or both (default); the old role takes ~N/5 x D')
    parser.add_argument('--wave-fresh', action='store_true',
                        help='drop the earlier runs in bench/wave-results.json instead of merging into them')
    parser.add_argument('--only-wave', action='store_true', help='measure only the renewal wave')
    parser.add_argument('--multi', action='store_true',
                        help='measure only many certificates on one host (no-op renew and audit, M against 1)')
    parser.add_argument('--multi-certificates', type=int, default=50, help='certificates on the host for --multi')
    parser.add_argument('--render-wave', action='store_true',
                        help='measure nothing: rewrite the wave table and plot from bench/wave-results.json')
    args = parser.parse_args()
    if args.multi:
        return main_multi(args)

    if args.render_wave:
        with open(WAVE_RESULTS) as handle:
            print(render_wave(json.load(handle)['runs']))
        return 0
    started = time.monotonic()
    load_start = ' '.join('%.1f' % value for value in os.getloadavg())
    if not os.path.isdir(os.path.join(COLLECTIONS, 'ansible_collections', 'incomes_register', 'certificates')):
        sys.exit('The collection is not linked into %s: run `make setup` (or `make bench`) first.' % COLLECTIONS)
    byte_compile(ROOT)
    versions = community_crypto()
    now = datetime.datetime.now()
    invocation = '%s-%d' % (now.strftime('%Y%m%dT%H%M%S'), os.getpid())
    WORK = os.path.join(RESULTS, 'work', invocation)
    LOGS = os.path.join(RESULTS, 'logs', invocation)
    os.makedirs(WORK)
    os.makedirs(LOGS)
    env = ansible_environment(args.forks)
    environments = dict((setting, with_pipelining(env, setting)) for setting in args.pipelining)
    python = sys.executable
    data = {'started': now.strftime('%Y-%m-%d %H:%M'), 'machine': machine(versions, args.forks),
            'sizes': [], 'renewal': [], 'throughput': [], 'throughput_seconds': args.throughput_seconds,
            'repeat': args.repeat, 'pipelining': args.pipelining, 'code': code_version()}
    print('Machine: %s\nWork %s, logs %s' % (json.dumps(data['machine']), WORK, LOGS), flush=True)

    if args.wave:
        if args.wave_fresh and not args.no_doc:
            wave.merge(WAVE_RESULTS, [], fresh=True, lock_path=WAVE_LOCK)

        def saved(row):
            if not args.no_doc:
                wave.merge(WAVE_RESULTS, [row], lock_path=WAVE_LOCK, then=render_wave)
        data['wave'] = wave.measure(run_playbook, environments, args.wave, python, WORK, RENEW,
                                    RENEW_SEQUENTIAL, roles=args.wave_roles, saved=saved, code=data['code'])
    if args.only_wave:
        print(wave.markdown(data['wave']))
        return 0 if all(row['ok'] for row in data['wave']) else 1

    with RunningSandbox(os.path.join(WORK, 'sandbox'), retrieval_delay=0) as sandbox:
        biggest = max(args.sizes)
        # Out of the renewal window (60 days) by at least a month, spread over two years.
        hosts = fleet.build(WORK, sandbox.directory, biggest, lambda index: 90 + (index * 37) % 640)
        names = sorted(hosts)
        # Warm the page cache and Ansible's own imports so the first measured run is not the cold one.
        warm = fleet.write_inventory(os.path.join(WORK, 'warm.yml'), WORK, sandbox,
                                     dict((name, hosts[name]) for name in names[:5]), python)
        for setting, setting_env in environments.items():
            run_playbook(PING, warm, 'warm-up-' + setting, setting_env)
        for size in args.sizes:
            inventory = fleet.write_inventory(os.path.join(WORK, 'inventory-%d.yml' % size), WORK, sandbox,
                                              dict((name, hosts[name]) for name in names[:size]), python)
            data['sizes'] += measure_size(sandbox, size, inventory, environments, args.repeat)
        for size in args.renew_sizes:
            for setting, setting_env in environments.items():
                data['renewal'].append(measure_renewal(sandbox, size, setting, setting_env, python))
        data['throughput'] = throughput.measure(sandbox, seconds=args.throughput_seconds)
        for row in data['throughput']:
            print('  %-18s %6.1f requests/s  (%d ok, %d failed)' % (row['operation'], row['per_second'], row['ok'],
                                                                    row['failed']), flush=True)

    data['targets'] = targets(data['sizes'])
    data['minutes'] = (time.monotonic() - started) / 60.0
    data['load_end'] = ' '.join('%.1f' % value for value in os.getloadavg())
    data['load_start'] = load_start
    text = markdown(data)
    print()
    print(text)
    with open(os.path.join(RESULTS, 'results-%s.json' % invocation), 'w') as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
    if not args.no_doc:
        write_doc(text)
        print('Written to %s' % os.path.relpath(DOC, ROOT))
    failed = [row for row in data['sizes'] + data['renewal'] + data.get('wave', []) if not row['ok']]
    return 1 if failed else 0


def main_multi(args):
    """--multi: one host with --multi-certificates certificates against one with one; its own block of the doc."""
    if not os.path.isdir(os.path.join(COLLECTIONS, 'ansible_collections', 'incomes_register', 'certificates')):
        sys.exit('The collection is not linked into %s: run `make setup` (or `make bench`) first.' % COLLECTIONS)
    load = ' '.join('%.1f' % value for value in os.getloadavg())
    started = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    work = os.path.join(WORK, 'multi-run')
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.makedirs(LOGS, exist_ok=True)
    env = ansible_environment(args.forks)
    with RunningSandbox(os.path.join(work, 'sandbox'), retrieval_delay=0) as sandbox:
        rows = multi.measure(run_playbook, sandbox, env, sys.executable, work, args.multi_certificates,
                             max(args.repeat, 3), RENEW, AUDIT)
    text = multi.markdown(rows, started, {'nproc': os.cpu_count(), 'load': load})
    print(text)
    if not args.no_doc:
        write_doc(text, MULTI_BEGIN, MULTI_END)
    return 0 if all(not row['problem'] for row in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
