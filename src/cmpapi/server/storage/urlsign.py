"""Signed, expiring URLs for the local backend's own endpoints (downloads, part uploads),
and the deployment secret that signs them.

A signature is an HMAC-SHA256 over the purpose, the path and every parameter that matters,
with a key derived per purpose, so a download signature can never pass as an upload one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

SECRET_FILE = "storage-secret"  # noqa: S105 - a file name, not a secret
_MAX_EXPIRES_DIGITS = 12


def load_or_create_secret(data_dir: Path) -> str:
    """The deployment's storage secret from ``<data_dir>/storage-secret``; created (0600) on
    first use. Processes racing to create it all end up reading the same file."""
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    for _ in range(50):  # another process may be between O_EXCL and its write
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty")


class UrlSigner:
    """Signs and checks query strings: ``expires`` (unix seconds) and ``signature``."""

    def __init__(self, secret: str) -> None:
        self._root = secret.encode()

    def _key(self, purpose: str) -> bytes:
        return hmac.new(self._root, f"cmpapi-url:{purpose}".encode(), hashlib.sha256).digest()

    def _digest(self, purpose: str, path: str, params: Mapping[str, str], expires: str) -> str:
        # JSON, not joined lines: values are attacker-chosen and must not shift between fields.
        message = json.dumps([purpose, path, expires, sorted(params.items())])
        return hmac.new(self._key(purpose), message.encode(), hashlib.sha256).hexdigest()

    def sign(
        self, purpose: str, path: str, params: Mapping[str, str], *, ttl: int, now: float
    ) -> dict[str, str]:
        """``params`` plus ``expires`` and ``signature``, ready for a query string."""
        expires = str(int(now) + ttl)
        signature = self._digest(purpose, path, params, expires)
        return {**params, "expires": expires, "signature": signature}

    def verify(
        self, purpose: str, path: str, query: Mapping[str, str], names: tuple[str, ...], now: float
    ) -> tuple[str, str] | None:
        """None when the query is a live signature over ``names``, else the S3 error code and
        message to answer."""
        expires = query.get("expires", "")
        signature = query.get("signature", "")
        if not expires.isdigit() or len(expires) > _MAX_EXPIRES_DIGITS or not signature:
            return "AccessDenied", "Query-string authentication requires expires and signature"
        params = {name: query.get(name, "") for name in names}
        expected = self._digest(purpose, path, params, expires)
        if not hmac.compare_digest(expected, signature.lower()):
            return "SignatureDoesNotMatch", "The request signature does not match"
        if int(expires) <= now:
            return "AccessDenied", "Request has expired"
        return None
