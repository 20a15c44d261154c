#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: certificate_install
short_description: Deploy an Incomes Register certificate and key in the layout a service reads
version_added: 0.1.0
description:
  - Copies the certificate kept by M(incomes_register.certificates.certificate_request) and
    M(incomes_register.certificates.certificate_renew), with its private key and CA chain, into the
    file layout the software that calls the Incomes Register expects.
  - Layouts are V(pem) (certificate, key and optional chain in separate files), V(combined) (key,
    certificate and chain in one PEM file), V(fullchain) (certificate and chain in one file, key
    beside it) and V(pkcs12) (one encrypted PKCS#12 file).
  - Files are written atomically and only when their content differs (a PKCS#12 file is compared by
    what it contains, since its encryption differs each time), so a rerun reports no change.
  - Private keys never appear in a diff. Files holding a key are written with O(private_key_mode).
  - A destination that is a symbolic link or not a regular file, or that is the same file as a source or as
    another destination (also through a linked directory), is refused before anything is written, backups
    included, in check mode as in a real run.
author:
  - Incomes Register certificates collection maintainers (@incomes-register)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports which files would change; writes nothing.
  diff_mode:
    support: full
    details:
      - Shows certificate and chain files in full; files with a private key only as changed or not.
      - The old content of a destination is not shown when it holds a private key or is binary (for
        example a former combined file or keystore).
  platform:
    platforms: posix
options:
  certificate_path:
    description: The certificate to install (PEM or DER), usually RV(incomes_register.certificates.certificate_request#module:path).
    type: path
    required: true
  private_key_path:
    description: Its private key (PEM). Must belong to the certificate.
    type: path
    required: true
  private_key_passphrase:
    description: Passphrase of O(private_key_path). Never logged.
    type: str
  chain_path:
    description: PEM bundle of CA certificates to include, issuer first (for example the issuing CA file).
    type: path
  layout:
    description: The file layout to write.
    type: str
    choices: [pem, combined, fullchain, pkcs12]
    default: pem
  dest:
    description:
      - The main file of the layout - the certificate for V(pem), the single file for V(combined) and
        V(pkcs12), the certificate-plus-chain file for V(fullchain).
    type: path
    required: true
  private_key_dest:
    description:
      - Where to write the private key (unencrypted PKCS#8 PEM). Required for the V(pem) and V(fullchain) layouts.
    type: path
  chain_dest:
    description: Where to write the chain for the V(pem) layout. Without it the chain is not written.
    type: path
  pkcs12_passphrase:
    description: Passphrase that encrypts the PKCS#12 file. Required for V(pkcs12). Never logged.
    type: str
  friendly_name:
    description: Friendly name (alias) of the certificate inside the PKCS#12 file of the V(pkcs12) layout.
    type: str
  owner:
    description: Owner of the written files.
    type: str
  group:
    description: Group of the written files.
    type: str
  mode:
    description: Mode of files without a private key, as an octal string.
    type: raw
    default: '0644'
  private_key_mode:
    description: Mode of files that hold a private key, as an octal string.
    type: raw
    default: '0600'
  backup:
    description: Keep a timestamped copy of every file that is replaced.
    type: bool
    default: false
requirements:
  - cryptography >= 41
seealso:
  - module: incomes_register.certificates.certificate_renew
'''

EXAMPLES = r'''
- name: Separate PEM files for a Java or Python client
  incomes_register.certificates.certificate_install:
    certificate_path: /etc/incomes-register/certificate.pem
    private_key_path: /etc/incomes-register/private/key.pem
    chain_path: /etc/incomes-register/trust/issuing-ca.pem
    layout: pem
    dest: /opt/payroll/tls/client.crt
    private_key_dest: /opt/payroll/tls/client.key
    chain_dest: /opt/payroll/tls/chain.pem
    owner: payroll
    group: payroll
  notify: Restart payroll

- name: A PKCS#12 keystore
  incomes_register.certificates.certificate_install:
    certificate_path: /etc/incomes-register/certificate.pem
    private_key_path: /etc/incomes-register/private/key.pem
    chain_path: /etc/incomes-register/trust/issuing-ca.pem
    layout: pkcs12
    dest: /opt/payroll/keystore.p12
    pkcs12_passphrase: "{{ vault_keystore_passphrase }}"
    friendly_name: incomes-register
'''

RETURN = r'''
files:
  description: Every file of the layout, with whether this run wrote it.
  returned: always
  type: list
  elements: dict
  sample:
    - {role: certificate, path: /opt/payroll/tls/client.crt, changed: true}
    - {role: private_key, path: /opt/payroll/tls/client.key, changed: false}
backups:
  description: Backups of replaced files, by path.
  returned: always
  type: dict
fingerprint_sha256:
  description: SHA-256 fingerprint of the installed certificate.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, dependencies
from ansible_collections.incomes_register.certificates.plugins.module_utils._install import install_layouts
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            certificate_path=dict(type='path', required=True),
            private_key_path=dict(type='path', required=True),
            private_key_passphrase=dict(type='str', no_log=True),
            chain_path=dict(type='path'),
            layout=dict(type='str', default='pem', choices=list(install_layouts.LAYOUTS)),
            dest=dict(type='path', required=True),
            private_key_dest=dict(type='path'),
            chain_dest=dict(type='path'),
            pkcs12_passphrase=dict(type='str', no_log=True),
            friendly_name=dict(type='str'),
            owner=dict(type='str'),
            group=dict(type='str'),
            mode=dict(type='raw', default='0644'),
            private_key_mode=dict(type='raw', default='0600', no_log=False),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    dependencies.require_libraries(module, 'cryptography')
    from ansible_collections.incomes_register.certificates.plugins.module_utils._install import installation
    from ansible_collections.incomes_register.certificates.plugins.module_utils._crypto.certificates import describe_certificate
    params = module.params
    files, backups, diffs = [], {}, []
    try:
        cert, key, chain = installation.load_source(params)
        owner_uid, group_gid = installation.ownership(params)
        for entry in installation.plan(params, cert, key, chain):
            changed = entry.content_differs or installation.attributes_differ(entry, owner_uid, group_gid)
            if changed and not module.check_mode:
                backup = installation.apply(entry, params)
                if backup:
                    backups[entry.path] = backup
            if changed:
                diffs.append(installation.diff_entry(entry))
            files.append(dict(role=entry.role, path=entry.path, changed=changed))
    except CertificateServiceError as error:
        argspec.fail_from_error(module, error)
    result = dict(changed=any(f['changed'] for f in files), files=files, backups=backups,
                  fingerprint_sha256=describe_certificate(cert)['fingerprint_sha256'])
    if module._diff:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
