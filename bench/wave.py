"""The renewal wave (issue 15): N hosts due at once against a service that issues after D seconds.

Each point runs, with ANSIBLE_PIPELINING off and on:
  submit      the renew playbook (the role's wave) against a service that issues at once, initial delay 0:
              the submissions, one poll round and the run's fixed costs. ideal = D + its wall time.
  wave        the renew playbook against a service that issues D seconds after the request.
  sequential  bench/playbooks/renew_sequential.yml (the role's renewal task before the wave, waiting
              inside the throttle) against the same kind of service: the old role.
Every run gets a fresh sandbox, so its counters (calls, peak_concurrent) are its own.

Results of several invocations are merged: every run is one record in bench/wave-results.json
(kept in git, with when it was measured and the load average around it), a later measurement of
the same (run, N, D, pipelining) replaces the earlier one, and the table in docs/benchmarks.md and
docs/benchmarks-wave.svg are rendered from that file after every run. So the old role, which takes
~N/5 x D, can be measured in its own invocation (`--wave-roles old`) while the new one runs in another.
"""
import datetime
import fcntl
import json
import math
import os

import fleet
import yaml
from irsandbox.testing import RunningSandbox

THROTTLE = 5
# The role's own schedule, scaled down so that a small D is not dominated by the 30 s default.
POLL_INTERVAL = 5
KINDS = ('submit', 'wave', 'sequential')
ROLES = {'new': ('submit', 'wave'), 'old': ('sequential',)}


def _inventory(root, sandbox, hosts, python, delay):
    path = fleet.write_inventory(os.path.join(root, 'inventory.yml'), root, sandbox, hosts, python)
    with open(path) as handle:
        inventory = yaml.safe_load(handle)
    inventory['all']['vars'].update({'renewal_initial_delay': delay, 'renewal_poll_interval': POLL_INTERVAL,
                                     'renewal_throttle': THROTTLE, 'renewal_wait_timeout': 10 * delay + 120})
    with open(path, 'w') as handle:
        yaml.safe_dump(inventory, handle)
    return path


def _load():
    return ' '.join('%.2f' % value for value in os.getloadavg())


def _run(run_playbook, playbook, kind, setting, size, delay, env, python, work, first_customer, code):
    name = '%s-%s-%d-%d' % (kind, setting, size, delay)
    root = os.path.join(work, 'wave-' + name)
    service_delay = 0 if kind == 'submit' else delay
    with RunningSandbox(os.path.join(root, 'sandbox'), retrieval_delay=service_delay) as sandbox:
        hosts = fleet.build(root, sandbox.directory, size, lambda index: 45, prefix='w', first_customer=first_customer)
        inventory = _inventory(root, sandbox, hosts, python, service_delay)
        summary = os.path.join(root, 'summary.json')
        sandbox.reset_calls()
        load_before = _load()
        started = datetime.datetime.now(datetime.timezone.utc)
        result = run_playbook(playbook, inventory, 'wave-' + name, env,
                              ['-e', 'incomes_register_renew_summary_file=' + summary])
        load_after = _load()
        calls = sandbox.calls()
    renewed = None
    if os.path.exists(summary):
        with open(summary) as handle:
            renewed = sum(1 for row in json.load(handle).values() if row['status'] == 'renewed')
    row = dict(result, kind=kind, setting=setting, hosts=size, delay=delay, renewed=renewed, calls=calls, code=code,
               renew_per_host=calls['renewCertificate'] / float(size), get_per_host=calls['getCertificate'] / float(size),
               peak=calls['peak_concurrent'], throttle=THROTTLE, poll_interval=POLL_INTERVAL,
               measured=started.strftime('%Y-%m-%d %H:%M UTC'), load_before=load_before, load_after=load_after,
               # The old playbook writes no summary; its renewals are counted by the service.
               ok=result['rc'] == 0 and calls['renewCertificate'] == size and renewed in (None, size))
    print('  %-10s N=%-4d D=%-3d pipelining %-3s wall %7.1f s  cpu %6.1f s  renew/host %.2f  get/host %.2f  '
          'peak %d  rc %d  load %s -> %s' % (
              kind, size, delay, setting, row['wall'], row['cpu'], row['renew_per_host'], row['get_per_host'],
              row['peak'], row['rc'], load_before, load_after), flush=True)
    return row


def measure(run_playbook, environments, points, python, work, renew, sequential, roles=('new', 'old'), saved=None,
            code=None):
    """points: [(N, D)]; environments: {'off': env, 'on': env}; roles: 'new' (submit + wave) and/or 'old'.

    saved(row) is called after every run (to merge it into the results file at once). Returns the rows.
    """
    playbooks = {'submit': renew, 'wave': renew, 'sequential': sequential}
    kinds = [kind for kind in KINDS if any(kind in ROLES[role] for role in roles)]
    rows = []
    # Customer ids only need to be unique within a sandbox; every run has its own.
    for size, delay in points:
        for setting, env in environments.items():
            for kind in kinds:
                row = _run(run_playbook, playbooks[kind], kind, setting, size, delay, env, python, work, 6000000,
                           code)
                rows.append(row)
                if saved:
                    saved(row)
    return rows


# -- the results file ------------------------------------------------------------------------------

def _key(row):
    return (row['kind'], row['hosts'], row['delay'], row['setting'])


def merge(path, new_rows, fresh=False, lock_path=None, then=None):
    """Merge rows into the JSON results file under a lock (lock_path); then(rows), still under the lock,
    renders them (two invocations may finish runs at the same moment). Returns every row now in it."""
    with open(lock_path or path + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = []
        if os.path.exists(path) and not fresh:
            with open(path) as handle:
                rows = json.load(handle)['runs']
        replaced = set(_key(row) for row in new_rows)
        rows = [row for row in rows if _key(row) not in replaced] + list(new_rows)
        rows.sort(key=lambda row: (row['delay'], row['hosts'], row['setting'], KINDS.index(row['kind'])))
        with open(path + '.tmp', 'w') as handle:
            json.dump({'runs': rows}, handle, indent=1, sort_keys=True)
            handle.write('\n')
        os.replace(path + '.tmp', path)
        if then:
            then(rows)
    return rows


def table_points(rows):
    """One table row per (N, D, pipelining) that has a wave run: with its ideal and the old role when measured."""
    by_key = dict((_key(row), row) for row in rows)
    found = []
    for row in rows:
        if row['kind'] != 'wave':
            continue
        submit = by_key.get(('submit',) + _key(row)[1:])
        old = by_key.get(('sequential',) + _key(row)[1:])
        ideal = row['delay'] + submit['wall'] if submit else None
        found.append({
            'hosts': row['hosts'], 'delay': row['delay'], 'setting': row['setting'], 'wall': row['wall'],
            'cpu': row['cpu'], 'ideal': ideal, 'old_wall': old['wall'] if old else None,
            'old_cpu': old['cpu'] if old else None, 'old_ok': old and old['ok'],
            'renew_per_host': row['renew_per_host'], 'get_per_host': row['get_per_host'], 'peak': row['peak'],
            'old_peak': old['peak'] if old else None, 'throttle': row['throttle'], 'ok': row['ok'],
            'measured': row['measured'], 'code': row.get('code') or '-', 'load': row['load_before'].split()[0] + ' / ' + row['load_after'].split()[0],
            'old_measured': old['measured'] if old else None,
            'old_load': old['load_before'].split()[0] + ' / ' + old['load_after'].split()[0] if old else None,
            'met': bool(row['ok'] and ideal and row['wall'] <= 2 * ideal and row['peak'] <= row['throttle'] and
                        row['get_per_host'] <= 1 + float(row['delay']) / row['poll_interval'] and
                        row['renew_per_host'] == 1.0),
        })
    # Old-role runs without a wave run of their own still belong in the plot.
    for row in rows:
        if row['kind'] == 'sequential' and ('wave',) + _key(row)[1:] not in by_key:
            found.append({'hosts': row['hosts'], 'delay': row['delay'], 'setting': row['setting'], 'wall': None,
                          'old_wall': row['wall'], 'old_cpu': row['cpu'], 'old_peak': row['peak'], 'old_ok': row['ok'],
                          'old_measured': row['measured'], 'code': row.get('code') or '-',
                          'old_load': row['load_before'].split()[0] + ' / ' + row['load_after'].split()[0]})
    found.sort(key=lambda point: (point['delay'], point['hosts'], point['setting']))
    return found


def _number(value, pattern='%.1f'):
    return pattern % value if value is not None else '-'


def markdown(rows):
    table = table_points(rows)
    lines = ['### Renewal wave', '',
             'N hosts inside the window at once, a service that issues D seconds after the request, throttle %d, '
             'initial delay D, poll interval %d s, forks 10. ideal = D + the submission time (the same wave against '
             'a service that issues at once); old = the renewal task waiting inside the throttle '
             '(bench/playbooks/renew_sequential.yml); CPU is user + system of the run\'s whole process tree (not the '
             'sandbox). Target: wall <= 2 x ideal, 1 RenewCertificate per host, '
             'GetCertificate per host <= 1 + D / poll interval, peak concurrent calls (the sandbox\'s counter) <= '
             'throttle. Load is the 1-minute load average before / after the run (2 CPUs, shared machine). Every '
             'run is its own `ansible-playbook` against its own sandbox; the rows are merged from the runs in '
             '[bench/wave-results.json](../bench/wave-results.json); code is the last commit that changed plugins/, '
             'roles/, playbooks/ or meta/ when the wave ran (- where it was not recorded).' % (THROTTLE, POLL_INTERVAL),
             '',
             '| N | D (s) | pipelining | wall (s) | ideal (s) | wall / ideal | old wall (s) | old / new '
             '| CPU s (old) | RenewCertificate / host | GetCertificate / host | peak concurrent (old) | target met '
             '| measured (UTC) | load (old) | code |',
             '| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- '
             '| --- |']
    for point in table:
        if point['wall'] is None:
            lines.append('| %d | %d | %s | - | - | - | %.1f | - | (%.0f) | - | - | (%d) | - | %s | (%s) | %s |' % (
                point['hosts'], point['delay'], point['setting'], point['old_wall'], point['old_cpu'], point['old_peak'],
                point['old_measured'], point['old_load'], point['code']))
            continue
        measured = point['measured']
        if point['old_measured'] and point['old_measured'][:10] != measured[:10]:
            measured += ' (old %s)' % point['old_measured']
        elif point['old_measured'] and point['old_measured'] != measured:
            measured += ' (old %s)' % point['old_measured'][11:16]
        lines.append('| %d | %d | %s | %.1f | %s | %s | %s | %s | %.0f%s | %.2f | %.2f | %d%s | %s | %s | %s%s | %s |' % (
            point['hosts'], point['delay'], point['setting'], point['wall'], _number(point['ideal']),
            _number(point['ideal'] and point['wall'] / point['ideal'], '%.2f'), _number(point['old_wall']),
            _number(point['old_wall'] and point['old_wall'] / point['wall'], '%.1f'),
            point['cpu'], ' (%.0f)' % point['old_cpu'] if point['old_cpu'] is not None else '',
            point['renew_per_host'], point['get_per_host'], point['peak'],
            ' (%d)' % point['old_peak'] if point['old_peak'] is not None else '',
            'yes' if point['met'] else '**no**', measured, point['load'],
            ' (%s)' % point['old_load'] if point['old_load'] else '', point['code']))
    if any(not (point.get('ok', True) and point.get('old_ok') in (None, True)) for point in table):
        lines += ['', '**Some runs failed (non-zero exit, or not one RenewCertificate per host): see the logs '
                  'named in bench/wave-results.json.**']
    plotted = plot_delay(rows)
    if plotted is not None:
        lines += ['', '![Wall time of the renewal wave against N at D = %d s, old and new role, pipelining off and '
                  'on](benchmarks-wave.svg)' % plotted]
    lines.append('')
    return '\n'.join(lines) + '\n'


# -- the plot -------------------------------------------------------------------------------------

def plot_delay(rows):
    """The D with the most distinct N (the larger D on a tie): the one the plot shows."""
    sizes = {}
    for row in rows:
        if row['kind'] in ('wave', 'sequential'):
            sizes.setdefault(row['delay'], set()).add(row['hosts'])
    if not sizes:
        return None
    return max(sizes, key=lambda delay: (len(sizes[delay]), delay))


def _ticks(maximum, count=5):
    """Round tick values from 0 to at least maximum."""
    raw = maximum / float(count)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(magnitude * factor for factor in (1, 2, 2.5, 5, 10) if magnitude * factor >= raw)
    return [step * index for index in range(int(math.ceil(maximum / step)) + 1)]


def svg(rows, path):
    """Wall time against N at one D: old role and wave, pipelining off and on, and the ideal (hand-written SVG)."""
    delay = plot_delay(rows)
    if delay is None:
        return
    series = {}
    names = {'wave': 'new role (wave)', 'sequential': 'old role', 'submit': 'ideal (D + submissions)'}
    for row in rows:
        if row['delay'] != delay:
            continue
        wall = row['wall'] + delay if row['kind'] == 'submit' else row['wall']
        series.setdefault((row['kind'], row['setting']), []).append((row['hosts'], wall))
    width, height, left, bottom, top, right = 760, 400, 64, 48, 40, 290
    plot_w, plot_h = width - left - right, height - top - bottom
    x_ticks = _ticks(max(n for values in series.values() for n, dummy in values))
    y_ticks = _ticks(max(wall for values in series.values() for dummy, wall in values))

    def xy(n, wall):
        return left + plot_w * n / float(x_ticks[-1]), top + plot_h * (1 - wall / float(y_ticks[-1]))
    styles = {('sequential', 'off'): ('#d62728', ''), ('sequential', 'on'): ('#ff7f0e', ' stroke-dasharray="6 3"'),
              ('wave', 'off'): ('#1f77b4', ''), ('wave', 'on'): ('#17becf', ' stroke-dasharray="6 3"'),
              ('submit', 'off'): ('#7f7f7f', ' stroke-dasharray="2 3"'),
              ('submit', 'on'): ('#bcbcbc', ' stroke-dasharray="2 3"')}
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
             'font-family="sans-serif" font-size="12">' % (width, height, width, height),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="20" font-size="14">Renewal of N hosts due at once, service delay D = %d s, throttle %d'
             '</text>' % (left, delay, THROTTLE)]
    for value in x_ticks:
        x, dummy = xy(value, 0)
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eeeeee"/>' % (x, top, x, top + plot_h))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%g</text>' % (x, top + plot_h + 16, value))
    for value in y_ticks:
        dummy, y = xy(0, value)
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eeeeee"/>' % (left, y, left + plot_w, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (left - 6, y + 4, value))
    parts += ['<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top + plot_h, left + plot_w,
                                                                          top + plot_h),
              '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top, left, top + plot_h),
              '<text x="%d" y="%d" text-anchor="middle">hosts due at once (N)</text>' % (
                  left + plot_w / 2, height - 10),
              '<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">wall time of the run (s)</text>'
              % (top + plot_h / 2, top + plot_h / 2)]
    order = [(kind, setting) for kind in ('sequential', 'wave', 'submit') for setting in ('off', 'on')]
    legend = 0
    for key in order:
        if key not in series:
            continue
        colour, dash = styles[key]
        values = sorted(series[key])
        parts.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>' % (
            ' '.join('%.1f,%.1f' % xy(n, wall) for n, wall in values), colour, dash))
        for n, wall in values:
            parts.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s, pipelining %s: N=%d, %.1f s'
                         '</title></circle>' % (xy(n, wall) + (colour, names[key[0]], key[1], n, wall)))
        y = top + 10 + 20 * legend
        parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>' % (
            left + plot_w + 14, y - 4, left + plot_w + 40, y - 4, colour, dash))
        parts.append('<text x="%d" y="%d">%s, pipelining %s</text>' % (left + plot_w + 46, y, names[key[0]], key[1]))
        legend += 1
    parts.append('</svg>')
    with open(path, 'w') as handle:
        handle.write('\n'.join(parts) + '\n')
