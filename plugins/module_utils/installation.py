# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""certificate_install's logic: plan which files of a layout differ, then write only those."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

from ansible_collections.incomes_register.certificates.plugins.module_utils import certificates as certs
from ansible_collections.incomes_register.certificates.plugins.module_utils import file_ops
from ansible_collections.incomes_register.certificates.plugins.module_utils import install_layouts
from ansible_collections.incomes_register.certificates.plugins.module_utils import keys
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError

# Roles whose file holds a private key: written with private_key_mode, never shown in a diff.
SECRET_ROLES = ('private_key', 'combined', 'pkcs12')
# Which option names the destination of each role.
DESTINATION_OPTION = {
    'certificate': 'dest', 'combined': 'dest', 'fullchain': 'dest', 'pkcs12': 'dest',
    'private_key': 'private_key_dest', 'chain': 'chain_dest',
}


class PlannedFile(object):

    def __init__(self, role, path, data, mode, secret):
        self.role = role
        self.path = path
        self.data = data
        self.mode = mode
        self.secret = secret
        self.content_differs = True
        self.before = None


def _read_required(path, what):
    data = file_ops.read_file(path)
    if data is None:
        raise CertificateServiceError('The %s %s does not exist' % (what, path))
    return data


def load_source(params):
    cert = certs.load_certificate(_read_required(params['certificate_path'], 'certificate'))
    key_path = params['private_key_path']
    file_ops.check_private_file(key_path, owner=params.get('owner'))
    key = keys.load_private_key(_read_required(key_path, 'private key'), params.get('private_key_passphrase'))
    if not keys.keys_match(key, cert):
        raise CertificateServiceError('The private key %s does not belong to the certificate %s; nothing was '
                                      'installed.' % (key_path, params['certificate_path']))
    chain = []
    if params.get('chain_path'):
        chain = certs.load_pem_bundle(_read_required(params['chain_path'], 'chain'))
    return cert, key, chain


def plan(params, cert, key, chain):
    layout = params['layout']
    if layout == 'pkcs12' and not params.get('pkcs12_passphrase'):
        raise CertificateServiceError('layout=pkcs12 needs pkcs12_passphrase')
    rendered = install_layouts.render_layout(layout, cert, key, chain, passphrase=params.get('pkcs12_passphrase'),
                                             friendly_name=params.get('friendly_name'))
    planned = []
    for role in sorted(rendered):
        option = DESTINATION_OPTION[role]
        path = params.get(option)
        if not path:
            if role == 'chain':
                continue
            raise CertificateServiceError('layout=%s writes a %s file: set %s' % (layout, role, option))
        secret = role in SECRET_ROLES
        mode = params['private_key_mode'] if secret else params['mode']
        entry = PlannedFile(role, path, rendered[role], file_ops.parse_mode(mode), secret)
        entry.before = file_ops.read_file(path)
        if role == 'pkcs12':
            entry.content_differs = not install_layouts.pkcs12_matches(
                entry.before, params['pkcs12_passphrase'], key, cert, chain, params.get('friendly_name'))
        else:
            entry.content_differs = entry.before != entry.data
        planned.append(entry)
    _refuse_shared_destinations(planned)
    return planned


def _refuse_shared_destinations(planned):
    seen = {}
    for entry in planned:
        if entry.path in seen:
            raise CertificateServiceError('%s and %s would both be written to %s'
                                          % (seen[entry.path], entry.role, entry.path))
        seen[entry.path] = entry.role


def attributes_differ(entry, owner_uid, group_gid):
    try:
        info = os.lstat(entry.path)
    except FileNotFoundError:
        return True
    return (stat.S_IMODE(info.st_mode) != entry.mode
            or (owner_uid is not None and info.st_uid != owner_uid)
            or (group_gid is not None and info.st_gid != group_gid))


def apply(entry, params):
    """Write one planned file; returns the backup path or None."""
    backup = None
    if params.get('backup') and entry.before is not None:
        backup = file_ops.backup_file(entry.path)
    directory = os.path.dirname(os.path.abspath(entry.path))
    if not os.path.isdir(directory):
        file_ops.ensure_directory(directory, 0o700 if entry.secret else 0o755,
                                  owner=params.get('owner'), group=params.get('group'))
    file_ops.atomic_write(entry.path, entry.data, entry.mode, owner=params.get('owner'), group=params.get('group'))
    return backup


def diff_entry(entry):
    """A diff that never shows a private key: secret files show only that they change."""
    if entry.secret:
        return dict(before_header=entry.path, after_header=entry.path,
                    before='' if entry.before is None else '(secret content not shown)\n',
                    after='(secret content not shown, changed)\n' if entry.content_differs else
                    '(secret content not shown)\n')
    return dict(before_header=entry.path, after_header=entry.path,
                before=(entry.before or b'').decode('utf-8', 'replace'),
                after=entry.data.decode('utf-8', 'replace'))


def ownership(params):
    """(uid, gid) asked for by owner and group, None where not given."""
    return (file_ops.resolve_uid(params.get('owner')) if params.get('owner') else None,
            file_ops.resolve_gid(params.get('group')) if params.get('group') else None)
