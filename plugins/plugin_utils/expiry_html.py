# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's HTML page: headline, expiry timeline (inline SVG), the rows grouped by customer and by
host, and the table of every certificate, with a few lines of inline script for sorting and filtering.

Without the script the page is complete: the filter controls stay hidden, the table keeps the report's
order. Everything read from the hosts is escaped text or an escaped attribute value; the script is a
constant that reads the table's data attributes, so no host data is ever inside a <script>, and the
page's Content-Security-Policy lets nothing but that script (by its hash) and the inline style run or load.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re
from urllib.parse import quote

from ansible_collections.incomes_register.certificates.plugins.plugin_utils.expiry_report import (
    CRITICAL, EXPIRED, KEY_MISMATCH, MISSING, OK, RENEW, RESTART_PENDING, SEVERITY, STATUSES, TIMELINE_STACK, UNDATED,
    UNREACHABLE, UNREADABLE, effective_days, groups, status_counts, timeline)
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.report_formats import (
    generated_html, html_text, page, plural)

_LABELS = {
    EXPIRED: 'expired', CRITICAL: 'critical', KEY_MISMATCH: 'key mismatch', RESTART_PENDING: 'restart pending',
    RENEW: 'renew', OK: 'ok', MISSING: 'missing', UNREADABLE: 'unreadable', UNREACHABLE: 'unreachable',
}
# Shown even at zero, so "0 expired" reads as good news; the rest only appear when they occur.
_ALWAYS_BADGED = (EXPIRED, CRITICAL, RENEW, OK)

# (heading, cell class, sort key of the script)
_COLUMNS = (
    ('Host', 'host', 'host'), ('Customer', 'customer', 'customer'), ('Organisation', 'organisation', 'organisation'),
    ('Environment', 'environment', 'environment'), ('Days remaining', 'num', 'days'), ('Expires', 'date', 'expires'),
    ('Status', 'status', 'status'), ('Serial', 'serial', 'serial'), ('Issuer', 'issuer', 'issuer'),
    ('Path', 'path', 'path'), ('Note', 'note', 'note'),
)
# The filters of the table: (heading, the row's data attribute and the state's name).
FILTERS = (('Status', 'status'), ('Customer', 'customer'), ('Environment', 'environment'), ('Host', 'host'))

_LEGEND = '\n'.join('<dt><span class="pill s-%s">%s</span></dt><dd>%s</dd>' % (status, _LABELS[status], text)
                    for status, text in (
    (OK, 'Valid beyond the renewal window; nothing to do yet.'),
    (RENEW, 'The renewal window is open: renew with the current certificate before it expires. The service accepts '
            'a renewal at the earliest 60 days before expiry.'),
    (CRITICAL, 'Renew now; the certificate expires within days.'),
    (EXPIRED, 'An expired certificate cannot be renewed: apply for a new one in the Incomes Register e-service.'),
    (KEY_MISMATCH, 'The private key on the host does not belong to the certificate.'),
    (RESTART_PENDING, 'Renewed, but the services that use it have not been restarted since, so they may still use the '
                      'certificate it replaced; the note says when that one expires.'),
    (MISSING, 'There is no certificate at the path.'),
    (UNREADABLE, 'The file is there but cannot be read or parsed; see the note.'),
    (UNREACHABLE, 'The host could not be audited (unreachable, or certificate_info failed); see the note.'),
))

_DATE_RE = re.compile(r'\b\d{4}-\d{2}-\d{2}\b')
_CN_RE = re.compile(r'(?:^|,)CN=((?:\\.|[^,\\])*)')
# English month names whatever the controller's locale.
_MONTHS = ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')


# ----------------------------------------------------------------------------------------------
# The table

def _issuer_cell(issuer):
    if not issuer:
        return ''
    match = _CN_RE.search(issuer)
    short = match.group(1).replace('\\', '') if match else issuer
    return '<span title="%s">%s</span>' % (html_text(issuer), html_text(short))


def _note_html(note):
    # A date in the middle of a note should not break at its hyphens.
    return _DATE_RE.sub(r'<span class="nowrap">\g<0></span>', html_text(note))


def _path_html(path):
    # Long paths wrap at their slashes instead of mid-name.
    return '/<wbr>'.join(html_text(part) for part in path.split('/'))


def _cells(row):
    return (
        html_text(row['host']),
        html_text(row['customer_id']),
        html_text(row['organisation']),
        html_text(row['environment']),
        _days_html(row),
        html_text(row['expires']),
        '<span class="pill">%s</span>' % html_text(_LABELS[row['status']]),
        '<span class="mono">%s</span>' % html_text(row['serial']) if row['serial'] else '',
        _issuer_cell(row['issuer']),
        '<span class="mono">%s</span>' % _path_html(row['path']) if row['path'] else '',
        _note_html(row['note']),
    )


def _days_html(row):
    days = html_text('' if row['days_remaining'] is None else row['days_remaining'])
    if row.get('replaced_days_remaining') is None:
        return days
    # What its services may still use, under its own: the row sorts by the fewer.
    return '%s<span class="replaced" title="the certificate it replaced">replaced: %s</span>' % (
        days, html_text(row['replaced_days_remaining']))


def _row_html(row):
    cells = []
    for (label, css, dummy), content in zip(_COLUMNS, _cells(row)):
        classes = [css]
        if not content:
            # On a phone each cell is a labelled line; an empty line is noise.
            classes.append('empty-cell')
        cells.append('<td class="%s" data-label="%s">%s</td>' % (' '.join(classes), html_text(label), content))
    # The data attributes are what the script filters and sorts by.
    data = ''.join(' data-%s="%s"' % (name, html_text(value)) for name, value in (
        ('status', row['status']), ('customer', row['customer_id']), ('environment', row['environment']),
        ('host', row['host']), ('rank', SEVERITY.index(row['status'])),
        ('days', '' if row['days_remaining'] is None else effective_days(row))))
    return '<tr class="s-%s"%s>%s</tr>' % (html_text(row['status']), data, ''.join(cells))


def _options(values, labels=None):
    labels = labels or {}
    return ''.join('<option value="%s">%s</option>' % (html_text(value), html_text(labels.get(value, value)))
                   for value in values)


def _filters_html(rows):
    """The table's filter controls, hidden until the script shows them (they do nothing without it)."""
    counts = status_counts(rows)
    choices = {
        'status': _options(counts, dict((status, '%s (%d)' % (_LABELS[status], count))
                                        for status, count in counts.items())),
        'customer': _options(sorted(set(row['customer_id'] for row in rows if row['customer_id']))),
        'environment': _options(sorted(set(row['environment'] for row in rows if row['environment']))),
        'host': _options(sorted(set(row['host'] for row in rows))),
    }
    controls = ''.join('<label>%s <select name="%s"><option value="">all</option>%s</select></label>'
                       % (label, name, choices[name]) for label, name in FILTERS)
    return ('<form id="filters" class="filters" hidden>%s<button type="reset">Show all</button>'
            '<output id="shown" aria-live="polite"></output></form>' % controls)


def _table_html(rows):
    if not rows:
        return '<div class="table-wrap"><p class="empty">No certificates were reported.</p></div>'
    head = ''.join('<th scope="col" class="%s" data-sort="%s">%s</th>' % (css, key, html_text(label))
                   for label, css, key in _COLUMNS)
    body = '\n'.join(_row_html(row) for row in rows)
    return ('<section class="certificates" aria-label="Certificates">%s\n<div class="table-wrap">'
            '<table id="certificates">\n<caption>Certificates, soonest expiry first</caption>\n'
            '<thead><tr>%s</tr></thead>\n<tbody>\n%s\n</tbody>\n</table></div></section>'
            % (_filters_html(rows), head, body))


# ----------------------------------------------------------------------------------------------
# Grouped by customer and by host

def filter_link(name, value, text_html):
    """text_html as a link that filters the table by name=value (with the script; without it, a no-op)."""
    return '<a href="#%s=%s">%s</a>' % (name, html_text(quote(str(value), safe='')), text_html)


def _pills(counts):
    return ' '.join('<span class="pill s-%s">%d %s</span>' % (status, count, html_text(_LABELS[status]))
                    for status, count in counts.items())


def _next_expiry(group):
    soonest = group['soonest']
    if not soonest:
        return ''
    return '<span class="nowrap">%s</span> (%s)' % (
        html_text(soonest['expires']), html_text(plural(soonest['days_remaining'], 'day')))


def _names(values, link=None):
    return ', '.join(filter_link(link, value, html_text(value)) if link else html_text(value) for value in values)


# (heading, cell class, group -> cell HTML) of each view
_BY_CUSTOMER = (
    ('Customer', 'host', lambda group: filter_link('customer', group['name'], html_text(group['name']))
     if group['name'] else '<span class="muted">no customer ID</span>'),
    ('Organisation', 'organisation', lambda group: _names(group['organisations'])),
    ('Environments', 'environment', lambda group: _names(group['environments'], 'environment')),
    ('Hosts', 'count', lambda group: str(len(group['hosts']))),
)
_BY_HOST = (
    ('Host', 'host', lambda group: filter_link('host', group['name'], html_text(group['name']))),
    ('Customers', 'customer', lambda group: _names(group['customers'], 'customer')),
    ('Environments', 'environment', lambda group: _names(group['environments'], 'environment')),
)
_GROUP_TAIL = (
    ('Certificates', 'count', lambda group: str(len(group['rows']))),
    ('Statuses', 'statuses', lambda group: _pills(group['counts'])),
    ('Next expiry', 'date', _next_expiry),
)
# A long list of hosts starts folded; people open it when they need it.
_OPEN_UP_TO = 30


def _group_table(title, key, columns, rows):
    found = groups(rows, key)
    columns = columns + _GROUP_TAIL
    head = ''.join('<th scope="col" class="%s">%s</th>' % (css, html_text(label)) for label, css, dummy in columns)
    lines = []
    for group in found:
        cells = []
        for label, css, cell in columns:
            content = cell(group)
            # One element per cell: on a phone the cell is a grid of its label and its content.
            cells.append('<td class="%s%s" data-label="%s"><span>%s</span></td>' % (
                css, '' if content else ' empty-cell', html_text(label), content))
        lines.append('<tr class="s-%s">%s</tr>' % (group['worst'], ''.join(cells)))
    return ('<details class="group"%s><summary>%s <span class="muted">(%d)</span></summary>\n'
            '<div class="table-wrap"><table class="groups">\n<thead><tr>%s</tr></thead>\n<tbody>\n%s\n</tbody>\n'
            '</table></div></details>' % (' open' if len(found) <= _OPEN_UP_TO else '', html_text(title), len(found),
                                          head, '\n'.join(lines)))


def _groups_html(rows):
    if not rows:
        return ''
    return '<section class="views" aria-label="Grouped">\n%s\n%s\n</section>' % (
        _group_table('By customer', 'customer_id', _BY_CUSTOMER, rows),
        _group_table('By host', 'host', _BY_HOST, rows))


# ----------------------------------------------------------------------------------------------
# The timeline: certificates expiring per week, an inline SVG

_SVG_WIDTH = 960
_PLOT_LEFT = 170        # the callouts of expired and undated certificates sit left of it
_WEEK = 15              # pixels per week: 52 weeks fill 780
_PLOT_TOP = 40
_PLOT_HEIGHT = 140
_SVG_HEIGHT = _PLOT_TOP + _PLOT_HEIGHT + 32
_NAMED = 6              # certificates named in a tooltip before "and N more"


def tick_step(top):
    """The step of at most four gridlines above zero for a largest value of top: 1, 2, 5, 10, 20, 50..."""
    step, scale = 1, 1
    while True:
        for factor in (1, 2, 5):
            step = factor * scale
            if top <= 4 * step:
                return step
        scale *= 10


def _who(rows):
    names = ['%s %s' % (row['host'], row['customer_id'] or row['path'] or '') for row in rows[:_NAMED]]
    if len(rows) > _NAMED:
        names.append('and %d more' % (len(rows) - _NAMED))
    return ', '.join(name.strip() for name in names)


def _callouts(line):
    """The expired and the undated certificates, as boxes left of the weeks (missing and expired always)."""
    boxes = [(EXPIRED, line['expired'])] + [(status, line['undated'][status]) for status in UNDATED
                                            if status == MISSING or line['undated'][status]]
    parts = []
    for index, (status, rows) in enumerate(boxes):
        top = _PLOT_TOP + index * 36
        summary = plural(len(rows), 'certificate')
        box = ('<g class="callout s-%s%s"><title>%s %s%s</title><rect x="0" y="%d" width="150" height="30" rx="6"/>'
               '<text x="10" y="%d"><tspan class="n">%d</tspan> %s</text></g>' % (
                   status, '' if rows else ' zero', summary, _LABELS[status],
                   html_text(': ' + _who(rows) if rows else ''), top, top + 21, len(rows), _LABELS[status]))
        # Like the badges, a callout with certificates in it opens the table filtered by its status.
        parts.append(filter_link('status', status, box) if rows else box)
    return ''.join(parts)


def _week_bars(line, today, scale):
    bottom = _PLOT_TOP + _PLOT_HEIGHT
    parts = []
    for week, rows in enumerate(line['weeks']):
        if not rows:
            continue
        counts = status_counts(rows)
        start = today + datetime.timedelta(days=7 * week)
        tip = '%s expiring %s to %s (%s): %s' % (
            plural(len(rows), 'certificate'), start.isoformat(), (start + datetime.timedelta(days=6)).isoformat(),
            ', '.join('%d %s' % (count, _LABELS[status]) for status, count in counts.items()),
            _who(rows))
        x = _PLOT_LEFT + week * _WEEK + 2
        rects, y = [], bottom
        for status in TIMELINE_STACK:
            height = counts.get(status, 0) * scale
            if height:
                y -= height
                rects.append('<rect class="bar s-%s" x="%d" y="%.1f" width="%d" height="%.1f"/>' % (
                    status, x, y, _WEEK - 4, height))
        parts.append('<g class="week"><title>%s</title>%s</g>' % (html_text(tip), ''.join(rects)))
    return ''.join(parts)


def _grid(ceiling, step, scale, weeks):
    bottom = _PLOT_TOP + _PLOT_HEIGHT
    parts = []
    for value in range(0, ceiling + 1, step):
        y = bottom - value * scale
        parts.append('<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/><text class="axis" x="%d" y="%.1f" '
                     'text-anchor="end">%d</text>' % (_PLOT_LEFT, _PLOT_LEFT + weeks * _WEEK, y, y, _PLOT_LEFT - 6,
                                                      y + 4, value))
    return ''.join(parts)


def _months(today, weeks):
    """Today's date at the left, then a tick at the first of each month (with the year in January)."""
    end = today + datetime.timedelta(days=7 * weeks)
    bottom = _PLOT_TOP + _PLOT_HEIGHT
    parts = ['<text class="axis today" x="%d" y="%d">%d %s</text>' % (
        _PLOT_LEFT, bottom + 18, today.day, _MONTHS[today.month - 1])]
    month = datetime.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    while month < end:
        x = _PLOT_LEFT + (month - today).days * _WEEK / 7.0
        if x - _PLOT_LEFT >= 40:
            label = _MONTHS[month.month - 1] + (' %d' % month.year if month.month == 1 else '')
            parts.append('<line class="tick" x1="%.1f" x2="%.1f" y1="%d" y2="%d"/><text class="axis" x="%.1f" '
                         'y="%d">%s</text>' % (x, x, bottom, bottom + 5, x + 3, bottom + 18, label))
        month = datetime.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return ''.join(parts)


def _bands(critical_days, renew_before_days):
    """The windows measured from today: renewable now (days < renew_before_days), critical (<= critical_days)."""
    renew = renew_before_days * _WEEK / 7.0
    # Critical days inside the window; with critical_days as large as the window, all of it is critical.
    critical = min(critical_days + 1, renew_before_days) * _WEEK / 7.0
    parts = ['<rect class="band s-renew" x="%d" y="%d" width="%.1f" height="%d"/>' % (
        _PLOT_LEFT, _PLOT_TOP, renew, _PLOT_HEIGHT)]
    parts.append('<text class="band-label s-renew" x="%.1f" y="%d" text-anchor="end">renewal window: %s</text>' % (
        _PLOT_LEFT + renew, _PLOT_TOP - 20, plural(renew_before_days, 'day')))
    parts.append('<rect class="band s-critical" x="%d" y="%d" width="%.1f" height="%d"/>' % (
        _PLOT_LEFT, _PLOT_TOP, critical, _PLOT_HEIGHT))
    parts.append('<text class="band-label s-critical" x="%d" y="%d">critical: %s</text>' % (
        _PLOT_LEFT, _PLOT_TOP - 6, plural(critical_days, 'day')))
    return ''.join(parts)


def timeline_svg(rows, today, critical_days=14, renew_before_days=60, weeks=52):
    """The inline SVG: a bar per week of the certificates expiring in it (stacked by status), the current
    renewal window and critical days shaded, the expired and undated ones called out at the left."""
    line = timeline(rows, weeks)
    largest = max([len(week) for week in line['weeks']] + [0])
    step = tick_step(largest)
    ceiling = step * max(1, -(-largest // step))
    scale = _PLOT_HEIGHT / float(ceiling)
    dated = sum(len(week) for week in line['weeks'])
    description = '%s expiring within %d weeks from %s, at most %d in a week; %d expired; %d without a date; ' \
                  '%d later.' % (plural(dated, 'certificate'), weeks, today.isoformat(), largest,
                                 len(line['expired']), sum(len(found) for found in line['undated'].values()),
                                 len(line['later']))
    parts = [
        '<svg class="timeline" viewBox="0 0 %d %d" role="img" aria-labelledby="timeline-title timeline-desc" '
        'xmlns="http://www.w3.org/2000/svg">' % (_SVG_WIDTH, _SVG_HEIGHT),
        '<title id="timeline-title">Certificates expiring per week</title><desc id="timeline-desc">%s</desc>'
        % html_text(description),
        _bands(critical_days, renew_before_days),
        _grid(ceiling, step, scale, weeks),
        _week_bars(line, today, scale),
        '<line class="axis-line" x1="%d" x2="%d" y1="%d" y2="%d"/>' % (
            _PLOT_LEFT, _PLOT_LEFT + weeks * _WEEK, _PLOT_TOP + _PLOT_HEIGHT, _PLOT_TOP + _PLOT_HEIGHT),
        _months(today, weeks),
        _callouts(line),
    ]
    if not dated:
        parts.append('<text class="nothing" x="%d" y="%d" text-anchor="middle">Nothing expires in the next %d weeks'
                     '</text>' % (_PLOT_LEFT + weeks * _WEEK // 2, _PLOT_TOP + _PLOT_HEIGHT // 2, weeks))
    if line['later']:
        parts.append('<text class="axis" x="%d" y="%d" text-anchor="end">+%d later</text>' % (
            _SVG_WIDTH - 2, _PLOT_TOP - 6, len(line['later'])))
    parts.append('</svg>')
    return ''.join(parts)


def _timeline_html(rows, today, critical_days, renew_before_days):
    if not rows:
        return ''
    swatches = ''.join('<span class="key"><i class="sw s-%s"></i>%s</span>' % (status, _LABELS[status])
                       for status in reversed(TIMELINE_STACK))
    return ('<figure class="timeline-wrap"><div class="timeline-scroll">%s</div><figcaption>Certificates expiring '
            'per week over the next 12 months, from the report\'s day; shaded: expiring within the renewal window '
            '(renewable now) and within the critical days. Hover a bar for the certificates. %s'
            '<span class="key"><i class="sw band-key"></i>renewal window</span></figcaption></figure>'
            % (timeline_svg(rows, today, critical_days, renew_before_days), swatches))


# ----------------------------------------------------------------------------------------------
# The page

# Sorting (a click on a column heading) and filtering (the selects above the table). The state lives
# in the URL's fragment (#status=renew&customer=1234567-8&sort=-days), so a view can be bookmarked or
# linked, and the links of the grouped views are fragments too. Rows stay in the DOM; hidden ones get
# the hidden attribute. The text must not change without the hash in the page's policy changing with it,
# which page() computes from this very string.
SCRIPT = r"""
(function () {
  'use strict';
  var table = document.getElementById('certificates'), form = document.getElementById('filters');
  if (!table || !form) { return; }
  var body = table.tBodies[0], rows = [].slice.call(body.rows), heads = [].slice.call(table.tHead.rows[0].cells);
  var selects = [].slice.call(form.querySelectorAll('select')), shown = document.getElementById('shown'), sort = '';
  function state() {
    var parts = selects.filter(function (s) { return s.value; }).map(function (s) {
      return s.name + '=' + encodeURIComponent(s.value);
    });
    if (sort) { parts.push('sort=' + sort); }
    return parts.length ? '#' + parts.join('&') : '';
  }
  function key(row, head) {
    var text = row.cells[head.cellIndex].textContent.trim();
    if (head.dataset.sort === 'days') { return row.dataset.days === '' ? -Infinity : Number(row.dataset.days); }
    if (head.dataset.sort === 'status') { return Number(row.dataset.rank); }
    return text.toLowerCase();
  }
  function show() {
    var count = 0, desc = sort.charAt(0) === '-', name = sort.replace('-', '');
    var head = heads.filter(function (h) { return h.dataset.sort === name; })[0];
    var order = rows.map(function (row, index) { return [head ? key(row, head) : 0, index, row]; });
    order.sort(function (a, b) { return (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) * (desc ? -1 : 1) || a[1] - b[1]; });
    order.forEach(function (item) {
      var row = item[2];
      row.hidden = !selects.every(function (s) { return !s.value || row.getAttribute('data-' + s.name) === s.value; });
      count += row.hidden ? 0 : 1;
      body.appendChild(row);
    });
    heads.forEach(function (h) {
      if (h === head) { h.setAttribute('aria-sort', desc ? 'descending' : 'ascending'); } else { h.removeAttribute('aria-sort'); }
    });
    shown.textContent = count === rows.length ? 'all ' + count + ' shown' : count + ' of ' + rows.length + ' shown';
    if (location.hash !== state()) {
      try { history.replaceState(null, '', state() || location.pathname + location.search); } catch (e) { }
    }
  }
  function load() {
    var wanted = {};
    location.hash.slice(1).split('&').forEach(function (pair) {
      var at = pair.indexOf('=');
      if (at > 0) { try { wanted[pair.slice(0, at)] = decodeURIComponent(pair.slice(at + 1)); } catch (e) { } }
    });
    selects.forEach(function (s) {
      var value = wanted[s.name] || '';
      s.value = [].some.call(s.options, function (o) { return o.value === value; }) ? value : '';
    });
    sort = heads.some(function (h) { return h.dataset.sort === (wanted.sort || '').replace('-', ''); }) ? wanted.sort : '';
    show();
  }
  heads.forEach(function (head) {
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = head.textContent;
    head.textContent = '';
    head.appendChild(button);
    button.addEventListener('click', function () {
      sort = sort === head.dataset.sort ? '-' + head.dataset.sort : head.dataset.sort;
      show();
    });
  });
  form.addEventListener('change', show);
  form.addEventListener('reset', function () { setTimeout(function () { sort = ''; show(); }, 0); });
  window.addEventListener('hashchange', function () { load(); table.scrollIntoView(); });
  form.hidden = false;
  load();
}());
"""

_CSS = """
a{color:inherit}
.badge a{display:flex;align-items:baseline;gap:6px;color:inherit;text-decoration:none}
.muted{color:var(--muted)}
.timeline-wrap,.group,.filters{background:var(--card);border:1px solid var(--line);border-radius:10px;
box-shadow:0 1px 2px rgba(20,54,93,.06);margin:0 0 16px}
.timeline-wrap{padding:12px 16px 10px}
.timeline-scroll{overflow-x:auto}
svg.timeline{display:block;width:100%;min-width:640px;height:auto;font-size:11px}
@media (max-width:760px){svg.timeline{min-width:820px}}
svg.timeline text{fill:var(--muted)}
svg.timeline .band{fill:var(--rbg)}
svg.timeline .band-label{fill:var(--c);font-weight:600}
svg.timeline .band-label.s-renew{fill:var(--renew-ink)}
svg.timeline .band.s-renew{fill:#fff4c2}svg.timeline .band.s-critical{fill:#ffe0c2}
svg.timeline .bar{fill:var(--c)}
svg.timeline .week:hover .bar{opacity:.75}
svg.timeline .grid{stroke:var(--line);stroke-width:1}
svg.timeline .axis-line,svg.timeline .tick{stroke:var(--muted);stroke-width:1}
svg.timeline .today{font-weight:700;fill:var(--ink)}
svg.timeline .callout rect{fill:var(--rbg);stroke:var(--c)}
svg.timeline .callout text{fill:var(--ink);font-size:13px}
svg.timeline .callout .n{fill:var(--c);font-size:17px;font-weight:700}
svg.timeline .callout.zero rect{fill:var(--card);stroke:var(--line)}
svg.timeline .callout.zero .n{fill:var(--muted)}
svg.timeline .nothing{font-size:14px}
figure{margin:0 0 16px}
figcaption{color:var(--muted);font-size:12.5px;margin-top:6px}
.key{display:inline-flex;align-items:center;gap:4px;margin-right:10px;white-space:nowrap}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;background:var(--c)}
.sw.band-key{background:#fff4c2;box-shadow:inset 0 0 0 1px #f2d06b}
.group{padding:0}
.group summary{cursor:pointer;padding:12px 16px;font-weight:600;color:var(--ink)}
.group .table-wrap{border:0;box-shadow:none;border-radius:0 0 10px 10px}
td.count{text-align:right;font-variant-numeric:tabular-nums}
th.count{text-align:right}
td.statuses .pill{margin:0 2px 2px 0;color:#fff}
td.statuses .pill.s-renew{color:var(--renew-ink)}
.groups td.host a{font-weight:600}
.filters{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;padding:10px 16px;font-size:13px}
.filters label{display:flex;gap:6px;align-items:center;font-weight:600;color:var(--muted)}
.filters select,.filters button{font:inherit;max-width:16em}
#shown{color:var(--muted)}
th button{all:unset;cursor:pointer}
th button:focus-visible{outline:2px solid #14365d}
th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
@media (max-width:760px){.timeline-wrap{padding:8px}.groups td.count{text-align:left}.filters{padding:8px 10px}
.filters label{flex:1 1 45%}.filters select{flex:1;min-width:0}}
@media print{.filters{display:none}.group,.timeline-wrap{box-shadow:none;break-inside:avoid}}
"""


def _headline(summary):
    counts = summary['counts']
    urgent = sum(counts[status] for status in (EXPIRED, CRITICAL, KEY_MISMATCH, RESTART_PENDING, MISSING, UNREADABLE,
                                               UNREACHABLE))
    if not summary['total']:
        return 'warn', 'No certificates were reported.'
    if urgent:
        return 'bad', '%d of %d need%s attention now' % (urgent, summary['total'], 's' if urgent == 1 else '')
    if counts[RENEW]:
        return 'warn', '%d of %d %s in the renewal window' % (
            counts[RENEW], summary['total'], 'is' if counts[RENEW] == 1 else 'are')
    return 'good', 'All %d certificate%s valid beyond the renewal window' % (
        summary['total'], ' is' if summary['total'] == 1 else 's are')


def _soonest_text(summary):
    soonest = summary['soonest_expiry']
    if not soonest:
        return ''
    who = soonest['customer_id'] or soonest['path']
    return ' · next expiry <strong>%s</strong> on %s: %s (%s day%s)' % (
        html_text(who), html_text(soonest['host']), html_text(soonest['expires']), html_text(soonest['days_remaining']),
        '' if soonest['days_remaining'] == 1 else 's')


def render_html(rows, summary, generated_at, title, critical_days=14, renew_before_days=60):
    """The audit's page: headline, a badge per status, the timeline, the grouped views, the table, the legend.

    The timeline counts weeks from generated_at's date (UTC), so a rerun the same day renders the same page.
    """
    counts = summary['counts']
    badges = []
    for status in STATUSES:
        if counts[status] or status in _ALWAYS_BADGED:
            content = '<b>%d</b> %s' % (counts[status], html_text(_LABELS[status]))
            badges.append('<li class="badge s-%s%s">%s</li>' % (
                status, '' if counts[status] else ' zero', filter_link('status', status, content) if counts[status]
                else content))
    tone, headline = _headline(summary)
    today = generated_at.astimezone(datetime.timezone.utc).date()
    main = '\n'.join(part for part in (_timeline_html(rows, today, critical_days, renew_before_days),
                                       _groups_html(rows), _table_html(rows)) if part)
    in_flight = summary.get('in_flight')
    meta = 'Generated %s · %s on %s%s%s' % (
        generated_html(generated_at), plural(summary['total'], 'certificate'), plural(summary['hosts'], 'host'),
        _soonest_text(summary), ' · %s in flight (see the notes)' % plural(in_flight, 'request') if in_flight else '')
    return page(title, meta, tone, headline, ''.join(badges), main, _LEGEND, extra_css=_CSS,
                script=SCRIPT if rows else '')
