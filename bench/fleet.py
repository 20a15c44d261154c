"""Build a fleet of N local "hosts" with real certificates, and its inventory.

Certificates are issued in-process with the sandbox's own issuing CA (irsandbox.pki.Pki.issue)
and recorded in the sandbox store exactly as `ir-sandbox issue` does, so the sandbox accepts
them as renewal signers. Doing it in-process instead of one `ir-sandbox issue` per host saves
a Python start-up (~0.3 s here) per certificate.

Keys come from a small pool: an RSA-2048 key costs ~50 ms to generate, 500 of them would
dominate the set-up, and neither the audit nor the renewal cares whether two hosts share a
key (each renewal generates its own new key, which is what the benchmark measures).
"""
import datetime
import os

import yaml
from cryptography.hazmat.primitives import serialization
from irsandbox import pki
from irsandbox.layout import Layout
from irsandbox.store import Store

KEY_POOL_SIZE = 8
_key_pool = []


def _pool_key(index):
    while len(_key_pool) < KEY_POOL_SIZE:
        _key_pool.append(pki.new_rsa_key(2048))
    return _key_pool[index % KEY_POOL_SIZE]


def customer_id(number):
    # Business ID shaped (7 digits, dash, check digit); the sandbox checks only that it is the CN.
    return '%07d-%d' % (number, number % 10)


def _write(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(data)


def build(root, sandbox_dir, count, expires_in_days, prefix='h', first_customer=2000000):
    """Write count hosts <prefix>0000... under root/hosts; expires_in_days(index) -> days until each expires.

    Returns {host: customer_id}.
    """
    layout = Layout(sandbox_dir)
    authority = pki.Pki.load(layout)
    store = Store(layout.database)
    now = pki.utcnow()
    hosts = {}
    for index in range(count):
        name, customer = '%s%04d' % (prefix, index), customer_id(first_customer + index)
        key = _pool_key(index)
        not_after = now + datetime.timedelta(days=expires_in_days(index))
        cert = authority.issue(key.public_key(), customer, 'Bench Oy', not_after - datetime.timedelta(days=730),
                               not_after)
        store.add_certificate(cert, customer, 'Bench Oy', 'TEST', 'issue')
        directory = os.path.join(root, 'hosts', name)
        os.makedirs(os.path.join(directory, 'private'), mode=0o700, exist_ok=True)
        _write(os.path.join(directory, 'certificate.pem'), pki.cert_pem(cert).encode('ascii'), 0o644)
        _write(os.path.join(directory, 'private', 'key.pem'),
               key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()), 0o600)
        hosts[name] = customer
    return hosts


def write_inventory(path, root, sandbox, hosts, python):
    """The inventory the integration tests use (tests/integration/test_playbooks.py), for N hosts."""
    host_dir = os.path.join(root, 'hosts', '{{ inventory_hostname }}')
    inventory = {'all': {
        'vars': {
            'ansible_connection': 'local',
            'ansible_python_interpreter': python,
            'renewal_environment': 'TEST',
            'renewal_endpoint': sandbox.url,
            'renewal_service_ca_path': sandbox.service_ca_pem,
            'renewal_issuing_ca_path': sandbox.issuing_ca_pem,
            'renewal_tls_ca_path': sandbox.tls_ca_pem,
            'renewal_certificate_path': host_dir + '/certificate.pem',
            'renewal_private_key_path': host_dir + '/private/key.pem',
            'renewal_initial_delay': 0,
            'renewal_poll_interval': 0.2,
        },
        'hosts': dict((name, {'renewal_customer_id': customer}) for name, customer in hosts.items()),
    }}
    with open(path, 'w') as handle:
        yaml.safe_dump(inventory, handle)
    return path
