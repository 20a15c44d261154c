# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The renew playbook's outcome over the play's hosts: one line per certificate, the certificates that need a
human, and the JSON document for the pipeline.

Pure functions without Ansible, run once on the controller by the renewal_report action. Each host's outcome is
the renewal role's renewal_summary (plugin_utils/renewal_outcome.py).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from ansible_collections.incomes_register.certificates.plugins.plugin_utils.renewal_outcome import ENDED_VALID

NO_OUTCOME = {
    'status': 'unreachable',
    'message': 'No outcome: the host was unreachable, or the play stopped on it before the role could record one '
               "(for example, its variables failed the role's argument validation); its error is above.",
}


def outcomes(host_outcomes):
    """{host: its renewal_summary}, NO_OUTCOME for a host without one (an empty or missing value)."""
    return dict((host, outcome if isinstance(outcome, dict) and outcome else dict(NO_OUTCOME))
                for host, outcome in host_outcomes.items())


def certificate_rows(host_outcomes):
    """One row per certificate; a host's outcome that lists none is one row with the host's status."""
    rows = []
    for host, outcome in host_outcomes.items():
        listed = outcome.get('certificates')
        listed = [row for row in listed if isinstance(row, dict)] if isinstance(listed, list) else []
        rows.extend([dict(row, host=row.get('host') or host) for row in listed] or [dict(outcome, host=host)])
    return rows


def _text(value):
    return '' if value is None else str(value)


def line(row):
    """STATUS host customer environment path message: what the playbook prints for a certificate."""
    return ' '.join([_text(row.get('status')).upper(), _text(row.get('host'))]
                    + [_text(row.get(key)) for key in ('customer_id', 'environment', 'path', 'message')])


def attention(rows):
    """host=status (customer environment path) of each certificate that did not end valid."""
    named = []
    for row in rows:
        if row.get('status') in ENDED_VALID:
            continue
        what = ' '.join(_text(row.get(key)) for key in ('customer_id', 'environment', 'path') if row.get(key))
        # A row that names neither customer nor path is the host's own (unreachable, stopped early).
        named.append('%s=%s (%s)' % (row.get('host'), row.get('status'), what)
                     if row.get('customer_id') or row.get('path') else '%s=%s' % (row.get('host'), row.get('status')))
    return named


def attention_message(named):
    return '%d certificate(s) need attention: %s' % (len(named), '; '.join(named))


def document(host_outcomes):
    """The summary file's text: {host: outcome} as indented JSON, keys sorted, one newline at the end.

    A value JSON has no type for (none that the role records) is written as its text rather than lose the file.
    """
    return json.dumps(host_outcomes, indent=4, sort_keys=True, separators=(',', ': '), default=str) + '\n'
