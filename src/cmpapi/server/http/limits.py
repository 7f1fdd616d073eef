"""``RequestLimits``: the bounds every request meets before any route sees it.

- the request head: headers over ``max_header_bytes`` in all are 431, a path plus query
  string over it 414;
- NUL characters anywhere in the path, query string or a JSON or form body are refused
  naming where they are (PostgreSQL cannot store them, SQLite stored them silently);
- bodies over ``max_body_bytes`` are 413, from ``Content-Length`` before a byte is read, or
  as soon as a streamed body passes the limit: a body is never read whole first.

Upload endpoints that stream bytes to storage (``/uploads``) keep their own size limits and
get their body untouched. Refusals use the CMP error shape, or RFC 6749's under
``/o/oauth2/`` where clients expect ``{"error": ...}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cmpapi.server.http.errors import error_body
from cmpapi.server.http.responses import json_response

NUL_MESSAGE = "NUL characters are not allowed"
# JSON escapes NUL as \u0000; a raw NUL byte is invalid JSON and the route refuses it.
_JSON_NUL = b"\\u0000"
_STREAMED = ("/uploads",)
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequestTooLarge(Exception):
    """A streamed body went past the limit while it was being read."""


class RequestLimits:
    """Pure ASGI middleware (no per-request objects on the hot path of a GET)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.max_head = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._check_head(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        path: str = scope["path"]
        if scope["method"] in _BODILESS or path.startswith(_STREAMED) or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        if _content_length(scope) > self.max_body:
            await _too_large(path)(scope, receive, send)
            return
        try:
            body = await self._read(receive)
        except RequestTooLarge:
            await _too_large(path)(scope, receive, send)
            return
        refusal = _check_body(scope, body)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _check_head(self, scope: Scope) -> Response | None:
        path: str = scope["path"]
        query: bytes = scope["query_string"]
        if sum(len(k) + len(v) for k, v in scope["headers"]) > self.max_head:
            return _refuse(path, 431, "Request headers too large")
        if len(scope.get("raw_path") or path) + len(query) > self.max_head:
            return _refuse(path, 414, "Request URI too long")
        if "\x00" in path:
            return _refuse(path, 400, NUL_MESSAGE, {"path": NUL_MESSAGE})
        if b"%00" in query or b"\x00" in query:
            names = _nul_form_fields(query)
            return _refuse(path, 400, NUL_MESSAGE, dict.fromkeys(names, NUL_MESSAGE))
        return None

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # disconnected: the route sees an empty body and the client is gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise RequestTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _has_body(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"transfer-encoding" or (key == b"content-length" and value != b"0"):
            return True
    return False


def _content_length(scope: Scope) -> int:
    for key, value in scope["headers"]:
        if key == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _content_type(scope: Scope) -> bytes:
    for key, value in scope["headers"]:
        if key == b"content-type":
            return bytes(value.split(b";", 1)[0].strip().lower())
    return b""


def _check_body(scope: Scope, body: bytes) -> Response | None:
    kind = _content_type(scope)
    path: str = scope["path"]
    if kind == b"application/x-www-form-urlencoded" and (b"%00" in body or b"\x00" in body):
        names = _nul_form_fields(body)
        return _refuse(path, 400, NUL_MESSAGE, dict.fromkeys(names, NUL_MESSAGE))
    if _JSON_NUL in body:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None  # not JSON: the route says so
        paths = [".".join(p) or "body" for p in _nul_paths(data, ())]
        if paths:
            status = 400 if path.startswith("/o/oauth2/") else 422
            return _refuse(path, status, "Invalid request body", dict.fromkeys(paths, NUL_MESSAGE))
    return None


def _nul_form_fields(raw: bytes) -> list[str]:
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    names = [k.replace("\x00", "\\0") for k, v in pairs if "\x00" in k or "\x00" in v]
    return names or ["query"]


def _nul_paths(data: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(data, str):
        if "\x00" in data:
            yield path
    elif isinstance(data, dict):
        for key, value in data.items():
            if "\x00" in key:
                yield (*path, key.replace("\x00", "\\0"))
            yield from _nul_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _nul_paths(value, (*path, str(index)))


def _too_large(path: str) -> Response:
    return _refuse(path, 413, "Request body too large")


def _refuse(path: str, status: int, message: str, errors: dict[str, str] | None = None) -> Response:
    """The refusal as a response (an ASGI app), in the shape the endpoint's clients read."""
    if path.startswith("/o/oauth2/"):
        return json_response({"error": "invalid_request", "error_description": message}, status)
    return json_response(error_body(message, errors), status)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the buffered body over once, then the connection's own."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
