"""Response profiles: how the answers look on the wire; the rules and request checks are the same in all.

`real` reproduces what public clients of the real service show (see the README for the
evidence behind each quirk); `minimal` keeps the sandbox's earlier, plainer shapes, so a
client can be tested against both.
"""
from dataclasses import dataclass

# The wrapping the real service's answers show is Java's MIME base64: 76 characters a line,
# CRLF between lines; lxml writes each CR as &#13;, as the real service's answers have it.
JAVA_LINE_LENGTH = 76
JAVA_LINE_BREAK = '\r\n'


@dataclass(frozen=True)
class Profile:
    name: str
    soap_prefix: str
    empty_header: bool       # an empty SOAP Header before the Body
    java_base64: bool        # Certificate, SignatureValue and X509Certificate wrapped as Java wraps them
    signer_under_intermediate: bool  # response signer below an issuing CA (else directly below the root)

    def base64_text(self, text):
        """base64 text (wrapped or not) as this profile writes it."""
        if not self.java_base64:
            return text
        flat = ''.join(text.split())
        return JAVA_LINE_BREAK.join(flat[start:start + JAVA_LINE_LENGTH]
                                    for start in range(0, len(flat), JAVA_LINE_LENGTH))


REAL = Profile('real', soap_prefix='SOAP-ENV', empty_header=True, java_base64=True, signer_under_intermediate=True)
MINIMAL = Profile('minimal', soap_prefix='S', empty_header=False, java_base64=False,
                  signer_under_intermediate=False)
PROFILES = {profile.name: profile for profile in (REAL, MINIMAL)}
DEFAULT = REAL.name
