"""The HTML expiry report as a browser shows it: headless Chromium screenshots and serialises the page, with
its script (filters and sorting set through the URL fragment) and without it.

Needs Debian's chromium package (apt-get install --no-install-recommends chromium fonts-liberation).
"""
import base64
import datetime
import hashlib
import html.parser
import os
import random
import struct
import subprocess
import urllib.parse
import zlib

import pytest

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import expiry_report as report
from ansible_collections.incomes_register.certificates.plugins.plugin_utils import expiry_html
from ansible_collections.incomes_register.certificates.plugins.plugin_utils.report_formats import (
    content_policy, html_text, page as page_html)

CHROMIUM = '/usr/bin/chromium'
NOW = datetime.datetime(2026, 3, 2, 7, 30, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason='%s is not installed (apt-get install chromium); the HTML report cannot be '
                              'rendered in a browser here' % CHROMIUM),
]

# The solid colours of the page (see the CSS in plugin_utils/report_formats.py).
HEADER_NAVY = (0x14, 0x36, 0x5d)
ROW_STRIPES = {
    'expired': (0xc6, 0x28, 0x28),
    'critical': (0xe6, 0x51, 0x00),
    'renew': (0xf2, 0xb7, 0x05),
    'ok': (0x2e, 0x7d, 0x32),
    'missing': (0x6b, 0x72, 0x80),
}
SCRIPT_PATH = '/etc/ir/<script>alert(1)</script>.pem'


def info(path, days, **overrides):
    not_after = NOW + days * DAY + datetime.timedelta(hours=2)
    result = dict(
        path=path, exists=True, readable=True, error=None, subject='CN=1234567-8,O=Example Oy,C=FI',
        customer_id='1234567-8', organisation='Example Oy',
        issuer='CN=Data Providers Issuing CA v1,O=Verohallinto,C=FI', serial='5E1F0A', fingerprint_sha256='AA',
        fingerprint_sha1='BB', not_before='2024-03-01T00:00:00Z', not_after=not_after.strftime('%Y-%m-%dT%H:%M:%SZ'),
        days_remaining=days, expired=days < 0, in_renewal_window=0 <= days < 60, key_matches=True,
        chain_valid=True, environment='PRODUCTION')
    result.update(overrides)
    return result


SAMPLE = {
    'payroll-01': [info('/etc/ir/cert.pem', 9), info(SCRIPT_PATH, 500, environment='TEST')],
    'payroll-02': [info('/etc/ir/cert.pem', -3)],
    'hr-batch': [info('/opt/hr/cert.pem', 41, customer_id='7654321-0', organisation='Henkilöstö Oy'),
                 dict(path='/opt/hr/old.pem', exists=False, readable=False, error='No certificate at /opt/hr/old.pem')],
    'reporting': [info('/srv/ir/cert.pem', 612)],
}


@pytest.fixture
def page(tmp_path):
    rows = report.build_rows(SAMPLE)
    path = tmp_path / 'certificate-expiry.html'
    path.write_text(report.render_html(rows, report.summarize(rows), NOW, 'Incomes Register certificate expiry'),
                    encoding='utf-8')
    return rows, path


def chromium(tmp_path, *args):
    profile = tmp_path / ('profile-%d' % len(os.listdir(str(tmp_path))))
    profile.mkdir()
    command = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync',
               '--user-data-dir=%s' % profile] + list(args)
    completed = subprocess.run(command, capture_output=True, timeout=180, check=False)
    assert completed.returncode == 0, completed.stderr.decode('utf-8', 'replace')[-3000:]
    return completed.stdout.decode('utf-8')


def png_left_strip(data, strip_width):
    """(width, height, rows) with rows the RGB pixels of the leftmost strip_width columns of each row.

    Each scanline is unfiltered only up to strip_width: every PNG filter depends on bytes to the
    left and above, so the strip decodes on its own and the test stays fast without Pillow.
    """
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    offset, header, idat = 8, None, []
    while offset < len(data):
        length, kind = struct.unpack('>I4s', data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat.append(body)
        offset += 12 + length
    width, height, depth, colour, dummy, dummy, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b''.join(idat))
    stride = width * bpp
    assert len(raw) == height * (stride + 1)
    keep = min(strip_width, width) * bpp
    previous = bytearray(keep)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = bytearray(raw[start + 1:start + 1 + keep])
        for i in range(keep):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            upper_left = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xff
            elif kind == 2:
                line[i] = (line[i] + up) & 0xff
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xff
            elif kind == 4:
                estimate = left + up - upper_left
                da, db, dc = abs(estimate - left), abs(estimate - up), abs(estimate - upper_left)
                predictor = left if da <= db and da <= dc else (up if db <= dc else upper_left)
                line[i] = (line[i] + predictor) & 0xff
        rows.append([tuple(line[x:x + 3]) for x in range(0, keep, bpp)])
        previous = line
    return width, height, rows


def near(pixel, colour, tolerance=6):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def stripe_runs(strip, start):
    """The status colours met going down the page's left edge, each run of one colour once."""
    runs = []
    for line in strip[start:]:
        seen = [status for status, colour in ROW_STRIPES.items() if any(near(pixel, colour) for pixel in line[16:40])]
        if len(seen) == 1 and (not runs or runs[-1] != seen[0]):
            runs.append(seen[0])
    return runs


def test_screenshot_shows_the_header_and_colour_coded_rows(page, tmp_path):
    rows, html_path = page
    png = tmp_path / 'report.png'
    chromium(tmp_path, '--screenshot=%s' % png, '--window-size=1280,2000', 'file://%s' % html_path)
    data = png.read_bytes()
    assert len(data) > 30000, 'a %d-byte screenshot cannot hold the report' % len(data)
    width, height, strip = png_left_strip(data, 48)
    assert (width, height) == (1280, 2000)
    pixels = [pixel for line in strip for pixel in line]
    assert len(set(pixels)) > 20, 'the screenshot is (nearly) one colour'
    assert near(strip[5][5], HEADER_NAVY), strip[5][5]
    # Each status's stripe runs down the left edge of its table row, in report order; the grouped views
    # above the table and the legend below it have stripes and pills of their own.
    header_end = next(y for y, line in enumerate(strip) if not near(line[5], HEADER_NAVY))
    runs = stripe_runs(strip, header_end)
    expected = ['missing', 'expired', 'critical', 'renew', 'ok']
    assert any(runs[at:at + len(expected)] == expected for at in range(len(runs))), runs


def test_the_browser_builds_the_table_with_the_rows_in_order(page, tmp_path):
    rows, html_path = page
    text = chromium(tmp_path, '--dump-dom', 'file://%s' % html_path)
    parsed = DomRows(text)
    assert [row['class'] for row in parsed.rows] == ['s-%s' % row['status'] for row in rows]
    assert parsed.shown == 'all %d shown' % len(rows)
    # The path with markup in it arrived as text, not as a script element: the page's own is the only one.
    assert text.count('<script') == 1 and len(parsed.scripts) == 1
    assert '&lt;script&gt;alert(1)&lt;/<wbr>script&gt;.pem' in text


# ---- 500 certificates: the timeline, and the table's filters and sorting -------------------------------------------

BREAKOUT = "</script><script>document.body.setAttribute('data-pwned', '1')</script>"
CUSTOMERS = [('%07d-%d' % (1000003 + 7919 * index, index % 10), 'Asiakas %d Oy' % index) for index in range(12)]


def fleet():
    """500 certificates on 100 hosts, five each, of 12 customers in two environments; a few missing, one host
    unreachable, one customer ID that tries to close the page's script."""
    chance = random.Random(17)
    results = {}
    for number in range(100):
        certificates = []
        for slot in range(5):
            customer_id, organisation = CUSTOMERS[(number * 5 + slot) % len(CUSTOMERS)]
            environment = 'TEST' if slot % 3 == 2 else 'PRODUCTION'
            path = '/etc/ir/%s-%s.pem' % (customer_id, environment.lower())
            days = chance.choice([chance.randint(-20, 400), chance.randint(0, 730), chance.randint(10, 120)])
            if (number * 5 + slot) % 97 == 5:
                certificates.append(dict(path=path, exists=False, readable=False, error='No certificate at %s' % path))
            else:
                certificates.append(info(path, days, customer_id=customer_id, organisation=organisation,
                                         environment=environment))
        results['app%03d.example.fi' % number] = certificates
    results['app001.example.fi'] = {'unreachable': True, 'msg': 'Failed to connect to the host via ssh'}
    results['app002.example.fi'][0]['customer_id'] = BREAKOUT
    return results


@pytest.fixture(scope='module')
def fleet_page(tmp_path_factory):
    rows = report.build_rows(fleet())
    path = tmp_path_factory.mktemp('fleet') / 'certificate-expiry.html'
    path.write_text(report.render_html(rows, report.summarize(rows), NOW, 'Incomes Register certificate expiry'),
                    encoding='utf-8')
    return rows, path


class DomRows(html.parser.HTMLParser):
    """The certificates table's body rows of a serialised DOM (their attributes), the filter form's attributes,
    the text of the #shown output and of every <script>, and the body's attributes."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.rows, self.form, self.shown, self.scripts, self.body = [], None, '', [], None
        self._table = self._sink = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'table':
            self._table = attrs.get('id')
        elif tag == 'tr' and self._table == 'certificates' and 'data-status' in attrs:
            self.rows.append(attrs)
        elif tag == 'form' and attrs.get('id') == 'filters':
            self.form = attrs
        elif tag == 'body':
            self.body = attrs
        elif (tag == 'output' and attrs.get('id') == 'shown') or tag == 'script':
            self._sink = (tag, [])

    def handle_endtag(self, tag):
        if tag == 'table':
            self._table = None
        elif self._sink and tag == self._sink[0]:
            if tag == 'script':
                self.scripts.append(''.join(self._sink[1]))
            else:
                self.shown = ''.join(self._sink[1])
            self._sink = None

    def handle_data(self, data):
        if self._sink:
            self._sink[1].append(data)


def dom(tmp_path, html_path, fragment='', *flags):
    return DomRows(chromium(tmp_path, '--virtual-time-budget=5000', '--dump-dom', *(flags + (
        'file://%s%s' % (html_path, fragment),))))


def shown(parsed):
    return [row for row in parsed.rows if 'hidden' not in row]


def test_500_certificates_screenshot_shows_the_timeline(fleet_page, tmp_path):
    rows, html_path = fleet_page
    assert len(rows) == 496
    png = tmp_path / 'fleet.png'
    chromium(tmp_path, '--screenshot=%s' % png, '--window-size=1280,1000', '--virtual-time-budget=5000',
             'file://%s' % html_path)
    width, height, strip = png_left_strip(png.read_bytes(), 360)
    header_end = next(y for y, line in enumerate(strip) if not near(line[5], HEADER_NAVY))
    # The timeline's first weeks, right of the callouts: the shaded windows and the bars expiring in them.
    area = [pixel for line in strip[header_end:header_end + 400] for pixel in line[200:]]
    colours = {
        'critical band': (0xff, 0xe0, 0xc2), 'renew band': (0xff, 0xf4, 0xc2),
        'critical bars': ROW_STRIPES['critical'], 'renew bars': ROW_STRIPES['renew'],
    }
    found = dict((name, sum(1 for pixel in area if near(pixel, colour, 3))) for name, colour in colours.items())
    assert all(count > 100 for count in found.values()), found
    # The callouts of the expired and the missing certificates at the left of the timeline.
    left = [pixel for line in strip[header_end:header_end + 400] for pixel in line[30:200]]
    assert sum(1 for pixel in left if near(pixel, (0xfd, 0xec, 0xea), 2)) > 1000, 'no expired callout'


def test_without_script_every_row_shows_in_report_order_and_the_filters_stay_hidden(fleet_page, tmp_path):
    rows, html_path = fleet_page
    # Chromium's --dump-dom needs JavaScript itself, so the page without scripts is the page with its script
    # element taken out (the only thing scripts change).
    text = html_path.read_text(encoding='utf-8')
    start, end = text.index('<script>'), text.index('</script>') + len('</script>')
    bare = tmp_path / 'no-script.html'
    bare.write_text(text[:start] + text[end:], encoding='utf-8')
    parsed = dom(tmp_path, bare, '#status=ok')
    assert parsed.scripts == [] and 'hidden' in parsed.form and parsed.shown == ''
    assert len(shown(parsed)) == len(parsed.rows) == len(rows)
    assert [(row['data-host'], row['data-status']) for row in parsed.rows] == [
        (row['host'], row['status']) for row in rows]


def test_a_filter_in_the_fragment_shows_only_the_matching_rows(fleet_page, tmp_path):
    rows, html_path = fleet_page
    customer = CUSTOMERS[3][0]
    parsed = dom(tmp_path, html_path, '#status=renew&environment=PRODUCTION&customer=%s' % customer)
    expected = [row for row in rows if (row['status'], row['environment'], row['customer_id']) == (
        'renew', 'PRODUCTION', customer)]
    assert 0 < len(expected) < 50
    assert [(row['data-host'], row['data-customer']) for row in shown(parsed)] == [
        (row['host'], row['customer_id']) for row in expected]
    assert len(parsed.rows) == len(rows)
    assert 'hidden' not in parsed.form
    assert parsed.shown == '%d of %d shown' % (len(expected), len(rows))
    # A host filter; and a value that matches no option is ignored rather than hiding everything.
    parsed = dom(tmp_path, html_path, '#host=app042.example.fi&environment=STAGING')
    assert [row['data-host'] for row in shown(parsed)] == ['app042.example.fi'] * 5
    assert parsed.shown == '5 of %d shown' % len(rows)


def test_sorting_from_the_fragment(fleet_page, tmp_path):
    rows, html_path = fleet_page
    parsed = dom(tmp_path, html_path, '#sort=-days&status=ok')
    # Most days first; equal days keep the report's order (Python's sort is stable, like the page's).
    expected = sorted((row for row in rows if row['status'] == 'ok'), key=lambda row: -row['days_remaining'])
    assert [(row['data-host'], row['data-customer']) for row in shown(parsed)] == [
        (row['host'], row['customer_id']) for row in expected]
    assert parsed.shown == '%d of %d shown' % (len(expected), len(rows))
    parsed = dom(tmp_path, html_path, '#sort=host')
    hosts = [row['data-host'] for row in parsed.rows]
    assert hosts == sorted(hosts) and len(hosts) == len(rows)
    assert parsed.shown == 'all %d shown' % len(rows)


def test_host_text_cannot_close_the_script(fleet_page, tmp_path):
    rows, html_path = fleet_page
    text = html_path.read_text(encoding='utf-8')
    assert text.count('<script') == 1 and text.count('</script>') == 1
    assert BREAKOUT not in text
    parsed = dom(tmp_path, html_path, '#customer=' + urllib.parse.quote(BREAKOUT, safe=''))
    assert parsed.body is not None and 'data-pwned' not in parsed.body
    assert len(parsed.scripts) == 1
    # The customer ID arrived as data: the filter finds its one row by the exact text.
    assert [(row['data-host'], row['data-customer']) for row in shown(parsed)] == [('app002.example.fi', BREAKOUT)]


def test_an_injected_script_would_not_run(tmp_path):
    """The page's policy runs only its own script: a script that slipped in by mistake stays inert."""
    path = tmp_path / 'page.html'
    path.write_text(page_html('t', '', 'good', 'h', '', '<script>document.body.setAttribute("data-pwned", "1")'
                              '</script>', '', script='document.body.setAttribute("data-ran", "1");'))
    parsed = dom(tmp_path, path)
    assert parsed.body.get('data-ran') == '1' and 'data-pwned' not in parsed.body


# What a person does: choose an environment, click the days heading twice (ascending, then descending).
CLICKS = """
var environment = document.querySelector('select[name=environment]');
environment.value = 'TEST';
environment.dispatchEvent(new Event('change', {bubbles: true}));
var days = document.querySelector('th[data-sort=days] button');
days.click();
days.click();
document.body.setAttribute('data-hash', location.hash);
document.body.setAttribute('data-sorted', document.querySelector('th[data-sort=days]').getAttribute('aria-sort'));
"""


def test_choosing_a_filter_and_clicking_a_heading(fleet_page, tmp_path):
    rows, html_path = fleet_page
    text = html_path.read_text(encoding='utf-8')
    # The clicks run as a second script after the page's own, allowed by the page's policy with its hash.
    policy = content_policy(expiry_html.SCRIPT)
    both = policy.replace("script-src 'sha256-", "script-src 'sha256-%s' 'sha256-" % base64.b64encode(
        hashlib.sha256(CLICKS.encode('utf-8')).digest()).decode('ascii'))
    assert html_text(policy) in text
    text = text.replace(html_text(policy), html_text(both)).replace('</body>', '<script>%s</script></body>' % CLICKS)
    clicked = tmp_path / 'clicked.html'
    clicked.write_text(text, encoding='utf-8')
    parsed = dom(tmp_path, clicked)
    assert parsed.body['data-hash'] == '#environment=TEST&sort=-days'
    assert parsed.body['data-sorted'] == 'descending'
    expected = sorted((row for row in rows if row['environment'] == 'TEST'),
                      key=lambda row: -(row['days_remaining'] if row['days_remaining'] is not None else -10 ** 6))
    assert [(row['data-host'], row['data-customer']) for row in shown(parsed)] == [
        (row['host'], row['customer_id']) for row in expected]
