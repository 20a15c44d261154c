"""Where everything lives inside a sandbox data directory."""
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    root: str

    def _join(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def pki_dir(self):
        return self._join('pki')

    @property
    def trust_dir(self):
        return self._join('trust')

    def pki(self, name):
        return self._join('pki', name)

    @property
    def service_ca_pem(self):
        return self._join('trust', 'service-signing-ca.pem')

    @property
    def issuing_ca_pem(self):
        return self._join('trust', 'issuing-ca.pem')

    @property
    def tls_ca_pem(self):
        return self._join('trust', 'tls-ca.pem')

    @property
    def database(self):
        return self._join('sandbox.sqlite')

    @property
    def server_json(self):
        return self._join('server.json')

    @property
    def server_log(self):
        return self._join('server.log')

    def is_initialised(self):
        return os.path.exists(self.database) and os.path.exists(self.pki('issuing-ca.key'))
