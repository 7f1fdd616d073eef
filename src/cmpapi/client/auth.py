"""Tokens, token stores and the pieces of the authorization code flow that need no I/O.

A :class:`Token` is what the token endpoint answered, with its expiry made absolute. A
:class:`TokenStore` keeps the current token between runs (``FileTokenStore`` for CLIs, a
JSON file only its owner can read); the client saves every token it obtains into it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

# A token this close to its expiry is refreshed before it is sent: a request that leaves
# with a token about to expire could be refused on arrival.
EXPIRY_MARGIN_SECONDS = 30.0
DEFAULT_SCOPE = "openid profile offline_access"


@dataclass(frozen=True)
class Token:
    """An access token, and what renews it."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret
    expires_at: float | None = None  # Unix time; None: unknown, used until refused
    refresh_token: str | None = None
    scope: str | None = None

    @classmethod
    def from_response(cls, body: Mapping[str, Any], now: float | None = None) -> Token:
        """The token of a token endpoint answer (``expires_in`` made absolute)."""
        expires_in = body.get("expires_in")
        now = time.time() if now is None else now
        return cls(
            access_token=str(body["access_token"]),
            token_type=str(body.get("token_type") or "Bearer"),
            expires_at=now + float(expires_in) if expires_in is not None else None,
            refresh_token=body.get("refresh_token"),
            scope=body.get("scope"),
        )

    def expiring(self, now: float | None = None) -> bool:
        """Whether the token expires within the margin (so it should be renewed first)."""
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) >= self.expires_at - EXPIRY_MARGIN_SECONDS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what :class:`FileTokenStore` writes)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """The token :meth:`to_dict` wrote."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class TokenStore(Protocol):
    """Where a client keeps its current token between calls and runs."""

    def load(self) -> Token | None:
        """The stored token, or None."""

    def save(self, token: Token | None) -> None:
        """Store ``token`` (None forgets it)."""


@dataclass
class MemoryTokenStore:
    """A token store that lives as long as the process."""

    token: Token | None = None

    def load(self) -> Token | None:
        """The stored token, or None."""
        return self.token

    def save(self, token: Token | None) -> None:
        """Store ``token`` (None forgets it)."""
        self.token = token


@dataclass
class FileTokenStore:
    """Tokens in a JSON file readable by its owner only (mode 0600), one entry per
    ``key`` (a CLI keeps one per profile). Writes replace the file atomically."""

    path: Path
    key: str = "default"

    def load(self) -> Token | None:
        """The stored token, or None."""
        entry = self._read().get(self.key)
        return Token.from_dict(entry) if isinstance(entry, dict) else None

    def save(self, token: Token | None) -> None:
        """Store ``token`` (None forgets it)."""
        entries = self._read()
        if token is None:
            entries.pop(self.key, None)
        else:
            entries[self.key] = token.to_dict()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(entries, out, indent=2)
        os.replace(temporary, self.path)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class AuthorizationRequest:
    """One authorization code request: the URL to open, and what the callback and the
    code exchange must match (``state``, ``code_verifier``, ``redirect_uri``)."""

    url: str
    redirect_uri: str
    state: str
    code_verifier: str = field(repr=False)


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE ``(code_verifier, S256 code_challenge)`` (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_request(
    authorization_url: str,
    client_id: str,
    redirect_uri: str,
    scope: str = DEFAULT_SCOPE,
    state: str | None = None,
) -> AuthorizationRequest:
    """The URL that starts an authorization code flow with PKCE (S256) and a random state."""
    verifier, challenge = pkce_pair()
    state = state or secrets.token_urlsafe(24)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in authorization_url else "?"
    return AuthorizationRequest(
        f"{authorization_url}{separator}{query}", redirect_uri, state, verifier
    )
