"""Merge the matrix results (.build/matrix/results/*.json, written by noxfile.py's sessions) into
docs/compatibility.json and render docs/compatibility.md from it. `make matrix` runs this after nox;
`make matrix-report` runs it alone. A session's newest result replaces its older one; a combination
that has no result is shown as not run."""
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(ROOT, '.build', 'matrix', 'results')
DATA = os.path.join(ROOT, 'docs', 'compatibility.json')
PAGE = os.path.join(ROOT, 'docs', 'compatibility.md')

sys.path.insert(0, ROOT)
import noxfile  # noqa: E402  the matrix's definition: what should have run


def merge():
    data = {'results': {}}
    if os.path.exists(DATA):
        with open(DATA) as handle:
            data = json.load(handle)
    for path in sorted(glob.glob(os.path.join(RESULTS, '*.json'))):
        with open(path) as handle:
            record = json.load(handle)
        if 'outcome' not in record:
            record['outcome'] = 'did not finish'
        old = data['results'].get(record['session'])
        if old is None or old.get('started', '') <= record.get('started', ''):
            data['results'][record['session']] = record
    # A session the matrix no longer has (renamed or dropped) is not a result of this matrix.
    expected = set(expected_sessions())
    data['results'] = dict((name, r) for name, r in data['results'].items() if name in expected)
    return data


def mark(record, step=None):
    if record is None:
        return 'not run'
    if step is not None:
        default = 'did not finish' if record.get('outcome') == 'did not finish' else 'not run'
        outcome = record.get('steps', {}).get(step, {}).get('outcome', default)
    else:
        outcome = record['outcome']
    return {'passed': 'passed', 'failed': '**failed**', 'did not finish': '**did not finish**'}.get(outcome, outcome)


def by_kind(data, kind):
    return [r for r in data['results'].values() if r.get('kind') == kind]


def render(data):
    results = data['results']
    lines = [
        '<!-- Written by `make matrix` (tests/ci/matrix_report.py) from docs/compatibility.json, the results of',
        '     the sessions of noxfile.py as they ran on the project\'s machine. Do not edit by hand. -->',
        '',
        '# Compatibility',
        '',
        'What was run, and how it ended, for each supported combination. `make matrix` runs it (nox sessions',
        'in noxfile.py; one session: `make matrix NOX_ARGS="-s \'host(python=\'3.8\', libs=\'oldest\')\'"`) and',
        'rewrites this page from its own results; `make test` runs one combination (the first row\'s',
        'ansible-core 2.19 on Python 3.11 with the newest libraries).',
        '',
    ]
    dates = sorted(r.get('finished') or r.get('started', '') for r in results.values())
    if dates:
        lines += ['Results from %s to %s (UTC).' % (dates[0][:16].replace('T', ' '), dates[-1][:16].replace('T', ' ')), '']

    # Controller.
    pythons = sorted({p for ps in noxfile.CONTROLLER.values() for p in ps}, key=lambda v: tuple(map(int, v.split('.'))))
    lines += ['## Controller: ansible-core x Python', '',
              'ansible-test sanity (every test, no ignore file) and ansible-test units on each controller Python'
              ' the ansible-core supports; ansible-lint (production profile) and the integration core (enroll,'
              ' a no-op rerun, renew inside the window, audit, against the sandbox over HTTPS) once per minor'
              ' version, on its newest Python.', '',
              '| ansible-core | ' + ' | '.join('Python %s: sanity / units' % p for p in pythons)
              + ' | integration core | ansible-lint |',
              '| --- | ' + ' | '.join('---' for p in pythons) + ' | --- | --- |']
    for core, supported in noxfile.CONTROLLER.items():
        exact = set()
        cells = []
        for python in pythons:
            if python not in supported:
                cells.append('(not supported)')
                continue
            record = results.get('sanity_units(%s-py%s)' % (core, python))
            if record:
                exact.add(record.get('ansible_core', ''))
                cells.append('%s / %s' % (mark(record, 'sanity'), mark(record, 'units')))
            else:
                cells.append('not run')
        integration = results.get("integration(core='%s')" % core)
        lint = results.get("lint(core='%s')" % core)
        for record in (integration, lint):
            if record:
                exact.add(record.get('ansible_core', ''))
        integration_cell = mark(integration) + (' (Python %s)' % integration['python'] if integration else '')
        lint_cell = mark(lint) + (' (ansible-lint %s)' % lint['ansible_lint'] if lint else '')
        name = '%s (%s)' % (core, ', '.join(sorted(v for v in exact if v))) if exact else core
        lines.append('| %s | %s | %s | %s |' % (name, ' | '.join(cells), integration_cell, lint_cell))
    lines.append('')

    # Managed hosts.
    lines += ['## Managed hosts: Python x libraries', '',
              'The integration core with the modules running on the host\'s Python (a virtual environment of'
              ' that Python as `ansible_python_interpreter`), the controller being the project\'s (ansible-core'
              ' from requirements.txt). "oldest" is each library\'s lower bound for that Python from requirements.txt'
              ' (urllib3 is requests\' dependency, listed because it is what newer Pythons break), or, where'
              ' that release has no wheel for the Python, the oldest release of noxfile.py\'s list that has one;'
              ' "newest" is the newest that pip installs today within requirements.txt.', '',
              '| host Python | libraries | oldest: versions | oldest | newest: versions | newest |',
              '| --- | --- | --- | --- | --- | --- |']
    for python in noxfile.HOST_PYTHONS:
        row = ['%s' % python, ', '.join(noxfile.LIBRARIES)]
        for libs in ('oldest', 'newest'):
            record = results.get("host(python='%s', libs='%s')" % (python, libs))
            if record:
                row[0] = record.get('python', python)
                row.append(', '.join(record['libraries'].get(name, '?') for name in noxfile.LIBRARIES))
                row.append(mark(record))
            else:
                row += ['', 'not run']
        lines.append('| ' + ' | '.join(row) + ' |')
    controllers = sorted({r['controller']['ansible-core'] for r in by_kind(data, 'host') if r.get('controller')})
    if controllers:
        lines += ['', 'Controller for these runs: ansible-core %s.' % ', '.join(controllers)]
    lines.append('')

    # Floors.
    lines += ['## How the lower bounds were found', '',
              'The bounds pass (host sessions, "oldest" above). Below each bound, one release of noxfile.py\'s list'
              ' at a time, with the other libraries at their bounds, until a release fails the integration core or does'
              ' not install: the bound is the oldest release that passes. On the oldest host Python, and again on'
              ' each Python from which requirements.txt raises a bound.', '']
    for python in noxfile.FLOOR_PYTHONS:
        floors = results.get("floors(python='%s')" % python)
        bounds = noxfile.floors_for(python)
        band = [p for p in noxfile.HOST_PYTHONS if noxfile.floors_for(p) == bounds]
        lines += ['### Host Python %s (bounds: %s)' % (', '.join(band), ', '.join(
            '%s %s' % (name, bounds[name]) for name in noxfile.LIBRARIES)), '']
        if not floors:
            lines += ['Not run yet.', '']
            continue
        lines += ['| library | bound | below the bound (newest first) |', '| --- | --- | --- |']
        for library in noxfile.LIBRARIES:
            tried = floors.get('search', {}).get(library, [])
            lines.append('| %s | %s | %s |' % (library, floors['floors'].get(library, '?'), '; '.join(
                _tried(t) for t in tried) or 'no older release in the list: none tried'))
        lines += ['', 'On Python %s; session %s.' % (floors.get('python', '?'), mark(floors))]
        changed = dict((name, version) for name, version in bounds.items() if floors['floors'].get(name) != version)
        if changed:
            lines += ['', 'The bounds changed after this run, to %s; the host sessions\' "oldest" rows show the'
                      ' versions each of them ran with.' % ', '.join('%s %s' % item for item in sorted(changed.items()))]
        lines.append('')

    missing = [name for name in expected_sessions() if name not in results]
    failed = sorted(name for name, r in results.items() if r.get('outcome') != 'passed')
    lines += ['## Summary', '']
    lines.append('%d of %d sessions have a result; %d passed.' % (
        len(expected_sessions()) - len(missing), len(expected_sessions()),
        sum(1 for name in expected_sessions() if results.get(name, {}).get('outcome') == 'passed')))
    if failed:
        lines += ['', 'Not passed: ' + ', '.join('`%s`' % name for name in failed) + '.']
    if missing:
        lines += ['', 'Not run: ' + ', '.join('`%s`' % name for name in missing) + '.']
    commits = sorted({r.get('commit') or 'unrecorded' for r in results.values()})
    lines += ['', 'Commits the results were recorded on (+changes: with uncommitted changes): %s.' % ', '.join(commits)]
    changed = _changed_between(sorted({c.split('+')[0] for c in commits if c != 'unrecorded'}))
    if changed is not None:
        listed = ', '.join('`%s`' % path for path in changed) if changed else 'none'
        lines += ['', 'Files that differ between these commits: %s.' % listed]
    lines.append('')
    return '\n'.join(lines)


def _tried(step):
    text = '%s %s' % (step['version'], step['outcome'])
    if step.get('import_error'):
        text += ' (importing it: `%s`)' % step['import_error'].replace('|', '\\|').replace('`', "'")
    elif step['outcome'] == 'failed':
        text += ' (it imports; the integration core fails: see the session\'s log)'
    return text


def _changed_between(commits):
    """The files that differ between any two of these commits (all against the newest), or None if git cannot tell."""
    def git(*args):
        completed = subprocess.run(('git',) + args, cwd=ROOT, capture_output=True, text=True, check=False)
        return completed.stdout.split() if completed.returncode == 0 else None
    if len(commits) < 2:
        return []
    order = git('rev-list', '--no-walk=sorted', *commits)
    if not order:
        return None
    changed = set()
    for commit in order[1:]:
        files = git('diff', '--name-only', commit, order[0])
        if files is None:
            return None
        changed.update(files)
    return sorted(changed - {'docs/compatibility.json', 'docs/compatibility.md'})


def expected_sessions():
    names = ["integration(core='%s')" % core for core in noxfile.CONTROLLER]
    names += ["lint(core='%s')" % core for core in noxfile.CONTROLLER]
    names += ["host(python='%s', libs='%s')" % (p, libs) for libs in ('oldest', 'newest') for p in noxfile.HOST_PYTHONS]
    names += ["floors(python='%s')" % p for p in noxfile.FLOOR_PYTHONS]
    names += ['sanity_units(%s-py%s)' % (core, p) for core, ps in noxfile.CONTROLLER.items() for p in ps]
    return names


def main():
    data = merge()
    with open(DATA, 'w') as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.write('\n')
    with open(PAGE, 'w') as handle:
        handle.write(render(data))
    print('docs/compatibility.md: %d session results' % len(data['results']))


if __name__ == '__main__':
    main()
