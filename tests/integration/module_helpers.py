"""What the module and fleet tests share: module arguments for the sandbox, service call counts, installed
pairs, keys under a passphrase, and an inventory of local hosts that renew against the sandbox."""
import yaml
from cryptography.hazmat.primitives import serialization

CUSTOMER = '1234567-8'


def service_args(sandbox, tmp_path, customer_id=CUSTOMER, **extra):
    args = dict(
        environment='TEST', endpoint=sandbox.url, customer_id=customer_id, customer_name='Example Oy',
        service_ca_path=sandbox.service_ca_pem, issuing_ca_path=sandbox.issuing_ca_pem,
        tls_ca_path=sandbox.tls_ca_pem, initial_delay=0, poll_interval=0.2, wait_timeout=30,
        path=str(tmp_path / 'certs' / 'cert.pem'), private_key_path=str(tmp_path / 'private' / 'key.pem'))
    args.update(extra)
    return args


def calls_delta(before, after):
    return dict((op, after.get(op, 0) - before.get(op, 0))
                for op in ('signNewCertificate', 'getCertificate', 'renewCertificate'))


def operation_counts(sandbox):
    return sandbox.calls()


def issued_pair(sandbox, tmp_path, expires_in_days, customer_id=CUSTOMER):
    """A certificate and key made by the sandbox's `issue` command, installed where the modules look."""
    (tmp_path / 'certs').mkdir(exist_ok=True)
    (tmp_path / 'private').mkdir(exist_ok=True, mode=0o700)
    key = str(tmp_path / 'private' / 'key.pem')
    cert = str(tmp_path / 'certs' / 'cert.pem')
    sandbox.issue(customer_id, new_key_path=key, expires_in_days=expires_in_days, out=cert)
    return cert, key


def encrypt_key(path, passphrase):
    """Rewrite the unencrypted PEM private key at path under passphrase (PKCS#8)."""
    with open(str(path), 'rb') as handle:
        key = serialization.load_pem_private_key(handle.read(), None)
    with open(str(path), 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(passphrase.encode())))


def fleet_inventory(path, sandbox, root, host_vars, **role_vars):
    """An inventory of local hosts, each keeping its certificate under root/<host>, that trust the sandbox's
    files where it wrote them; role_vars add or override role variables. Returns the path as a string."""
    variables = {
        'ansible_connection': 'local',
        'ansible_python_interpreter': '{{ ansible_playbook_python }}',
        'renewal_environment': 'TEST',
        'renewal_endpoint': sandbox.url,
        'renewal_service_ca_path': sandbox.service_ca_pem,
        'renewal_issuing_ca_path': sandbox.issuing_ca_pem,
        'renewal_tls_ca_path': sandbox.tls_ca_pem,
        'renewal_certificate_path': str(root) + '/{{ inventory_hostname }}/certificate.pem',
        'renewal_private_key_path': str(root) + '/{{ inventory_hostname }}/private/key.pem',
    }
    variables.update(role_vars)
    path.write_text(yaml.safe_dump({'all': {'vars': variables, 'hosts': host_vars}}))
    return str(path)
