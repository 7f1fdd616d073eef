"""PKCE (RFC 7636): ``S256`` and ``plain`` code challenges.

The challenge is checked at the authorization endpoint and stored with the code; the
token request must then carry the matching ``code_verifier``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from base64 import urlsafe_b64encode

from cmpapi.server.oauth.errors import InvalidGrant, InvalidRequest

# RFC 7636 §4.1/§4.2: 43-128 unreserved characters (the same shape for both values).
_SHAPE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
METHODS = ("S256", "plain")


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_challenge(challenge: str | None, method: str | None) -> tuple[str | None, str | None]:
    """The ``(challenge, method)`` to store with a code; ``invalid_request`` if malformed."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method sent without code_challenge")
        return None, None
    method = method or "plain"  # RFC 7636 §4.3 default
    if method not in METHODS:
        raise InvalidRequest("Unsupported code_challenge_method (use S256)")
    if not _SHAPE.fullmatch(challenge):
        raise InvalidRequest("Malformed code_challenge")
    return challenge, method


def verify(verifier: str | None, challenge: str | None, method: str | None) -> None:
    """Raise ``invalid_grant`` unless ``verifier`` matches the code's challenge."""
    if challenge is None:
        # RFC 9700 §4.8.2: a verifier without a challenge hints at a PKCE downgrade.
        if verifier is not None:
            raise InvalidGrant("code_verifier sent, but the authorization had no code_challenge")
        return
    if verifier is None:
        raise InvalidGrant("Missing code_verifier for this code")
    if not _SHAPE.fullmatch(verifier):
        raise InvalidGrant("Malformed code_verifier")
    expected = s256(verifier) if method == "S256" else verifier
    if not hmac.compare_digest(expected.encode("ascii"), challenge.encode("ascii")):
        raise InvalidGrant("code_verifier does not match the code_challenge")
