"""``webhook_app``, the SDK's ASGI receiver, served by uvicorn on loopback: what it hands
the handler, how it answers bad deliveries, and the ASGI edges no HTTP server lets through."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from cmpapi.client.events import AssetAddedEvent
from cmpapi.client.webhooks import webhook_app
from tests.client.webhook_samples import BODY, KEY, OTHER_KEY, SAMPLES, signed
from tests.support.servers import serving


class Collector:
    """A handler recording what it got, in whichever flavour a test asks for."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[Any] = []
        self.on_loop: set[bool] = set()  # whether it ran on the event loop's thread
        self.fail = fail

    def __call__(self, event: Any) -> None:
        try:
            asyncio.get_running_loop()
            self.on_loop.add(True)
        except RuntimeError:  # a worker thread
            self.on_loop.add(False)
        if self.fail:
            raise RuntimeError("database down: secret detail")
        self.events.append(event)


class AsyncCollector(Collector):
    async def __call__(self, event: Any) -> None:  # type: ignore[override]
        await asyncio.sleep(0)
        super().__call__(event)


def post(
    base: str, body: bytes, headers: dict[str, str], path: str = "/hooks/cmp"
) -> httpx.Response:
    return httpx.post(base + path, content=body, headers=headers, timeout=30)


def now_signed(body: bytes = BODY, key: str = KEY, msg_id: str = "msg_1") -> dict[str, str]:
    return signed(body, key, datetime.now(UTC), msg_id)


@pytest.mark.parametrize("flavour", ["sync", "async", "async def"])
def test_app_verifies_parses_and_hands_over(flavour: str) -> None:
    handler = Collector() if flavour == "sync" else AsyncCollector()
    target: Any = handler
    if flavour == "async def":

        async def target(event: Any) -> None:
            await handler(event)

    app = webhook_app(target, secret="s3cret", signing_key=KEY)
    with serving(app) as base:  # type: ignore[arg-type]
        r = post(base, BODY, now_signed(msg_id="msg_42") | {"Callback-Secret": "s3cret"})
        assert (r.status_code, r.json()) == (200, {"message": "Received asset_added"})
        assert r.headers["content-type"] == "application/json"
        [event] = handler.events
        assert isinstance(event, AssetAddedEvent)
        assert event.data.asset.id == SAMPLES["asset_added"]["data"]["asset"]["id"]
        assert event.delivery_id == "msg_42"
        r = post(base, BODY, {"Callback-Secret": "s3cret"})
        assert r.status_code == 401
        assert r.json()["message"].startswith("missing Standard Webhooks headers")
    # A plain function runs in a worker thread, an async one on the event loop.
    assert handler.on_loop == {flavour != "sync"}


def test_app_answers_401_400_405_413_and_500() -> None:
    handler = Collector()
    with serving(webhook_app(handler, secret="s3cret", max_body_bytes=4096)) as base:  # type: ignore[arg-type]
        ok = {"Callback-Secret": "s3cret"}
        assert post(base, BODY, {"Callback-Secret": "guess"}).status_code == 401
        assert post(base, BODY, {}).json() == {"message": "no Callback-Secret header"}
        r = post(base, b"{not json", ok)
        assert r.status_code == 400 and "not JSON" in r.json()["message"]
        r = post(base, b'{"event_name": "task_added", "data": {}}', ok)
        assert (r.status_code, r.json()) == (
            400,
            {"message": "task_added: data.task: Field required"},
        )
        r = httpx.get(base + "/hooks/cmp")
        assert (r.status_code, r.headers["allow"]) == (405, "POST")
        assert httpx.put(base + "/", content=BODY, headers=ok).status_code == 405
        r = post(base, b" " * 4097, ok)
        assert (r.status_code, r.json()["message"]) == (413, "The body is over 4096 bytes")
        # A stranger's big body is not even read: the secret is checked first.
        assert post(base, b" " * 4097, {"Callback-Secret": "guess"}).status_code == 401

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b" " * 1000

        r = httpx.post(base + "/x", content=chunks(), headers=ok, timeout=30)
        assert r.status_code == 413
        assert handler.events == []
        assert post(base, BODY, ok).status_code == 200
        assert len(handler.events) == 1
    failing = Collector(fail=True)
    with serving(webhook_app(failing, secret="s3cret")) as base:  # type: ignore[arg-type]
        r = post(base, BODY, {"Callback-Secret": "s3cret"})
        assert (r.status_code, r.json()) == (
            500,
            {"message": "The handler failed; deliver again later"},
        )
        assert "secret detail" not in r.text


def test_app_as_a_route_of_a_fastapi_app() -> None:
    """As docs/sdk.md shows it: at its exact path, beside the app's own routes."""
    handler = Collector()
    site = FastAPI()
    site.add_route("/hooks/cmp", webhook_app(handler, secret="s3cret"))
    site.add_api_route("/", lambda: {"site": True})
    with serving(site) as base:
        r = post(base, BODY, {"Callback-Secret": "s3cret"}, path="/hooks/cmp")
        assert (r.status_code, len(handler.events)) == (200, 1)
        assert httpx.get(base + "/").json() == {"site": True}


def test_app_refuses_a_stale_or_tampered_delivery() -> None:
    handler = Collector()
    with serving(webhook_app(handler, signing_key=KEY)) as base:  # type: ignore[arg-type]
        stale = signed(at=datetime.now(UTC) - timedelta(minutes=10))
        r = post(base, BODY, stale)
        assert r.status_code == 401 and "s old (tolerance 300 s)" in r.json()["message"]
        r = post(base, BODY + b"\n", now_signed())
        assert r.status_code == 401 and "no webhook-signature matches" in r.json()["message"]
        r = post(base, BODY, now_signed(key=OTHER_KEY))
        assert r.status_code == 401
        assert handler.events == []


def asgi(app: Any, scope: dict[str, Any], *incoming: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one ASGI connection of ``app`` directly, for what an HTTP server would not let
    through; returns what the app sent."""
    sent: list[dict[str, Any]] = []
    queue = list(incoming)

    async def receive() -> dict[str, Any]:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_app_edges_no_server_lets_through() -> None:
    app = webhook_app(Collector(), secret="s3cret")
    head = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"callback-secret", b"s3cret")],
    }
    body = {"type": "http.request", "body": BODY}
    bad_length = {**head, "headers": [*head["headers"], (b"content-length", b"12x")]}
    start, answer = asgi(app, bad_length, body)
    assert start["status"] == 400
    assert json.loads(answer["body"]) == {"message": "the Content-Length header is not a number"}
    # Two different delivery ids (only the secret checked): handled, without an id.
    two_ids = {**head, "headers": [*head["headers"], (b"webhook-id", b"a"), (b"webhook-id", b"b")]}
    assert asgi(app, two_ids, body)[0]["status"] == 200
    [event] = app.handler.events  # type: ignore[attr-defined]
    assert event.delivery_id is None
    app.handler.events.clear()  # type: ignore[attr-defined]
    # The client went away mid-body: nothing to answer, nothing handled.
    assert asgi(app, head, {**body, "more_body": True}) == []
    assert app.handler.events == []  # type: ignore[attr-defined]
    assert asgi(app, {"type": "websocket"}, {"type": "websocket.connect"}) == [
        {"type": "websocket.close", "code": 1003}
    ]
    lifespan = asgi(
        app, {"type": "lifespan"}, {"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}
    )
    assert lifespan == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


def test_app_configuration_errors() -> None:
    with pytest.raises(ValueError, match="needs the webhook's secret"):
        webhook_app(Collector())
    with pytest.raises(ValueError, match="not a whsec_"):
        webhook_app(Collector(), signing_key="whsec_???")
    with pytest.raises(ValueError, match="secret is empty"):
        webhook_app(Collector(), secret="")
