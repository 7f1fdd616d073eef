"""Standard Webhooks signatures (https://www.standardwebhooks.com), as the ``standardwebhooks``
package verifies them: ``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>``
where ``key`` is the base64 part of the webhook's ``whsec_...`` signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
KEY_BYTES = 32  # the spec asks for 24 to 64 random bytes


def new_signing_key() -> str:
    """A fresh ``whsec_<base64>`` key."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def key_bytes(signing_key: str) -> bytes:
    """The raw HMAC key of a ``whsec_...`` signing key."""
    return base64.b64decode(signing_key.removeprefix(PREFIX))


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt."""
    mac = hmac.new(key, b"%s.%d.%s" % (msg_id.encode(), timestamp, body), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def headers(
    key: bytes, msg_id: str, timestamp: int, body: bytes, secret: str | None
) -> dict[str, str]:
    """Every header of a delivery attempt except the transport's own."""
    out = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, msg_id, timestamp, body),
    }
    if secret:
        out["callback-secret"] = secret
    return out
