"""Standard Webhooks signatures (https://www.standardwebhooks.com), as the ``standardwebhooks``
package verifies them: ``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>``
where ``key`` is the base64 part of the webhook's ``whsec_...`` signing key.

One implementation for both ends: the server's deliveries sign with it, the SDK verifies
with it (and ``cmpapi listen`` signs). Standard library only, so the SDK can import it
without the server's packages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
KEY_BYTES = 32  # the spec asks for 24 to 64 random bytes


def new_signing_key() -> str:
    """A fresh ``whsec_<base64>`` key."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def key_bytes(signing_key: str) -> bytes:
    """The raw HMAC key of a ``whsec_<base64>`` signing key (the prefix is optional);
    ``ValueError`` for one that is not."""
    text = signing_key.strip().removeprefix(PREFIX)
    try:  # padding restored: some tools print keys without it
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the signing_key is not a whsec_<base64> key") from None
    if not key:
        raise ValueError("the signing_key is empty")
    return key


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one attempt. ``surrogatepass``: an id
    read from a received header may hold bytes that are not UTF-8; it must not fail."""
    signed = b"%s.%d.%s" % (msg_id.encode("utf-8", "surrogatepass"), timestamp, body)
    mac = hmac.new(key, signed, hashlib.sha256)
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
