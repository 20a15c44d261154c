import os

import pytest

from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_reads
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import LocalFileError


@pytest.mark.parametrize('read', [file_reads.read_file, file_reads.read_regular_file])
def test_a_reader_reads_a_file_and_a_missing_one_is_none(tmp_path, read):
    target = tmp_path / 'f'
    assert read(str(target)) is None
    target.write_bytes(b'hello')
    assert read(str(target)) == b'hello'


def test_read_file_on_a_directory_is_a_local_file_error(tmp_path):
    with pytest.raises(LocalFileError, match='Could not read'):
        file_reads.read_file(str(tmp_path))


def test_read_regular_file_does_not_read_through_a_link(tmp_path):
    (tmp_path / 'key.pem').write_bytes(b'secret')
    (tmp_path / 'link').symlink_to(tmp_path / 'key.pem')
    with pytest.raises(LocalFileError, match='is a symbolic link'):
        file_reads.read_regular_file(str(tmp_path / 'link'))
    (tmp_path / 'dangling').symlink_to(tmp_path / 'nothing')
    with pytest.raises(LocalFileError, match='is a symbolic link'):
        file_reads.read_regular_file(str(tmp_path / 'dangling'))


def test_read_regular_file_refuses_a_fifo_without_blocking_and_a_directory(tmp_path):
    fifo = tmp_path / 'fifo'
    os.mkfifo(str(fifo))
    with pytest.raises(LocalFileError, match='fifo is not a regular file'):
        file_reads.read_regular_file(str(fifo))
    with pytest.raises(LocalFileError, match='not a regular file'):
        file_reads.read_regular_file(str(tmp_path))


def test_a_change_mark_reads_back_what_was_written(tmp_path):
    cert = str(tmp_path / 'cert.pem')
    assert file_reads.read_change_mark(cert) is None
    (tmp_path / 'cert.pem.changed').write_text(
        file_reads.change_mark_text(cert, '2026-11-20T03:00:12Z', '2027-01-10T09:30:00Z'))
    assert file_reads.read_change_mark(cert) == dict(path=cert + '.changed', replaced_at='2026-11-20T03:00:12Z',
                                                     replaced_not_after='2027-01-10T09:30:00Z')
    text = file_reads.change_mark_text(cert, '2026-11-20T03:00:12Z', None)
    assert 'replaced_not_after' not in text and 'was replaced at 2026-11-20T03:00:12Z' in text


@pytest.mark.parametrize('content', ['', 'restart them, please\n', 'replaced_not_after: next spring\n',
                                     'replaced_at: 2026-11-20\nreplaced_not_after: 2027-01-10T09:30:00+02:00\n',
                                     '\xff\xfe garbage', 'replaced_not_after: 2027-01-10T09:30:00Z tomorrow\n',
                                     'replaced_at: 2027-13-45T99:99:99Z\nreplaced_not_after: 2027-02-30T10:00:00Z\n'])
def test_a_change_mark_a_person_wrote_still_counts_without_its_facts(tmp_path, content):
    cert = str(tmp_path / 'cert.pem')
    (tmp_path / 'cert.pem.changed').write_text(content, encoding='latin-1')
    assert file_reads.read_change_mark(cert) == dict(path=cert + '.changed', replaced_at=None, replaced_not_after=None)


def test_a_change_mark_that_is_not_a_regular_file_is_not_read(tmp_path):
    cert = str(tmp_path / 'cert.pem')
    (tmp_path / 'cert.pem.changed').mkdir()
    assert file_reads.read_change_mark(cert) is None


def test_a_reader_with_a_limit_reads_no_more(tmp_path):
    target = tmp_path / 'f'
    target.write_bytes(b'x' * 70000)
    assert len(file_reads.read_regular_file(str(target), limit=4096)) == 4096
    assert len(file_reads.read_regular_file(str(target), limit=100000)) == 70000
    assert len(file_reads.read_regular_file(str(target))) == 70000
