"""ir-sandbox: command line of the Incomes Register certificate service sandbox."""
import argparse
import datetime
import json
import logging
import os
import secrets
import string
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from irsandbox import control, faults, pki, profiles, protocol, server
from irsandbox.layout import Layout
from irsandbox.store import Store, iso, now

DIR_VARIABLE = 'IR_SANDBOX_DIR'
PASSWORD_SPECIALS = '-_.+!'
# Settings kept in the database, which `serve`, `start` and `config` all change.
STORED_SETTINGS = ('retrieval_delay', 'validity_days', 'credential_lifetime_days', 'profile', 'not_ready_code',
                   'not_ready_message', 'date_offset')


class UsageError(Exception):
    pass


def _layout(args, must_exist=True):
    layout = Layout(os.path.abspath(args.dir))
    if must_exist and not layout.is_initialised():
        raise UsageError('%s is not an initialised sandbox directory; run: ir-sandbox init --dir %s'
                         % (layout.root, args.dir))
    return layout


def _print_json(data):
    print(json.dumps(data, indent=2, sort_keys=True))


def _serve_options(args):
    options = []
    for name in ('host', 'port') + STORED_SETTINGS:
        value = getattr(args, name)
        if value is not None:
            options += ['--' + name.replace('_', '-'), str(value)]
    return options


def _apply_settings(layout, args):
    Store(layout.database).update_settings(**{name: getattr(args, name) for name in STORED_SETTINGS})


# -- commands -------------------------------------------------------------------------

def cmd_init(args):
    layout = _layout(args, must_exist=False)
    if layout.is_initialised() and not args.force:
        raise UsageError('%s is already initialised; use --force to start over' % layout.root)
    if control.running_info(layout):
        raise UsageError('a sandbox server is running for %s; stop it first' % layout.root)
    os.makedirs(layout.root, exist_ok=True)
    pki.create(layout)
    Store.create(layout.database)
    print('Initialised sandbox in %s' % layout.root)
    print('Trust anchors: %s (response signatures), %s (customer certificates), %s (HTTPS)'
          % (layout.service_ca_pem, layout.issuing_ca_pem, layout.tls_ca_pem))


def cmd_serve(args):
    layout = _layout(args)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format='%(asctime)s %(message)s')
    _apply_settings(layout, args)
    server.serve(layout, args.host or '127.0.0.1', args.port or 0)


def cmd_start(args):
    layout = _layout(args)
    try:
        dummy, info = control.start(layout, _serve_options(args), timeout=args.timeout)
    except control.ControlError as exc:
        raise UsageError('%s\n%s' % (exc, _log_tail(layout))) from None
    print(info['url'])


def _log_tail(layout, lines=20):
    try:
        with open(layout.server_log, encoding='utf-8', errors='replace') as handle:
            return ''.join(handle.readlines()[-lines:])
    except OSError:
        return ''


def cmd_stop(args):
    layout = _layout(args)
    try:
        stopped = control.stop(layout)
    except control.ControlError as exc:
        raise UsageError(str(exc)) from None
    print('stopped' if stopped else 'not running')


def cmd_status(args):
    layout = _layout(args)
    info = control.running_info(layout)
    if args.json:
        _print_json(dict(info or {}, running=bool(info)))
    else:
        print('running at %s (pid %d)' % (info['url'], info['pid']) if info else 'not running')
    return 0 if info else 3


def _transfer_password():
    """16 characters, the longest the schema allows, with a special character that clients must escape."""
    alphabet = string.ascii_letters + string.digits + PASSWORD_SPECIALS
    while True:
        rest = ''.join(secrets.choice(alphabet) for dummy in range(15))
        if any(c in PASSWORD_SPECIALS for c in rest) and any(c.isdigit() for c in rest):
            return secrets.choice(string.ascii_letters) + rest


def cmd_subscribe(args):
    layout = _layout(args)
    store = Store(layout.database)
    lifetime = args.expires_in_days
    if lifetime is None:
        lifetime = store.settings()['credential_lifetime_days']
    transfer_id = secrets.token_hex(16)
    password = _transfer_password()
    expires_at = now() + datetime.timedelta(days=lifetime)
    store.add_subscription(args.customer_id, args.name, args.environment, transfer_id, password, expires_at)
    if args.json:
        _print_json({'customer_id': args.customer_id, 'environment': args.environment,
                     'transfer_id': transfer_id, 'transfer_password': password, 'expires_at': iso(expires_at)})
    else:
        # Printing the one-time credentials is the point: this stands in for the secure email.
        print('Customer:         %s (%s)' % (args.customer_id, args.environment))
        print('TransferId:       %s' % transfer_id)
        print('TransferPassword: %s' % password)
        print('Expires:          %s' % iso(expires_at))


def _public_key_for_issue(args):
    if args.csr:
        with open(args.csr, 'rb') as handle:
            data = handle.read()
        csr = (x509.load_pem_x509_csr(data) if data.lstrip().startswith(b'-----')
               else x509.load_der_x509_csr(data))
        return csr.public_key()
    if args.key:
        with open(args.key, 'rb') as handle:
            data = handle.read()
        try:
            return serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            try:
                return serialization.load_pem_public_key(data)
            except ValueError:
                raise UsageError('%s is neither an unencrypted PEM private key nor a PEM public key'
                                 % args.key) from None
    key = pki.new_rsa_key(args.key_size)
    pki.write_private_key(args.new_key, key)
    return key.public_key()


def _validity(args):
    if args.not_before or args.not_after:
        if not (args.not_before and args.not_after):
            raise UsageError('--not-before and --not-after go together')
        return _parse_time(args.not_before), _parse_time(args.not_after)
    if args.expires_in_days is None:
        raise UsageError('give --expires-in-days, or --not-before and --not-after')
    not_after = now().replace(microsecond=0) + datetime.timedelta(days=args.expires_in_days)
    valid_days = args.valid_days
    if valid_days is None:
        # Default: two years, but never a certificate that is not valid yet.
        return min(now().replace(microsecond=0), not_after - datetime.timedelta(days=730)), not_after
    return not_after - datetime.timedelta(days=valid_days), not_after


def _parse_time(text):
    moment = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def cmd_issue(args):
    layout = _layout(args)
    not_before, not_after = _validity(args)
    if not_after <= not_before:
        raise UsageError('the certificate would expire before it becomes valid')
    cert = pki.Pki.load(layout).issue(_public_key_for_issue(args), args.customer_id, args.name,
                                      not_before, not_after)
    store = Store(layout.database)
    serial = store.add_certificate(cert, args.customer_id, args.name, args.environment, 'issue')
    pem = pki.cert_pem(cert)
    if args.out:
        with open(args.out, 'w', encoding='ascii') as handle:
            handle.write(pem)
    result = {'serial': serial, 'serial_hex': '%X' % cert.serial_number, 'customer_id': args.customer_id,
              'environment': args.environment, 'not_before': iso(cert.not_valid_before_utc),
              'not_after': iso(cert.not_valid_after_utc), 'certificate_pem': pem,
              'certificate_path': os.path.abspath(args.out) if args.out else None,
              'key_path': os.path.abspath(args.new_key or args.key) if (args.new_key or args.key) else None}
    if args.json:
        _print_json(result)
    elif args.out:
        print('serial %s, valid %s .. %s, written to %s' % (serial, result['not_before'], result['not_after'],
                                                            args.out))
    else:
        sys.stdout.write(pem)


def cmd_list(args):
    snapshot = Store(_layout(args).database).snapshot()
    moment = now()
    for retrieval in snapshot['retrievals']:
        retrieval['state'] = ('retrieved' if retrieval['serial'] else
                              'ready' if datetime.datetime.fromisoformat(retrieval['ready_at']) <= moment
                              else 'pending')
    for cert in snapshot['certificates']:
        cert['revoked'] = bool(cert['revoked_at'])
    if args.json:
        _print_json(snapshot)
        return
    print('Customers:')
    for customer in snapshot['customers']:
        print('  %-12s %s' % (customer['customer_id'], customer['name'] or ''))
    print('Transfer credentials:')
    for transfer in snapshot['transfers']:
        print('  %s %-12s %-10s expires %s%s' % (transfer['transfer_id'], transfer['customer_id'],
                                                 transfer['environment'], transfer['expires_at'],
                                                 ' USED' if transfer['used_at'] else ''))
    print('Certificates:')
    for cert in snapshot['certificates']:
        print('  %s %-12s %-10s not after %s%s' % (cert['serial'], cert['customer_id'], cert['environment'],
                                                   cert['not_after'], ' REVOKED' if cert['revoked'] else ''))
    print('Retrievals:')
    for retrieval in snapshot['retrievals']:
        print('  %s %-12s %-10s %s' % (retrieval['retrieval_id'], retrieval['customer_id'],
                                       retrieval['environment'], retrieval['state']))


def _parse_serial(text):
    text = text.strip()
    if text.isdigit():
        return str(int(text))
    cleaned = text.lower().removeprefix('0x').replace(':', '')
    try:
        return str(int(cleaned, 16))
    except ValueError:
        raise UsageError('--serial must be decimal, or hexadecimal with 0x or colons') from None


def cmd_revoke(args):
    serial = _parse_serial(args.serial)
    if not Store(_layout(args).database).revoke(serial):
        raise UsageError('no certificate with serial %s' % args.serial)
    print('revoked %s' % serial)


def cmd_config(args):
    layout = _layout(args)
    _apply_settings(layout, args)
    settings = Store(layout.database).settings()
    if args.json:
        _print_json(settings)
    else:
        for name, value in sorted(settings.items()):
            print('%s = %s' % (name, value))


def cmd_fault_set(args):
    problem = faults.validate(args.operation, args.kind, args.times, args.seconds)
    if problem:
        raise UsageError(problem)
    fault_id = Store(_layout(args).database).add_fault(args.operation, args.kind, args.times, args.seconds)
    print('fault %d: %s on %s %s' % (fault_id, args.kind, args.operation,
                                     'until cleared' if args.times is None else '%d time(s)' % args.times))


def cmd_fault_list(args):
    rows = Store(_layout(args).database).faults()
    if args.json:
        _print_json(rows)
        return
    if not rows:
        print('no faults set')
    for row in rows:
        print('%d %s %s remaining=%s seconds=%s' % (row['id'], row['operation'], row['kind'],
                                                    'until-cleared' if row['remaining'] is None else row['remaining'],
                                                    row['seconds'] if row['seconds'] is not None else '-'))


def cmd_fault_clear(args):
    cleared = Store(_layout(args).database).clear_faults(args.operation)
    print('cleared %d fault(s)' % cleared)


def cmd_calls(args):
    store = Store(_layout(args).database)
    counters = store.calls()
    result = {operation: counters.get(operation, 0) for operation in protocol.OPERATIONS}
    result['total'] = sum(result.values())
    result['peak_concurrent'] = counters.get('peak_concurrent', 0)
    if args.reset:
        store.reset_calls()
    if args.json:
        _print_json(result)
    else:
        for name in (*protocol.OPERATIONS, 'total', 'peak_concurrent'):
            print('%s: %d' % (name, result[name]))


# -- argument parsing -------------------------------------------------------------------

def _non_negative(text):
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError('must be zero or more')
    return value


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be at least 1')
    return value


def _schema_string(limit):
    """A value the response schema accepts: a normalized string of 1 to limit characters."""
    def parse(text):
        if not text or len(text) > limit or any(c in text for c in '\t\r\n'):
            raise argparse.ArgumentTypeError('must be 1 to %d characters, without tabs or line breaks' % limit)
        return text
    return parse


def _add_setting_flags(parser):
    parser.add_argument('--date-offset', type=float, metavar='SECONDS',
                        help='shift the HTTP Date header by this many seconds, negative for the past: '
                             'a server clock that is off (stored; default 0 at init)')
    parser.add_argument('--retrieval-delay', type=_non_negative, metavar='SECONDS',
                        help='seconds before a requested certificate can be retrieved (stored; default 0 at init)')
    parser.add_argument('--validity-days', type=_positive_int,
                        help='validity of issued certificates (stored; default 730 at init)')
    parser.add_argument('--credential-lifetime-days', type=float,
                        help='lifetime of new transfer credentials (stored; default 14 at init)')
    parser.add_argument('--profile', choices=sorted(profiles.PROFILES),
                        help='response shapes: real (as the real service answers) or minimal (plain); '
                             'stored; default %s at init' % profiles.DEFAULT)
    parser.add_argument('--not-ready-code', type=_schema_string(protocol.MAX_ERROR_CODE), metavar='CODE',
                        help='ErrorCode of the getCertificate answer "not ready yet" (stored; default %s at init)'
                             % protocol.NOT_READY)
    parser.add_argument('--not-ready-message', type=_schema_string(protocol.MAX_ERROR_MESSAGE), metavar='TEXT',
                        help='ErrorMessage of that answer (stored)')


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--dir', default=os.environ.get(DIR_VARIABLE), required=DIR_VARIABLE not in os.environ,
                        help='sandbox data directory (default: $%s)' % DIR_VARIABLE)
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument('--json', action='store_true', help='machine-readable output')
    serve_flags = argparse.ArgumentParser(add_help=False)
    serve_flags.add_argument('--host', help='address to bind (default 127.0.0.1)')
    serve_flags.add_argument('--port', type=int, help='port (default 0: any free port)')
    _add_setting_flags(serve_flags)

    parser = argparse.ArgumentParser(prog='ir-sandbox', description=__doc__)
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    def command(name, handler, help_text, parents=()):
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[common, *parents])
        sub.set_defaults(handler=handler)
        return sub

    sub = command('init', cmd_init, 'create the PKI, the database and the trust files')
    sub.add_argument('--force', action='store_true', help='start over, discarding all state')
    command('serve', cmd_serve, 'run the HTTPS service in the foreground', [serve_flags])
    sub = command('start', cmd_start, 'start the service in the background and print its URL', [serve_flags])
    sub.add_argument('--timeout', type=float, default=30.0, help='seconds to wait until it answers')
    command('stop', cmd_stop, 'stop the background service')
    command('status', cmd_status, 'is the service running? (exit status 3 when not)', [json_flag])

    sub = command('subscribe', cmd_subscribe, 'play the e-service: print one-time transfer credentials',
                  [json_flag])
    sub.add_argument('--customer-id', required=True)
    sub.add_argument('--name', help='organisation name')
    sub.add_argument('--environment', choices=protocol.ENVIRONMENTS, default='TEST')
    sub.add_argument('--expires-in-days', type=float,
                     help='credential lifetime (default: the configured lifetime; negative: already expired)')

    sub = command('issue', cmd_issue, 'issue a certificate directly, with any validity window', [json_flag])
    sub.add_argument('--customer-id', required=True)
    sub.add_argument('--name', help='organisation name (subject O)')
    sub.add_argument('--environment', choices=protocol.ENVIRONMENTS, default='TEST')
    key_source = sub.add_mutually_exclusive_group(required=True)
    key_source.add_argument('--csr', help='certificate request (PEM or DER) whose key to certify')
    key_source.add_argument('--key', help='PEM private or public key to certify')
    key_source.add_argument('--new-key', metavar='OUT', help='generate an RSA key, write it here (mode 0600)')
    sub.add_argument('--key-size', type=int, default=2048, help='bits for --new-key (default 2048)')
    sub.add_argument('--expires-in-days', type=float, help='negative: already expired')
    sub.add_argument('--valid-days', type=float,
                     help='total validity (default 730, extended so the certificate is valid from now)')
    sub.add_argument('--not-before', help='ISO 8601 time (UTC unless it has an offset)')
    sub.add_argument('--not-after', help='ISO 8601 time (UTC unless it has an offset)')
    sub.add_argument('--out', help='write the PEM certificate here instead of stdout')

    command('list', cmd_list, 'customers, transfer credentials, certificates and retrievals', [json_flag])
    sub = command('revoke', cmd_revoke, 'revoke a certificate (its renewal requests are refused)')
    sub.add_argument('--serial', required=True, help='decimal, or hexadecimal with 0x or colons')

    sub = command('config', cmd_config, 'change settings of a running or stopped service', [json_flag])
    _add_setting_flags(sub)

    fault = commands.add_parser('fault', help='inject faults at run time', description='inject faults at run time')
    fault_commands = fault.add_subparsers(dest='fault_command', required=True, metavar='ACTION')
    kinds_help = 'kinds:\n' + '\n'.join('  %-22s %s' % (kind, text) for kind, text in faults.KINDS.items())
    sub = fault_commands.add_parser('set', help='add a fault', parents=[common], epilog=kinds_help,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.set_defaults(handler=cmd_fault_set)
    sub.add_argument('--operation', required=True, choices=faults.FAULT_OPERATIONS)
    sub.add_argument('--kind', required=True, choices=list(faults.KINDS))
    sub.add_argument('--times', type=int, help='how many requests it hits (default: until cleared)')
    sub.add_argument('--seconds', type=_non_negative, help='for delay')
    sub = fault_commands.add_parser('list', help='list faults', parents=[common, json_flag])
    sub.set_defaults(handler=cmd_fault_list)
    sub = fault_commands.add_parser('clear', help='remove faults', parents=[common])
    sub.set_defaults(handler=cmd_fault_clear)
    sub.add_argument('--operation', choices=faults.FAULT_OPERATIONS, help='only those of this operation')

    sub = command('calls', cmd_calls, 'calls served per operation and peak concurrency since start or reset',
                  [json_flag])
    sub.add_argument('--reset', action='store_true', help='reset the counters after printing them')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args) or 0
    except (UsageError, OSError, ValueError) as exc:
        print('ir-sandbox: %s' % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
