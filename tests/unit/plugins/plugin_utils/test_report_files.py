import os
import pathlib
import pwd
import shutil
import stat
import tempfile

import pytest

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


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root, to leave a file owned by another user than the writer')
def test_a_file_another_user_left_is_replaced_by_one_of_the_user_who_writes():
    """As a run whose controller escalated leaves it: root's file, in a directory the user may write."""
    nobody = pwd.getpwnam('nobody')
    # Not under pytest's tmp_path, which only root may enter.
    out = pathlib.Path(tempfile.mkdtemp(prefix='report-files-'))
    os.chmod(str(out), 0o777)
    path = out / 'summary.json'
    path.write_text('old')
    child = os.fork()
    if child == 0:
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            report_files.write_file(str(path), 'new', comparable=lambda fmt, text: text)
            os._exit(0)
        except BaseException:
            os._exit(1)
    dummy, status = os.waitpid(child, 0)
    try:
        assert os.waitstatus_to_exitcode(status) == 0
        assert path.read_text() == 'new'
        assert (path.stat().st_uid, path.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid)
        assert stat.S_IMODE(path.stat().st_mode) == report_files.REPORT_FILE_MODE
    finally:
        shutil.rmtree(str(out))
