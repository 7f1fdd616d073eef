"""Parameters of token, revocation and form requests: one parser for form and JSON bodies.

CMP clients disagree on the encoding (the current SDKs post
``application/x-www-form-urlencoded``, the older Node SDK and several connectors post
``application/json``), so every OAuth endpoint accepts both and reads the same fields.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import parse_qsl, unquote_plus

import orjson
from fastapi import Depends, Request

from cmpapi.server.oauth.errors import InvalidClient, InvalidRequest

MAX_BODY = 64 * 1024  # far above any OAuth request; a larger body is refused unread


@dataclass(frozen=True, slots=True)
class OAuthParams:
    """The request's parameters, plus client credentials sent with HTTP Basic and the
    client's address (sign-in throttling)."""

    values: Mapping[str, str] = field(default_factory=dict)
    basic: tuple[str, str] | None = None
    client_host: str | None = None

    def get(self, name: str) -> str | None:
        """The parameter's value; empty values count as absent (RFC 6749 §3.1)."""
        return self.values.get(name) or None

    def require(self, name: str) -> str:
        """The parameter's value, or ``invalid_request`` naming it."""
        value = self.get(name)
        if value is None:
            raise InvalidRequest(f"Missing '{name}' parameter")
        return value


async def read_params(request: Request) -> OAuthParams:
    """Dependency: the body's parameters (form or JSON) and any Basic credentials."""
    body = await _read_body(request)
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    is_json = media_type == "application/json" or media_type.endswith("+json")
    values = _json_values(body) if is_json else _form_values(body)
    basic = basic_credentials(request.headers.get("authorization"))
    return OAuthParams(values, basic, request.client.host if request.client else None)


Params = Annotated[OAuthParams, Depends(read_params)]


async def _read_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise InvalidRequest("Request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _form_values(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise InvalidRequest("The body is not UTF-8") from exc
    values: dict[str, str] = {}
    for key, value in pairs:
        # RFC 6749 §3.1/§3.2: parameters must not be repeated.
        if key in values:
            raise InvalidRequest(f"Parameter '{key}' is repeated")
        values[key] = value
    return values


def _json_values(body: bytes) -> dict[str, str]:
    if not body.strip():
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest("The body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("The JSON body must be an object")
    values: dict[str, str] = {}
    for key, value in data.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"Parameter '{key}' must be a string")
        values[key] = value
    return values


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` of an ``Authorization: Basic`` header, if any.

    RFC 6749 §2.3.1: both parts are form-urlencoded before base64 encoding.
    """
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("Malformed HTTP Basic credentials", used_basic=True) from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise InvalidClient("Malformed HTTP Basic credentials", used_basic=True)
    return unquote_plus(client_id), unquote_plus(secret)
