"""Test-wide set-up: make the collection importable as ansible_collections.incomes_register.certificates."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
SANDBOX_SRC = os.path.join(ROOT, 'tests', 'sandbox')

for path in (COLLECTIONS, SANDBOX_SRC):
    if path not in sys.path:
        sys.path.insert(0, path)
