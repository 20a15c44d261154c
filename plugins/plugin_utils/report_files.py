# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing the files of a controller-side report (the audit's, the preflight's, the renewal's summary): one file
per format, written atomically, and rewritten only when its content changed apart from the generation time."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

from ansible_collections.incomes_register.certificates.plugins.module_utils._store import file_ops, file_reads

REPORT_FILE_MODE = 0o644
REPORT_DIR_MODE = 0o755


def basename_problem(basename):
    """Why basename cannot name the report files, or None."""
    if not basename or basename in ('.', '..') or '/' in basename or '\0' in basename:
        return 'basename must be a plain file name without a directory, not %r' % basename
    return None


def _state(path, fmt, content, comparable):
    """'same', 'mode' (same report, wrong mode) or 'differs'."""
    if os.path.islink(path) or comparable is None:
        # A link is for atomic_write to refuse with its explanation.
        return 'differs'
    existing = file_reads.read_file(path)
    if existing is None or comparable(fmt, existing.decode('utf-8', 'replace')) != comparable(fmt, content):
        return 'differs'
    if stat.S_IMODE(os.stat(path).st_mode) != REPORT_FILE_MODE:
        return 'mode'
    return 'same'


def report_paths(output_dir, basename, extensions, formats):
    """{format: path} of the report files."""
    return dict((fmt, os.path.join(output_dir, '%s.%s' % (basename, extensions[fmt]))) for fmt in formats)


def write_file(path, content, fmt=None, comparable=None, check_mode=False):
    """Replace path with content unless it holds the same report; True when it changed (or would, in check mode).

    Its directory must exist. Raises LocalFileError or OSError.
    """
    state = _state(path, fmt, content, comparable)
    if state == 'same':
        return False
    if check_mode:
        return True
    if state == 'mode':
        os.chmod(path, REPORT_FILE_MODE)
    elif os.geteuid() == 0:
        file_ops.atomic_write(path, content, REPORT_FILE_MODE)
    else:
        # The new file is the user's who runs ansible-playbook: one another user left (an earlier run whose
        # controller escalated) cannot be given back to them without root, and trying would refuse every run.
        file_ops.atomic_write(path, content, REPORT_FILE_MODE, owner=os.geteuid(), group=os.getegid())
    return True


def write_reports(output_dir, files, render, comparable=None, check_mode=False):
    """Write render(fmt) to each of files ({format: path}); True when a file changed (or would, in check mode).

    comparable(fmt, text) blanks what changes on every run (the generation time); without it every run
    rewrites. Raises LocalFileError or OSError.
    """
    changed = False
    for fmt, path in sorted(files.items()):
        content = render(fmt)
        # An existing directory may be a symlink to where the web server or node_exporter looks. A missing one
        # holds none of the files, so the file will be written.
        if not check_mode and not os.path.isdir(output_dir):
            file_ops.ensure_directory(output_dir, mode=REPORT_DIR_MODE)
        changed = write_file(path, content, fmt, comparable, check_mode) or changed
    return changed
