"""Names fixed by the wire contract: namespaces, operations, the endpoint path and error codes."""

SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/'
SOAP12_ENV_NS = 'http://www.w3.org/2003/05/soap-envelope'
APP_NS = 'http://certificates.vero.fi/2017/10/certificateservices'
DS_NS = 'http://www.w3.org/2000/09/xmldsig#'

# Clients must not depend on prefixes; the response profile chooses the envelope's, and
# the application namespace gets the one JAX-WS servers use, so prefix-dependent clients
# fail here first.
APP_PREFIX = 'ns2'

ENDPOINT_PATH = '/2017/10/CertificateServices'

SIGN_NEW = 'signNewCertificate'
GET = 'getCertificate'
RENEW = 'renewCertificate'
OPERATIONS = (SIGN_NEW, GET, RENEW)

# Request root element (local name) -> operation, and operation -> response root element.
REQUEST_ELEMENTS = {
    'SignNewCertificateRequest': SIGN_NEW,
    'GetCertificateRequest': GET,
    'RenewCertificateRequest': RENEW,
}
RESPONSE_ELEMENTS = {
    SIGN_NEW: 'SignNewCertificateResponse',
    GET: 'GetCertificateResponse',
    RENEW: 'RenewCertificateResponse',
}

ENVIRONMENTS = ('TEST', 'PRODUCTION')

MAX_REQUEST_BYTES = 64 * 1024

# Sandbox-defined error codes (the real service's are unknown beyond the PKI+3 digits form).
MALFORMED = 'PKI001'
WRONG_ENVIRONMENT = 'PKI002'
BAD_CREDENTIALS = 'PKI003'
CREDENTIALS_USED = 'PKI004'
CREDENTIALS_EXPIRED = 'PKI005'
BAD_CSR = 'PKI006'
WRONG_CN = 'PKI007'
NOT_READY = 'PKI008'  # the default; the not-ready answer is configurable
UNKNOWN_RETRIEVAL = 'PKI009'
BAD_SIGNATURE = 'PKI010'
SIGNER_NOT_ACCEPTED = 'PKI011'
RENEWAL_TOO_EARLY = 'PKI012'
KEY_REUSED = 'PKI013'
UNSUPPORTED_KEY = 'PKI014'
REFUSED = 'PKI015'  # the `refused` fault only
INTERNAL_ERROR = 'PKI099'

RENEWAL_WINDOW_DAYS = 60
MIN_RSA_BITS = 2048
NOT_READY_MESSAGE = 'The certificate is not ready yet; retry later'
# Limits of ErrorCode and ErrorMessage in the schema.
MAX_ERROR_CODE = 16
MAX_ERROR_MESSAGE = 255
