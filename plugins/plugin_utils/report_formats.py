# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every controller-side report shares: the formats, cell escaping for CSV, HTML and Prometheus, the
generation time and the HTML page around a report's table."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import calendar
import datetime
import hashlib
import html
import re

FORMAT_EXTENSIONS = {'html': 'html', 'csv': 'csv', 'json': 'json', 'prometheus': 'prom'}
FORMATS = ['html', 'csv', 'json', 'prometheus']

# Spreadsheets run a cell that starts with one of these as a formula. Text from the hosts (paths,
# subjects read from whatever file sits there, error messages) must not become one when an auditor
# opens the CSV, so such a text cell gets a leading apostrophe; numbers are left as they are.
_FORMULA_STARTS = ('=', '+', '-', '@', '\t', '\r')

GENERATED_RE = re.compile(r'<time class="generated" datetime="[^"]*">[^<]*</time>')


def csv_cell(value):
    """A CSV cell value that no spreadsheet runs as a formula."""
    if value is None:
        return ''
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def html_text(value):
    """value as escaped HTML text, None as empty."""
    return html.escape('' if value is None else str(value), quote=True)


def _label_value(value):
    text = '' if value is None else str(value)
    return text.replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def prometheus_labels(pairs):
    """A Prometheus label set from (name, value) pairs, values escaped."""
    return '{%s}' % ','.join('%s="%s"' % (name, _label_value(value)) for name, value in pairs)


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def epoch(moment):
    return calendar.timegm(moment.astimezone(datetime.timezone.utc).utctimetuple())


def plural(count, word, many=None):
    """'1 host', '3 hosts'."""
    return '%d %s' % (count, word if count == 1 else (many or word + 's'))


def content_policy(script=''):
    """The page's Content-Security-Policy: nothing loads from anywhere, only the inline style applies and only
    the given inline script (by its SHA-256) runs, even if some host-controlled text ever slipped through."""
    scripts = "'none'"
    if script:
        scripts = "'sha256-%s'" % base64.b64encode(hashlib.sha256(script.encode('utf-8')).digest()).decode('ascii')
    return ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src %s; base-uri 'none'; "
            "form-action 'none'" % scripts)


def page(title, meta_html, tone, headline, badges_html, main_html, legend_html, extra_css='', script=''):
    """A self-contained page (inline CSS, no external resource) people can read on a phone.

    meta_html, badges_html, main_html and legend_html are HTML already; title and headline are text.
    script is a constant of the caller (never data: host-controlled text stays in the HTML, escaped),
    run at the end of the body; the page is complete without it.
    """
    if '</' in script:
        raise ValueError('an inline script must not contain "</"')
    return """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="meta">{meta}</p>
<p class="headline {tone}"><span class="dot"></span>{headline}</p>
<ul class="badges">{badges}</ul>
</header>
<main>
{main}
</main>
<footer>
<dl>
{legend}
</dl>
</footer>
{script}</body>
</html>
""".format(title=html_text(title), css=CSS + extra_css, meta=meta_html, tone=tone, headline=html_text(headline),
           badges=badges_html, main=main_html, legend=legend_html, policy=html_text(content_policy(script)),
           script='<script>%s</script>\n' % script if script else '')


def generated_html(generated_at):
    """The generation time as the <time> element comparable() blanks."""
    return '<time class="generated" datetime="%s">%s</time>' % (
        iso(generated_at), generated_at.astimezone(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))


# The page style of every report: layout, table, phone view, print, and the audit's status colours,
# which the preflight reuses for its own statuses.
CSS = """
:root{--ink:#1d2733;--muted:#5b6775;--line:#dde3ea;--bg:#f4f6f9;--card:#fff;
--expired:#c62828;--expired-bg:#fdecea;--critical:#e65100;--critical-bg:#fff1e0;
--renew:#f2b705;--renew-ink:#6b5000;--renew-bg:#fff9db;--ok:#2e7d32;--ok-bg:#eaf6eb;
--mismatch:#7b1fa2;--mismatch-bg:#f6ebfa;--restart:#1565c0;--restart-bg:#e8f0fb;--grey:#6b7280;--grey-bg:#eef0f3}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",Arial,sans-serif}
header{background:#14365d;color:#fff;padding:24px 20px 20px}
header h1{margin:0 0 4px;font-size:24px;font-weight:650;letter-spacing:-.01em}
.meta{margin:0;color:#c9d6e6;font-size:14px}
.headline{margin:16px 0 14px;font-size:18px;font-weight:600}
.headline .dot{display:inline-block;width:12px;height:12px;border-radius:50%;margin-right:8px;
vertical-align:baseline;background:var(--ok)}
.headline.bad .dot{background:#ff5a4f}.headline.warn .dot{background:var(--renew)}
.badges{display:flex;flex-wrap:wrap;gap:8px;margin:0;padding:0;list-style:none}
.badge{display:flex;align-items:baseline;gap:6px;padding:5px 14px;border-radius:999px;background:var(--c);
color:#fff;font-size:14px;font-weight:600}
.badge b{font-size:18px;font-variant-numeric:tabular-nums}
.badge.s-renew{color:var(--renew-ink)}
.badge.zero{background:transparent;color:#c9d6e6;box-shadow:inset 0 0 0 1px #3d5d82;font-weight:400}
main{padding:20px 20px 8px}
.table-wrap{background:var(--card);border:1px solid var(--line);border-radius:10px;overflow-x:auto;
box-shadow:0 1px 2px rgba(20,54,93,.06)}
table{border-collapse:collapse;width:100%;font-size:13px}
caption{text-align:left;padding:14px 16px 6px;font-weight:600;color:var(--muted)}
th{position:sticky;top:0;background:#f8fafc;text-align:left;font-weight:600;color:var(--muted);font-size:12px;
padding:8px 7px;border-bottom:2px solid var(--line);vertical-align:bottom}
th.num{text-align:right}
td{padding:8px 7px;border-bottom:1px solid var(--line);vertical-align:top}
tbody tr{background:var(--rbg)}
tbody tr td:first-child{border-left:6px solid var(--c)}
td.num{text-align:right;font-variant-numeric:tabular-nums;font-weight:650;white-space:nowrap}
td.num .replaced{display:block;font-size:11px;font-weight:600;color:var(--restart)}
td.date{white-space:nowrap;font-variant-numeric:tabular-nums}
td.host{font-weight:600;min-width:9em}
.nowrap{white-space:nowrap}
td.customer,td.status{white-space:nowrap}
td.environment{font-size:11.5px;letter-spacing:.03em;color:var(--muted)}
td.issuer{min-width:7em;font-size:12px;color:var(--muted)}
.mono{font-family:ui-monospace,"DejaVu Sans Mono","Liberation Mono",Menlo,monospace;font-size:11.5px}
td.serial{min-width:5.5em}
td.serial .mono{display:inline-block;max-width:8em;word-break:break-all}
td.path{min-width:9em}
td.note{min-width:10em}
.pill{display:inline-block;padding:2px 8px;border-radius:999px;background:var(--c);color:#fff;
font-size:11px;font-weight:700;letter-spacing:.02em;text-transform:uppercase;white-space:nowrap}
.s-expired{--c:var(--expired);--rbg:var(--expired-bg)}
.s-critical{--c:var(--critical);--rbg:var(--critical-bg)}
.s-renew{--c:var(--renew);--rbg:var(--renew-bg)}
.s-renew .pill,.pill.s-renew{color:var(--renew-ink)}
.s-ok{--c:var(--ok);--rbg:var(--card)}
.s-key-mismatch{--c:var(--mismatch);--rbg:var(--mismatch-bg)}
.s-restart-pending{--c:var(--restart);--rbg:var(--restart-bg)}
.s-missing,.s-unreadable,.s-unreachable{--c:var(--grey);--rbg:var(--grey-bg)}
.empty{padding:32px;text-align:center;color:var(--muted)}
footer{padding:8px 20px 32px;color:var(--muted);font-size:13px;max-width:72em}
footer dl{display:grid;grid-template-columns:max-content 1fr;gap:8px 12px;margin:8px 0 0;align-items:baseline}
footer dt{font-weight:600}footer dd{margin:0}
@media (max-width:760px){
header{padding:18px 16px 16px}header h1{font-size:20px}
main{padding:12px 10px 4px}footer{padding:8px 16px 24px}
footer dl{grid-template-columns:1fr;gap:2px}footer dd{margin-bottom:8px}
.table-wrap{background:none;border:0;box-shadow:none;overflow:visible}
table,tbody,tr,td{display:block;width:100%}
thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
caption{display:block;padding:4px 4px 8px}
tbody tr{margin:0 0 12px;border:1px solid var(--line);border-left:6px solid var(--c);border-radius:10px;
background:var(--card);overflow:hidden}
tbody tr td:first-child{border-left:0;background:var(--rbg)}
td{display:grid;grid-template-columns:120px 1fr;gap:8px;padding:6px 12px;border-bottom:1px solid var(--line);
text-align:left;align-items:baseline}
td>*{justify-self:start}
td.serial .mono{max-width:none}
td:last-child{border-bottom:0}
td::before{content:attr(data-label);font-weight:600;color:var(--muted)}
td.num{text-align:left}td.note{max-width:none}
td.empty-cell{display:none}
}
@media print{body{background:#fff}header{background:#fff;color:var(--ink)}.meta{color:var(--muted)}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}th{position:static}}
"""


def kind(value):
    """A value's type as a playbook author knows it: ansible-core 2.19 hands plugins tagged subclasses
    (_AnsibleTaggedStr, _AnsibleLazyTemplateList), whose names mean nothing in a message."""
    for name, types in (('null', type(None)), ('a boolean', bool), ('a number', (int, float)), ('a string', str),
                        ('a dict', dict), ('a list', (list, tuple))):
        if isinstance(value, types):
            return name
    return type(value).__name__
