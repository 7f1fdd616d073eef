"""Random opaque secrets and their stored hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret (tokens, codes, client secrets)."""
    return secrets.token_urlsafe(nbytes)


def hash_secret(raw: str) -> str:
    """SHA-256 hex of a high-entropy secret. Enough for random tokens (no salt needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def secret_matches(raw: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(hash_secret(raw), stored_hash)
