"""A local, faithful stand-in for the Incomes Register certificate service (SOAP over HTTPS)."""

__version__ = '0.1.0'
