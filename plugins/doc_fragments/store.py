# -*- coding: utf-8 -*-
# Copyright: Incomes Register certificates collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Options of the modules that keep a certificate and its key on the managed host.
    DOCUMENTATION = r'''
options:
  path:
    description:
      - Absolute path of the certificate (PEM) on the managed host.
      - Next to it the module keeps C(<path>.lock) (serialises runs), C(<path>.state.json) while a
        request is in flight, C(<path>.new) for a moment during the swap, and with O(change_mark=true)
        C(<path>.changed) from the swap until the services are known to use the new pair.
    type: path
    required: true
  private_key_path:
    description:
      - Absolute path of the certificate's private key (PEM, PKCS#8). Keys are generated on the managed host,
        written atomically with mode C(0600), and never leave it.
      - A key being requested lives at C(<private_key_path>.new) until its certificate is installed.
      - Each certificate needs a key path of its own, since a renewal replaces the key. The key's lock file
        C(<private_key_path>.lock) names the certificate the key belongs to, and another certificate is refused.
    type: path
    required: true
  private_key_passphrase:
    description:
      - Passphrase that protects the private key files. Never logged.
    type: str
  key_size:
    description:
      - Size in bits of a newly generated RSA key, one of the sizes public clients of the service are known to use.
      - A key an earlier run made for a request still in flight (C(<private_key_path>.new)) is used again as it
        is, whatever its size, since the service may issue its certificate for that key.
    type: int
    default: 2048
    choices: [2048, 3072]
  owner:
    description:
      - Owner of the certificate and key files a run writes (a new or renewed pair). The key stays readable by its
        owner only.
      - Without it, a renewed pair keeps the owner of the files it replaces. Files already in place are not changed
        until they are replaced; to hand a certificate to a service with settings of its own, use
        M(incomes_register.certificates.certificate_install).
      - Set it only to the user the tasks run as (C(become_user)), since every later run reads the key and refuses
        one owned by another user than the one running the task.
    type: str
  group:
    description:
      - Group of the certificate and key files a run writes; without it, a renewed pair keeps the group of the files
        it replaces. Files already in place are not changed until they are replaced.
    type: str
  mode:
    description:
      - Mode of the certificate file a run writes, as an octal string; a certificate already in place keeps its
        mode until it is replaced. The private key is always C(0600). A mode with bits above V('0777'), as an
        unquoted V(644) gives (the number 644), is refused.
    type: raw
    default: '0644'
  backup:
    description:
      - Keep a timestamped copy of the replaced certificate and key when a new pair is installed.
    type: bool
    default: true
  change_mark:
    description:
      - When a new certificate and key are put in place, first leave a mark beside the certificate,
        C(<path>.changed), and report it as RV(change_mark) on every run while it is there, whatever the run
        does. The module never removes it; whatever restarts or reloads the services that read the certificate
        removes it once they have been, so a run that stopped in between (killed, or a restart that failed) is
        still known to need that restart on the next run, which finds nothing to renew.
      - The renewal role sets this, and its handlers remove the mark after restarting the certificate's
        services.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for another run that holds the lock on this certificate before failing.
    type: int
    default: 600
'''
