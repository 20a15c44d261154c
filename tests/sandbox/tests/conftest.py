"""Fixtures for the sandbox tests: a running sandbox, reusable keys and an independent SOAP client."""
import itertools
import os
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from irsandbox.testing import RunningSandbox

# The tests import their helper module (wire_client) from this directory.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from wire_client import Client  # noqa: E402


@pytest.fixture(scope='session')
def keys():
    """Reusable RSA-2048 keys: generating keys is the slow part of these tests."""
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for dummy in range(6)]


@pytest.fixture(scope='session')
def sandbox(tmp_path_factory):
    with RunningSandbox(tmp_path_factory.mktemp('sandbox') / 'data') as running:
        yield running


@pytest.fixture
def client(sandbox):
    return Client(sandbox)


@pytest.fixture
def faulty(sandbox):
    """The shared sandbox, for a test that sets faults: they are cleared afterwards."""
    yield sandbox
    sandbox.clear_faults()


_customer_numbers = itertools.count(1000001)


@pytest.fixture
def customer_id():
    """A customer id no other test uses, shaped like a Business ID."""
    return '%07d-1' % next(_customer_numbers)
