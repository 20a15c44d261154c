import os
import stat

from ansible_collections.incomes_register.certificates.plugins.plugin_utils import report_files


def _blank_time(fmt, text):
    return text.split('@')[0]


def test_a_report_is_rewritten_only_when_it_changed_apart_from_its_time(tmp_path):
    out = str(tmp_path / 'reports')
    files = report_files.report_paths(out, 'audit', {'csv': 'csv', 'json': 'json'}, ['csv', 'json', 'csv'])
    assert sorted(files) == ['csv', 'json']
    assert report_files.write_reports(out, files, lambda fmt: 'rows@10:00', check_mode=True) is True
    assert not os.path.exists(out), 'check mode writes nothing'
    assert report_files.write_reports(out, files, lambda fmt: 'rows@10:00', comparable=_blank_time) is True
    assert stat.S_IMODE(os.stat(files['csv']).st_mode) == report_files.REPORT_FILE_MODE
    assert report_files.write_reports(out, files, lambda fmt: 'rows@11:00', comparable=_blank_time) is False
    os.chmod(files['json'], 0o600)
    assert report_files.write_reports(out, files, lambda fmt: 'rows@12:00', comparable=_blank_time) is True
    assert stat.S_IMODE(os.stat(files['json']).st_mode) == report_files.REPORT_FILE_MODE
    assert open(files['json']).read() == 'rows@10:00', 'a mode fix keeps the content'
    assert report_files.write_reports(out, files, lambda fmt: 'other rows@12:00', comparable=_blank_time) is True
    assert open(files['csv']).read() == 'other rows@12:00'


def test_a_basename_must_be_a_plain_file_name():
    for bad in ('', '.', '..', 'a/b', 'a\0b'):
        assert report_files.basename_problem(bad)
    assert report_files.basename_problem('certificate-expiry') is None
