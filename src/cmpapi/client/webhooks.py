"""Receiving CMP webhooks: check a delivery (``verify``), turn its body into a typed event
(``parse_event``), or let ``webhook_app``, a plain ASGI app, do both for every POST and
call a handler with the event.

A delivery is a POST of ``{"event_name": ..., "data": {...}}``. The CMP proves who sent it
with a ``Callback-Secret`` header carrying the webhook's secret as is; cmpapi also signs
it the Standard Webhooks way (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``:
``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` under the webhook's
``whsec_...`` signing key), which also proves the body is intact and recent.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from cmpapi import standard_webhooks
from cmpapi.client.events import EVENT_TYPES, Event, KnownEvent, UnknownEvent

log = logging.getLogger("cmpapi.client.webhooks")

SIGNING_KEY_PREFIX = standard_webhooks.PREFIX
signing_key_bytes = standard_webhooks.key_bytes
new_signing_key = standard_webhooks.new_signing_key
DEFAULT_TOLERANCE = timedelta(minutes=5)  # the Standard Webhooks libraries' window
# Payloads are references, except content previews and publish events, which embed whole
# contents; cmpapi accepts request bodies up to 10 MiB, so no event it builds is larger.
MAX_BODY_BYTES = 10 * 1024 * 1024
_TIMESTAMP = re.compile(r"[0-9]{1,15}")  # Unix seconds; bounded before int()

Headers = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]
"""Request headers: a mapping, or (name, value) pairs (ASGI's ``scope["headers"]``)."""


class WebhookVerificationError(ValueError):
    """The delivery did not prove it comes from the webhook's sender (answer 401)."""


class WebhookPayloadError(ValueError):
    """The body is not a CMP webhook envelope, or an event's data misses documented
    fields (answer 400)."""


# -- verify ------------------------------------------------------------------------------------


def verify(
    headers: Headers,
    body: bytes | str,
    *,
    secret: str | None = None,
    signing_key: str | None = None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> None:
    """Check a delivery; raise ``WebhookVerificationError`` saying why it fails.

    ``secret``: the ``Callback-Secret`` header must equal it (what the CMP sends).
    ``signing_key``: the webhook's ``whsec_...`` key (cmpapi); one of the space-separated
    ``v1,<base64>`` values of ``webhook-signature`` must sign ``body`` with the
    ``webhook-id`` and ``webhook-timestamp`` headers, and that timestamp must lie within
    ``tolerance`` of ``now`` (default: the current time) either way, so a captured delivery
    cannot be replayed later. Give one of the two, or both (then both must pass).

    ``body`` must be the raw bytes as received (a str is taken as its UTF-8 encoding): a
    body parsed and serialised again does not verify. Header names are case-insensitive.
    Raises plain ``ValueError`` when neither ``secret`` nor ``signing_key`` is given, or
    when one is empty or malformed (a configuration error, not a bad delivery).
    """
    key = _check_config("verify", secret, signing_key)
    found = _header_values(headers)
    if secret is not None:
        _check_secret(found, secret)
    if key is not None:
        raw = body.encode() if isinstance(body, str) else bytes(body)
        _check_signature(found, raw, key, tolerance, now or datetime.now(UTC))


def _check_config(who: str, secret: str | None, signing_key: str | None) -> bytes | None:
    """The signing key's bytes (None without a key); ValueError for a missing secret and
    key, an empty secret, a malformed key."""
    if secret is None and signing_key is None:
        raise ValueError(f"{who} needs the webhook's secret, its signing_key, or both")
    if secret is not None and not secret:
        raise ValueError("the secret is empty: the webhook has none, leave it out")
    return None if signing_key is None else signing_key_bytes(signing_key)


def sign(
    body: bytes,
    *,
    signing_key: str,
    webhook_id: str,
    timestamp: int | None = None,
    secret: str | None = None,
) -> dict[str, str]:
    """The headers a delivery of ``body`` carries, signed as the CMP's sender signs it
    (Standard Webhooks, plus ``Callback-Secret`` when ``secret`` is given): what
    ``verify`` accepts. ``cmpapi listen`` forwards with these; tests of a receiver can too."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return standard_webhooks.headers(
        signing_key_bytes(signing_key), webhook_id, timestamp, body, secret
    )


def _header_values(headers: Headers) -> dict[str, list[str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, list[str]] = {}
    for name, value in pairs:
        key = name.decode("latin-1") if isinstance(name, bytes) else name
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        found.setdefault(key.lower(), []).append(text.strip())
    return found


def _single(found: dict[str, list[str]], name: str) -> str | None:
    values = set(found.get(name, ()))
    if len(values) > 1:  # which one would a proxy or framework pick? neither
        raise WebhookVerificationError(f"several different {name} headers")
    return values.pop() if values else None


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _check_secret(found: dict[str, list[str]], secret: str) -> None:
    given = _single(found, "callback-secret")
    if given is None:
        raise WebhookVerificationError("no Callback-Secret header")
    if not hmac.compare_digest(_encoded(given), _encoded(secret)):
        raise WebhookVerificationError("the Callback-Secret header does not match the secret")


def _check_signature(
    found: dict[str, list[str]], body: bytes, key: bytes, tolerance: timedelta, now: datetime
) -> None:
    msg_id = _single(found, "webhook-id")
    stamp = _single(found, "webhook-timestamp")
    # Several signature headers are several candidates, like several values in one.
    candidates = " ".join(found.get("webhook-signature", ())).split()
    missing = [n for n, v in (("webhook-id", msg_id), ("webhook-timestamp", stamp)) if not v]
    missing += [] if candidates else ["webhook-signature"]
    if missing or msg_id is None or stamp is None:
        raise WebhookVerificationError(f"missing Standard Webhooks headers: {', '.join(missing)}")
    if not _TIMESTAMP.fullmatch(stamp):
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds")
    at = int(stamp)
    current = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    skew, limit = current.timestamp() - at, tolerance.total_seconds()
    if skew > limit:
        raise WebhookVerificationError(
            f"webhook-timestamp is {skew:.0f} s old (tolerance {limit:.0f} s): a replay?"
        )
    if -skew > limit:
        raise WebhookVerificationError(
            f"webhook-timestamp is {-skew:.0f} s in the future (tolerance {limit:.0f} s)"
        )
    expected = _encoded(standard_webhooks.signature(key, msg_id, at, body))
    for candidate in candidates:
        if hmac.compare_digest(_encoded(candidate), expected):
            return
    raise WebhookVerificationError(
        "no webhook-signature matches: another signing key, or the body was changed "
        "(verify the raw bytes as received)"
    )


# -- parse -------------------------------------------------------------------------------------

_KNOWN: TypeAdapter[KnownEvent] = TypeAdapter(KnownEvent)


def parse_event(body: bytes | str | Mapping[str, Any]) -> Event:
    """The typed event of a delivery's body (raw JSON, or already decoded).

    Each CMP event name gives its own model (``AssetAddedEvent``...; ``EVENT_TYPES`` maps
    names to models), cmpapi's test delivery a ``PingEvent``, and any other name an
    ``UnknownEvent`` with ``data`` as parsed: the CMP adds events, and a receiver should not
    fail on one it has not subscribed to handle. Raises ``WebhookPayloadError`` when the
    body is not a JSON envelope ``{"event_name": str, "data": ...}``, or when a known
    event lacks a documented field (a receiver answering 400 is retried by the sender,
    which keeps the event until the receiver is fixed).
    """
    payload = _envelope(body)
    name = payload["event_name"]
    try:
        if name in EVENT_TYPES:
            return _KNOWN.validate_python(payload)
        return UnknownEvent.model_validate(payload)
    except ValidationError as exc:
        raise WebhookPayloadError(f"{name}: {_problems(exc, name)}") from None


def _problems(exc: ValidationError, name: str) -> str:
    """``data.task.links: Field required; ...`` (the union's tag left out of each path)."""
    out = []
    for err in exc.errors(include_url=False)[:5]:
        loc = err["loc"][1:] if err["loc"][:1] == (name,) else err["loc"]
        out.append(f"{'.'.join(str(p) for p in loc) or 'body'}: {err['msg']}")
    return "; ".join(out)


def _envelope(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(body, Mapping):
        payload: Any = dict(body)
    else:
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:  # JSON, UTF-8, or nesting too deep
            raise WebhookPayloadError(f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise WebhookPayloadError("the body is not a JSON object")
    if not isinstance(payload.get("event_name"), str) or "data" not in payload:
        raise WebhookPayloadError('the body is not a CMP webhook: {"event_name", "data"}')
    return payload


# -- the ASGI app ------------------------------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[Event], Any]
"""Called with each event; may be ``async def`` (or return an awaitable)."""


def webhook_app(
    handler: Handler,
    *,
    secret: str | None = None,
    signing_key: str | None = None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> WebhookApp:
    """A plain ASGI app receiving deliveries at any path it is served or mounted at.

    Each POST is verified (``verify`` with ``secret`` and/or ``signing_key``), parsed
    (``parse_event``) and handed to ``handler``: a plain function runs in a worker thread,
    an ``async def`` on the event loop. Answers: 200 once the handler returned (only 200
    and 202 acknowledge a delivery); 401 when verification fails; 400 for a body that is
    not an event; 413 past ``max_body_bytes``; 405 for other methods; 500 when the handler
    raises, so the sender retries later (the exception is logged, not sent). Run it under
    any ASGI server on asyncio (uvicorn, hypercorn) or mount it in another ASGI app.
    """
    return WebhookApp(
        handler,
        secret=secret,
        signing_key=signing_key,
        tolerance=tolerance,
        max_body_bytes=max_body_bytes,
    )


class WebhookApp:
    """The ASGI app ``webhook_app`` builds (see there)."""

    def __init__(
        self,
        handler: Handler,
        *,
        secret: str | None,
        signing_key: str | None,
        tolerance: timedelta,
        max_body_bytes: int,
    ) -> None:
        _check_config("webhook_app", secret, signing_key)  # now, not on every POST
        self.handler = handler
        self.secret = secret
        self.signing_key = signing_key
        self.tolerance = tolerance
        self.max_body_bytes = max_body_bytes
        # An async def, or an object whose class has an async __call__.
        self._is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            type(handler).__call__
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection: HTTP requests, lifespan (nothing to set up); a
        WebSocket is closed at once."""
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await _answer(send, 405, "Webhook deliveries are POST requests", [(b"allow", b"POST")])
            return
        headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        try:
            if self.secret is not None:  # before reading a byte of a stranger's body
                verify(headers, b"", secret=self.secret)
            body = await _read_body(headers, receive, self.max_body_bytes)
            if body is None:
                return  # the client went away
            if self.signing_key is not None:
                verify(headers, body, signing_key=self.signing_key, tolerance=self.tolerance)
            event = parse_event(body)
        except WebhookVerificationError as exc:
            await _answer(send, 401, str(exc))
            return
        except WebhookPayloadError as exc:
            await _answer(send, 400, str(exc))
            return
        except _TooLarge:
            await _answer(send, 413, f"The body is over {self.max_body_bytes} bytes")
            return
        ids = set(_header_values(headers).get("webhook-id", ()))
        event._delivery_id = ids.pop() if len(ids) == 1 else None
        await self._deliver(event, send)

    async def _deliver(self, event: Event, send: Send) -> None:
        try:
            if self._is_async:
                result = self.handler(event)
            else:  # a blocking handler must not stall the other deliveries
                result = await asyncio.to_thread(self.handler, event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("webhook handler failed on %s (answered 500)", event.event_name)
            await _answer(send, 500, "The handler failed; deliver again later")
            return
        await _answer(send, 200, f"Received {event.event_name}")


class _TooLarge(Exception):
    pass


async def _read_body(
    headers: list[tuple[bytes, bytes]], receive: Receive, limit: int
) -> bytes | None:
    """The whole body, refused from ``Content-Length`` before a byte is read or as soon as
    the stream passes ``limit``; None when the client disconnected."""
    for name, value in headers:
        if name.lower() == b"content-length":
            if not value.isdigit():
                raise WebhookPayloadError("the Content-Length header is not a number")
            if int(value) > limit:
                raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A JSON answer ``{"message": ...}`` (the CMP's error shape; the sender's delivery log
    keeps the start of it)."""
    body = json.dumps({"message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
