"""The scopes the CMP defines: ``openid profile offline_access`` (no resource scopes).

Permissions come from the token's user, so scopes only shape what a token says about
itself; an unknown scope is still an error (``invalid_scope``), as clients expect.
"""

from __future__ import annotations

import re

from cmpapi.server.oauth.errors import InvalidScope

# RFC 6749 §3.3 scope-token characters; anything else is never echoed back.
_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")

SUPPORTED_SCOPES = ("openid", "profile", "offline_access")
DEFAULT_SCOPE = " ".join(SUPPORTED_SCOPES)  # the same as store.DEFAULT_SCOPE

DESCRIPTIONS = {
    "openid": "Know who you are (your user id)",
    "profile": "Read your name and username",
    "offline_access": "Stay connected when you are not using the app (refresh tokens)",
}


def resolve_scope(requested: str | None, allowed: str = DEFAULT_SCOPE) -> str:
    """The scope to grant: ``requested`` within ``allowed``, or all of ``allowed`` if omitted.

    The result is normalised (deduplicated, in the canonical order) so stored scopes
    compare as strings. Anything outside ``allowed`` raises ``invalid_scope``.
    """
    if requested is None or not requested.strip():
        return allowed
    wanted = set(requested.split())
    if not all(_TOKEN.fullmatch(token) for token in wanted):
        raise InvalidScope("Malformed scope")
    outside = wanted - set(allowed.split())
    if outside:
        raise InvalidScope(f"Scope not allowed: {' '.join(sorted(outside))} (allowed: {allowed})")
    return " ".join(s for s in SUPPORTED_SCOPES if s in wanted)
