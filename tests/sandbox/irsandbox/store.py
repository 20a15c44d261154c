"""The sandbox's state in SQLite: subscriptions, retrievals, certificates, settings, faults, counters.

The CLI and the server are separate processes and the server is multi-threaded, so every
operation opens its own connection (WAL, busy timeout) and every read-modify-write runs
in a BEGIN IMMEDIATE transaction.
"""
import contextlib
import datetime
import hashlib
import hmac
import os
import secrets
import sqlite3

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from irsandbox import profiles, protocol

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    customer_id TEXT PRIMARY KEY, name TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS transfers (
    transfer_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, environment TEXT NOT NULL,
    password_salt BLOB NOT NULL, password_hash BLOB NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL, used_at TEXT);
CREATE TABLE IF NOT EXISTS retrievals (
    retrieval_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, environment TEXT NOT NULL,
    customer_name TEXT, csr_der BLOB NOT NULL, origin TEXT NOT NULL,
    created_at TEXT NOT NULL, ready_at TEXT NOT NULL, serial TEXT);
CREATE TABLE IF NOT EXISTS certificates (
    serial TEXT PRIMARY KEY, customer_id TEXT NOT NULL, environment TEXT NOT NULL,
    not_before TEXT NOT NULL, not_after TEXT NOT NULL, origin TEXT NOT NULL,
    der BLOB NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, operation TEXT NOT NULL, kind TEXT NOT NULL,
    remaining INTEGER, seconds REAL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

DEFAULT_SETTINGS = {
    'retrieval_delay': 0.0,
    'validity_days': 730,
    'credential_lifetime_days': 14.0,
    'profile': profiles.DEFAULT,
    'not_ready_code': protocol.NOT_READY,
    'not_ready_message': protocol.NOT_READY_MESSAGE,
    'date_offset': 0.0,
}
SETTING_TYPES = {'retrieval_delay': float, 'validity_days': int, 'credential_lifetime_days': float,
                 'profile': str, 'not_ready_code': str, 'not_ready_message': str, 'date_offset': float}
PEAK = 'peak_concurrent'


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).isoformat()


def parse_iso(text):
    return datetime.datetime.fromisoformat(text)


def _hash_password(password, salt):
    # Transfer passwords are random, so the hash only keeps them out of the database; it
    # need not resist guessing, and a light work factor keeps every call fast.
    return hashlib.scrypt(password.encode('utf-8'), salt=salt, n=2 ** 12, r=8, p=1, dklen=32)


class Store:
    def __init__(self, path):
        self.path = path

    @classmethod
    def create(cls, path):
        for suffix in ('', '-wal', '-shm'):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path + suffix)
        store = cls(path)
        with store._connect() as db:
            db.execute('PRAGMA journal_mode=WAL')
            db.executescript(SCHEMA)
            db.executemany('INSERT INTO settings (name, value) VALUES (?, ?)',
                           [(name, str(value)) for name, value in DEFAULT_SETTINGS.items()])
        return store

    @contextlib.contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute('PRAGMA busy_timeout = 30000')
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _transaction(self):
        with self._connect() as db:
            db.execute('BEGIN IMMEDIATE')
            try:
                yield db
            except BaseException:
                db.execute('ROLLBACK')
                raise
            db.execute('COMMIT')

    # -- settings ---------------------------------------------------------------

    def settings(self):
        with self._connect() as db:
            rows = db.execute('SELECT name, value FROM settings').fetchall()
        values = dict(DEFAULT_SETTINGS)
        values.update({row['name']: SETTING_TYPES[row['name']](row['value']) for row in rows})
        return values

    def update_settings(self, **values):
        with self._transaction() as db:
            for name, value in values.items():
                if value is None:
                    continue
                db.execute('INSERT INTO settings (name, value) VALUES (?, ?) '
                           'ON CONFLICT(name) DO UPDATE SET value = excluded.value',
                           (name, str(SETTING_TYPES[name](value))))

    # -- subscriptions and transfer credentials -----------------------------------

    def add_subscription(self, customer_id, name, environment, transfer_id, password, expires_at):
        salt = secrets.token_bytes(16)
        with self._transaction() as db:
            self._upsert_customer(db, customer_id, name)
            db.execute('INSERT INTO transfers (transfer_id, customer_id, environment, password_salt, '
                       'password_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
                       (transfer_id, customer_id, environment, salt, _hash_password(password, salt),
                        iso(now()), iso(expires_at)))

    @staticmethod
    def _upsert_customer(db, customer_id, name):
        db.execute('INSERT INTO customers (customer_id, name, created_at) VALUES (?, ?, ?) '
                   'ON CONFLICT(customer_id) DO UPDATE SET name = COALESCE(excluded.name, customers.name)',
                   (customer_id, name, iso(now())))

    def find_transfer(self, transfer_id, customer_id, password):
        """The transfer row when id, customer and password all match, else None."""
        with self._connect() as db:
            row = db.execute('SELECT * FROM transfers WHERE transfer_id = ?', (transfer_id,)).fetchone()
        if row is None:
            # Hash anyway so a wrong id and a wrong password take the same time.
            _hash_password(password, b'\0' * 16)
            return None
        matches = hmac.compare_digest(_hash_password(password, row['password_salt']), row['password_hash'])
        if not matches or row['customer_id'] != customer_id:
            return None
        return dict(row)

    def consume_transfer(self, transfer_id, retrieval):
        """Mark the credentials used and create the retrieval, atomically; False if already used."""
        with self._transaction() as db:
            updated = db.execute('UPDATE transfers SET used_at = ? WHERE transfer_id = ? AND used_at IS NULL',
                                 (iso(now()), transfer_id)).rowcount
            if not updated:
                return False
            self._insert_retrieval(db, retrieval)
        return True

    # -- retrievals and certificates ---------------------------------------------

    def add_retrieval(self, retrieval):
        with self._transaction() as db:
            self._insert_retrieval(db, retrieval)

    @staticmethod
    def _insert_retrieval(db, retrieval):
        db.execute('INSERT INTO retrievals (retrieval_id, customer_id, environment, customer_name, csr_der, '
                   'origin, created_at, ready_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                   (retrieval['retrieval_id'], retrieval['customer_id'], retrieval['environment'],
                    retrieval.get('customer_name'), retrieval['csr_der'], retrieval['origin'],
                    iso(now()), iso(retrieval['ready_at'])))

    def find_retrieval(self, retrieval_id):
        with self._connect() as db:
            row = db.execute('SELECT * FROM retrievals WHERE retrieval_id = ?', (retrieval_id,)).fetchone()
        return dict(row) if row else None

    def certificate_for_retrieval(self, retrieval_id, issue):
        """The retrieval's certificate; issue() makes it on the first successful retrieval."""
        with self._transaction() as db:
            row = db.execute('SELECT * FROM retrievals WHERE retrieval_id = ?', (retrieval_id,)).fetchone()
            if row['serial'] is not None:
                return self._load_der(db, row['serial'])
            cert = issue(row)
            serial = self._insert_certificate(db, cert, row['customer_id'], row['environment'], row['origin'])
            db.execute('UPDATE retrievals SET serial = ? WHERE retrieval_id = ?', (serial, retrieval_id))
            return cert

    @staticmethod
    def _load_der(db, serial):
        row = db.execute('SELECT der FROM certificates WHERE serial = ?', (serial,)).fetchone()
        return x509.load_der_x509_certificate(row['der'])

    def add_certificate(self, cert, customer_id, customer_name, environment, origin):
        with self._transaction() as db:
            self._upsert_customer(db, customer_id, customer_name)
            return self._insert_certificate(db, cert, customer_id, environment, origin)

    @staticmethod
    def _insert_certificate(db, cert, customer_id, environment, origin):
        serial = str(cert.serial_number)
        db.execute('INSERT INTO certificates (serial, customer_id, environment, not_before, not_after, origin, der) '
                   'VALUES (?, ?, ?, ?, ?, ?, ?)',
                   (serial, customer_id, environment, iso(cert.not_valid_before_utc),
                    iso(cert.not_valid_after_utc), origin, cert.public_bytes(serialization.Encoding.DER)))
        return serial

    def find_certificate(self, serial):
        with self._connect() as db:
            row = db.execute('SELECT * FROM certificates WHERE serial = ?', (serial,)).fetchone()
        return dict(row) if row else None

    def revoke(self, serial):
        with self._transaction() as db:
            return bool(db.execute('UPDATE certificates SET revoked_at = COALESCE(revoked_at, ?) WHERE serial = ?',
                                   (iso(now()), serial)).rowcount)

    def snapshot(self):
        """Everything the list command shows; never a password or its hash."""
        with self._connect() as db:
            customers = [dict(row) for row in db.execute(
                'SELECT customer_id, name, created_at FROM customers ORDER BY customer_id')]
            transfers = [dict(row) for row in db.execute(
                'SELECT transfer_id, customer_id, environment, created_at, expires_at, used_at '
                'FROM transfers ORDER BY created_at')]
            certificates = [dict(row) for row in db.execute(
                'SELECT serial, customer_id, environment, not_before, not_after, origin, revoked_at '
                'FROM certificates ORDER BY not_after')]
            retrievals = [dict(row) for row in db.execute(
                'SELECT retrieval_id, customer_id, environment, origin, created_at, ready_at, serial '
                'FROM retrievals ORDER BY created_at')]
        return {'customers': customers, 'transfers': transfers, 'certificates': certificates,
                'retrievals': retrievals}

    # -- faults ------------------------------------------------------------------

    def add_fault(self, operation, kind, times, seconds):
        with self._transaction() as db:
            return db.execute('INSERT INTO faults (operation, kind, remaining, seconds, created_at) '
                              'VALUES (?, ?, ?, ?, ?)', (operation, kind, times, seconds, iso(now()))).lastrowid

    def faults(self):
        with self._connect() as db:
            return [dict(row) for row in db.execute('SELECT * FROM faults ORDER BY id')]

    def clear_faults(self, operation=None):
        with self._transaction() as db:
            if operation is None:
                return db.execute('DELETE FROM faults').rowcount
            return db.execute('DELETE FROM faults WHERE operation = ?', (operation,)).rowcount

    def take_fault(self, operation, kinds):
        """Use up the oldest fault of one of kinds set for operation (or 'all'); None if there is none."""
        placeholders = ','.join('?' * len(kinds))
        with self._transaction() as db:
            row = db.execute(f'SELECT * FROM faults WHERE operation IN (?, ?) AND kind IN ({placeholders}) '
                             'ORDER BY id LIMIT 1', (operation, 'all', *kinds)).fetchone()
            if row is None:
                return None
            if row['remaining'] is not None:
                if row['remaining'] <= 1:
                    db.execute('DELETE FROM faults WHERE id = ?', (row['id'],))
                else:
                    db.execute('UPDATE faults SET remaining = remaining - 1 WHERE id = ?', (row['id'],))
            return dict(row)

    # -- call counters -------------------------------------------------------------

    def count_call(self, operation):
        with self._transaction() as db:
            db.execute('INSERT INTO counters (name, value) VALUES (?, 1) '
                       'ON CONFLICT(name) DO UPDATE SET value = value + 1', (operation,))

    def record_concurrency(self, in_flight):
        with self._transaction() as db:
            db.execute('INSERT INTO counters (name, value) VALUES (?, ?) '
                       'ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)', (PEAK, in_flight))

    def calls(self):
        with self._connect() as db:
            return {row['name']: row['value'] for row in db.execute('SELECT name, value FROM counters')}

    def reset_calls(self):
        with self._transaction() as db:
            db.execute('DELETE FROM counters')
