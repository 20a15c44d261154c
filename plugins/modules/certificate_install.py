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
  - Files are written only when their content differs (a PKCS#12 file is compared by what it contains, since
    its encryption differs each time), so a rerun reports no change.
  - The files of a layout are replaced together - each is first written in full, with its mode and owner, to a
    temporary file beside it, and only then are they all renamed into place. A failure before that (a full
    disk, an owner that cannot be set, a directory that cannot be created) leaves the old files in place,
    never a new certificate beside the old key, and removes the temporary files and this run's backups.
  - Private keys never appear in a diff. Files holding a key are written with O(private_key_mode).
  - O(certificate_path), O(private_key_path) and O(dest) are required unless every entry of O(targets) gives them.
  - With O(targets), deploys several certificates or layouts in one module run (the renewal role deploys all
    the certificates of a host so); each target that fails is reported in RV(results) and does not stop the
    others, and the task fails, as a loop would, when any of them failed.
  - A destination that is a symbolic link or not a regular file, or that is the same file as a source or as
    another destination (also through a linked directory), is refused before anything is written, backups
    included, in check mode as in a real run.
  - With O(targets), every target is planned before the first is written. A file that several targets would
    write with the same bytes, mode, owner and group (one CA bundle as the chain of several certificates) is
    written once. A file that they would write differently, or that one target would write over another's
    source, is refused - the targets that would write it differently (or the one that would overwrite a source)
    fail, naming each other, and the other targets are deployed.
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
  private_key_path:
    description: Its private key (PEM). Must belong to the certificate.
    type: path
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
      - Required, unless every entry of O(targets) gives it.
    type: path
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
    description:
      - Mode of files without a private key, as an octal string (V('0644')). A mode with bits above V('0777'), as
        an unquoted V(644) gives (the number 644), is refused.
    type: raw
    default: '0644'
  private_key_mode:
    description:
      - Mode of files that hold a private key, as an octal string. One that lets others read the key or its group
        write it (V('0644'), V('0660'), or an unquoted V(440), which is 0o670) is refused; V('0640') lets a
        service's group read it.
    type: raw
    default: '0600'
  backup:
    description: Keep a timestamped copy of every file that is replaced.
    type: bool
    default: false
  targets:
    description:
      - Several deployments in one run. Each entry takes the options of this module except O(targets); what it
        leaves out is the task's own option.
    type: list
    elements: dict
    suboptions:
      certificate_path:
        description: The certificate to install. Default O(certificate_path).
        type: path
      private_key_path:
        description: Its private key. Default O(private_key_path).
        type: path
      private_key_passphrase:
        description: Passphrase of the private key. Never logged. Default O(private_key_passphrase).
        type: str
      chain_path:
        description: Chain to include. Default O(chain_path).
        type: path
      layout:
        description: The file layout. Default O(layout).
        type: str
        choices: [pem, combined, fullchain, pkcs12]
      dest:
        description: The main file of the layout. Default O(dest).
        type: path
      private_key_dest:
        description: Where to write the private key. Default O(private_key_dest).
        type: path
      chain_dest:
        description: Where to write the chain. Default O(chain_dest).
        type: path
      pkcs12_passphrase:
        description: Passphrase of the PKCS#12 file. Never logged. Default O(pkcs12_passphrase).
        type: str
      friendly_name:
        description: Friendly name inside the PKCS#12 file. Default O(friendly_name).
        type: str
      owner:
        description: Owner of the written files. Default O(owner).
        type: str
      group:
        description: Group of the written files. Default O(group).
        type: str
      mode:
        description: Mode of files without a private key. Default O(mode).
        type: raw
      private_key_mode:
        description: Mode of files that hold a private key. Default O(private_key_mode).
        type: raw
      backup:
        description: Keep a copy of every file that is replaced. Default O(backup).
        type: bool
requirements:
  - cryptography >= 43
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
results:
  description:
    - With O(targets), one result per entry, in order, each with RV(files), RV(backups), RV(fingerprint_sha256),
      C(changed), C(failed) and C(msg) when it failed, and the entry's C(index), C(certificate_path), C(dest)
      and C(layout).
  returned: when O(targets) is given
  type: list
  elements: dict
files:
  description: Every file of the layout, with whether this run wrote it.
  returned: when O(targets) is not given
  type: list
  elements: dict
  sample:
    - {role: certificate, path: /opt/payroll/tls/client.crt, changed: true}
    - {role: private_key, path: /opt/payroll/tls/client.key, changed: false}
backups:
  description: Backups of replaced files, by path.
  returned: when O(targets) is not given
  type: dict
fingerprint_sha256:
  description: SHA-256 fingerprint of the installed certificate.
  returned: when O(targets) is not given
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.incomes_register.certificates.plugins.module_utils import argspec, dependencies
from ansible_collections.incomes_register.certificates.plugins.module_utils._install import install_layouts
from ansible_collections.incomes_register.certificates.plugins.module_utils.errors import CertificateServiceError


def main():
    options = dict(
        certificate_path=dict(type='path'),
        private_key_path=dict(type='path'),
        private_key_passphrase=dict(type='str', no_log=True),
        chain_path=dict(type='path'),
        layout=dict(type='str', default='pem', choices=list(install_layouts.LAYOUTS)),
        dest=dict(type='path'),
        private_key_dest=dict(type='path'),
        chain_dest=dict(type='path'),
        pkcs12_passphrase=dict(type='str', no_log=True),
        friendly_name=dict(type='str'),
        owner=dict(type='str'),
        group=dict(type='str'),
        mode=dict(type='raw', default='0644'),
        private_key_mode=dict(type='raw', default='0600', no_log=False),
        backup=dict(type='bool', default=False),
    )
    module = AnsibleModule(
        argument_spec=dict(options, targets=dict(type='list', elements='dict', options=dict(
            (name, dict((key, value) for key, value in option.items() if key != 'default'))
            for name, option in options.items()))),
        supports_check_mode=True,
    )
    dependencies.require_libraries(module, 'cryptography')
    from ansible_collections.incomes_register.certificates.plugins.module_utils._install import batch
    if module.params['targets'] is not None:
        batch.install_many(module)
    missing = [name for name in batch.REQUIRED if module.params.get(name) is None]
    if missing:
        module.fail_json(msg='missing required arguments: %s' % ', '.join(missing))
    try:
        result = batch.install(module.params, module.check_mode, module._diff)
    except CertificateServiceError as error:
        argspec.fail_from_error(module, error)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
