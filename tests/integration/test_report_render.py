"""The HTML expiry report as a browser shows it: headless Chromium screenshots and serialises the page.

Needs Debian's chromium package (apt-get install --no-install-recommends chromium fonts-liberation).
"""
import datetime
import os
import struct
import subprocess
import zlib

import pytest

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import expiry_report as report

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


def test_screenshot_shows_the_header_and_colour_coded_rows(page, tmp_path):
    rows, html_path = page
    png = tmp_path / 'report.png'
    chromium(tmp_path, '--screenshot=%s' % png, '--window-size=1280,900', 'file://%s' % html_path)
    data = png.read_bytes()
    assert len(data) > 30000, 'a %d-byte screenshot cannot hold the report' % len(data)
    width, height, strip = png_left_strip(data, 48)
    assert (width, height) == (1280, 900)
    pixels = [pixel for line in strip for pixel in line]
    assert len(set(pixels)) > 20, 'the screenshot is (nearly) one colour'
    assert near(strip[5][5], HEADER_NAVY), strip[5][5]
    # Each status's stripe runs down the left edge of its table row, in report order (below the
    # header, whose badges use the same colours).
    header_end = next(y for y, line in enumerate(strip) if not near(line[5], HEADER_NAVY))
    first_seen = {}
    for y, line in enumerate(strip[header_end:], header_end):
        for status, colour in ROW_STRIPES.items():
            if status not in first_seen and any(near(pixel, colour) for pixel in line[16:40]):
                first_seen[status] = y
    assert set(first_seen) == set(ROW_STRIPES), first_seen
    assert sorted(first_seen, key=first_seen.get) == ['missing', 'expired', 'critical', 'renew', 'ok']


def test_the_browser_builds_the_table_with_the_rows_in_order(page, tmp_path):
    rows, html_path = page
    dom = chromium(tmp_path, '--dump-dom', 'file://%s' % html_path)
    assert '<table>' in dom and '</tbody>' in dom
    body = dom.split('<tbody>', 1)[1].split('</tbody>', 1)[0]
    classes = [chunk.split('"', 1)[0] for chunk in body.split('<tr class="')[1:]]
    assert classes == ['s-%s' % row['status'] for row in rows]
    # The path with markup in it arrived as text, not as a script element.
    assert '<script' not in dom
    assert '&lt;script&gt;alert(1)&lt;/<wbr>script&gt;.pem' in dom
