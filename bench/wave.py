"""The renewal wave (issue 15): N hosts due at once against a service that issues after D seconds.

Each point runs the renew playbook (the role's wave) and, for comparison, bench/playbooks/renew_sequential.yml
(the role's renewal task before the wave, waiting inside the throttle), with ANSIBLE_PIPELINING off and on.
The ideal is D plus the submission time, taken as the wall time of the same wave against a service that
issues at once (submissions, one poll round and the run's fixed costs).
"""
import json
import os

import fleet
import yaml
from irsandbox.testing import RunningSandbox

THROTTLE = 5
# The role's own schedule, scaled down so that a small D is not dominated by the 30 s default.
POLL_INTERVAL = 5


def _inventory(root, sandbox, hosts, python, delay):
    path = fleet.write_inventory(os.path.join(root, 'inventory.yml'), root, sandbox, hosts, python)
    with open(path) as handle:
        inventory = yaml.safe_load(handle)
    inventory['all']['vars'].update({'renewal_initial_delay': delay, 'renewal_poll_interval': POLL_INTERVAL,
                                     'renewal_throttle': THROTTLE, 'renewal_wait_timeout': 10 * delay + 120})
    with open(path, 'w') as handle:
        yaml.safe_dump(inventory, handle)
    return path


def _run(run_playbook, sandbox, playbook, size, delay, env, python, work, label, first_customer):
    root = os.path.join(work, 'wave-%s-%d-%d' % (label, size, delay))
    hosts = fleet.build(root, sandbox.directory, size, lambda index: 45, prefix='w', first_customer=first_customer)
    inventory = _inventory(root, sandbox, hosts, python, delay)
    summary = os.path.join(root, 'summary.json')
    sandbox.reset_calls()
    result = run_playbook(playbook, inventory, 'wave-%s-%d-%d' % (label, size, delay), env,
                          ['-e', 'incomes_register_renew_summary_file=' + summary])
    calls = sandbox.calls()
    renewed = size
    if os.path.exists(summary):
        with open(summary) as handle:
            renewed = sum(1 for row in json.load(handle).values() if row['status'] == 'renewed')
    row = dict(result, hosts=size, delay=delay, label=label, renewed=renewed,
               renew_per_host=calls['renewCertificate'] / float(size), get_per_host=calls['getCertificate'] / float(size),
               peak=calls['peak_concurrent'], ok=result['rc'] == 0 and calls['renewCertificate'] == size)
    print('  wave N=%-4d D=%-3d %-22s wall %6.1f s  renew/host %.2f  get/host %.2f  peak %d  rc %d' % (
        size, delay, label, row['wall'], row['renew_per_host'], row['get_per_host'], row['peak'], row['rc']), flush=True)
    return row


def measure(run_playbook, environments, points, python, work, renew, sequential):
    """points: [(N, D)]; environments: {'default': env, 'pipelining': env}. Returns the rows."""
    rows = []
    customer = 6000000
    for size, delay in points:
        for setting, env in environments.items():
            # Submission time: the same wave against a service that issues at once and no initial delay.
            with RunningSandbox(os.path.join(work, 'wave-sandbox-0-%d-%s' % (size, setting)), retrieval_delay=0) as fast:
                base = _run(run_playbook, fast, renew, size, 0, env, python, work, 'submit-' + setting,
                            customer)
            customer += size
            with RunningSandbox(os.path.join(work, 'wave-sandbox-%d-%d-%s' % (delay, size, setting)),
                                retrieval_delay=delay) as sandbox:
                new = _run(run_playbook, sandbox, renew, size, delay, env, python, work,
                           'wave-' + setting, customer)
                customer += size
                old = _run(run_playbook, sandbox, sequential, size, delay, env, python, work,
                           'sequential-' + setting, customer)
                customer += size
            new['ideal'] = delay + base['wall']
            new['old_wall'] = old['wall']
            new['setting'] = setting
            new['met'] = new['ok'] and new['wall'] <= 2 * new['ideal'] and new['peak'] <= THROTTLE and \
                new['get_per_host'] <= 1 + float(delay) / POLL_INTERVAL and new['renew_per_host'] == 1.0
            rows.append(new)
    return rows


def markdown(rows):
    lines = ['### Renewal wave', '',
             'N hosts inside the window at once, a service that issues D seconds after the request, throttle %d, '
             'initial delay D, poll interval %d s. ideal = D + the submission time (the same wave against a service '
             'that issues at once); old = the renewal task waiting inside the throttle '
             '(bench/playbooks/renew_sequential.yml). Target: wall <= 2 x ideal.' % (THROTTLE, POLL_INTERVAL), '',
             '| N | D (s) | pipelining | wall (s) | ideal (s) | wall / ideal | old wall (s) | RenewCertificate / host '
             '| GetCertificate / host | peak concurrent | target met |',
             '| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |']
    for row in rows:
        lines.append('| %d | %d | %s | %.1f | %.1f | %.2f | %.1f | %.2f | %.2f | %d | %s |' % (
            row['hosts'], row['delay'], 'on' if row['setting'] == 'pipelining' else 'off', row['wall'], row['ideal'],
            row['wall'] / row['ideal'], row['old_wall'], row['renew_per_host'], row['get_per_host'], row['peak'],
            'yes' if row['met'] else 'no'))
    lines += ['', '![Wall time of the renewal wave against N, old and new role](benchmarks-wave.svg)', '']
    return '\n'.join(lines) + '\n'


def svg(rows, path):
    """Wall time against N, for the old role and the wave, one line per pipelining setting (hand-written SVG)."""
    width, height, left, bottom, top, right = 640, 360, 60, 40, 30, 170
    series = {}
    for row in rows:
        series.setdefault('wave, pipelining ' + ('on' if row['setting'] == 'pipelining' else 'off'), []).append(
            (row['hosts'], row['wall']))
        series.setdefault('old, pipelining ' + ('on' if row['setting'] == 'pipelining' else 'off'), []).append(
            (row['hosts'], row['old_wall']))
    max_n = max(n for points in series.values() for n, dummy in points) or 1
    max_wall = max(wall for points in series.values() for dummy, wall in points) or 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def xy(n, wall):
        return left + plot_w * n / float(max_n), top + plot_h * (1 - wall / float(max_wall))
    colours = ['#1f77b4', '#aec7e8', '#d62728', '#ff9896']
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">'
             % (width, height),
             '<rect width="100%" height="100%" fill="white"/>',
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top + plot_h, left + plot_w, top + plot_h),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top, left, top + plot_h),
             '<text x="%d" y="%d" text-anchor="middle">hosts (N)</text>' % (left + plot_w / 2, height - 8),
             '<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">wall time (s)</text>'
             % (top + plot_h / 2, top + plot_h / 2)]
    for fraction in (0, 0.5, 1):
        x, y = xy(max_n * fraction, max_wall * fraction)
        parts.append('<text x="%.0f" y="%d" text-anchor="middle">%.0f</text>' % (x, top + plot_h + 16, max_n * fraction))
        parts.append('<text x="%d" y="%.0f" text-anchor="end">%.0f</text>' % (left - 6, y + 4, max_wall * fraction))
    for index, (name, points) in enumerate(sorted(series.items(), key=lambda item: item[0], reverse=True)):
        colour = colours[index % len(colours)]
        coords = ' '.join('%.1f,%.1f' % xy(n, wall) for n, wall in sorted(points))
        parts.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>' % (coords, colour))
        for n, wall in points:
            parts.append('<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>' % (xy(n, wall) + (colour,)))
        parts.append('<text x="%d" y="%d" fill="%s">%s</text>' % (left + plot_w + 10, top + 16 * (index + 1), colour, name))
    parts.append('</svg>')
    with open(path, 'w') as handle:
        handle.write('\n'.join(parts) + '\n')
