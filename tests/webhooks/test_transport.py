"""The delivery client's transport and one attempt: keep-alive, connections the receiver
drops, response excerpts, Retry-After parsing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from cmpapi.server.settings import Settings
from cmpapi.server.webhooks import signing
from cmpapi.server.webhooks.queue import Claimed, Target
from cmpapi.server.webhooks.sender import parse_retry_after, send
from cmpapi.server.webhooks.tables import EXCERPT_LIMIT, truncate
from cmpapi.server.webhooks.transport import make_client
from tests.webhooks.receiver import Receiver, Reply

ALLOWED = Settings.model_construct(webhook_allow_private_targets=True, webhook_timeout=5.0)


def post_many(url: str, count: int) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        async with make_client(ALLOWED) as client:
            return [await client.post(url, content=b"{}") for _ in range(count)]

    return asyncio.run(run())


def test_connections_are_kept_alive(receiver: Receiver) -> None:
    responses = post_many(receiver.url(), 10)
    assert [r.status_code for r in responses] == [200] * 10
    assert receiver.connections == 1


def test_a_connection_the_receiver_dropped_is_replaced(receiver: Receiver) -> None:
    receiver.always("/hook", Reply(close=True))
    responses = post_many(receiver.url(), 3)
    assert [(r.status_code, r.content) for r in responses] == [(200, b"ok")] * 3
    assert len(receiver.requests()) == 3  # each request sent once
    assert receiver.connections == 3


def test_an_attempt_keeps_an_excerpt_of_a_long_answer(receiver: Receiver) -> None:
    receiver.always("/hook", Reply(500, body="é".encode() * 20_000))
    key = signing.new_signing_key()
    target = Target("w", receiver.url(), None, signing.key_bytes(key), httpx.URL(receiver.url()))
    delivery = Claimed("d" * 32, "w", "asset_added", b'{"event_name":"asset_added"}', 1, 3)

    async def attempt() -> object:
        async with make_client(ALLOWED) as client:
            return await send(client, target, delivery, 5.0)

    outcome = asyncio.run(attempt())
    assert outcome.status_code == 500 and not outcome.ok  # type: ignore[attr-defined]
    excerpt = outcome.excerpt  # type: ignore[attr-defined]
    # Reading stops after the excerpt's size (40,000 bytes were sent); the log keeps 1,024.
    assert excerpt.startswith("éé") and EXCERPT_LIMIT <= len(excerpt) <= 4 * EXCERPT_LIMIT
    kept = truncate(excerpt, EXCERPT_LIMIT)
    assert kept is not None and len(kept) == EXCERPT_LIMIT and kept.endswith("…")


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [("120", 120, 120), ("0", 0, 0), ("-5", 0, 0), ("1.5", 1.5, 1.5), ("soon", None, None),
     ("", None, None)],
)  # fmt: skip
def test_retry_after_values(header: str, low: float | None, high: float | None) -> None:
    value = parse_retry_after(header)
    if low is None:
        assert value is None
    else:
        assert value is not None and low <= value <= high


def test_retry_after_http_dates() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    value = parse_retry_after(later)
    assert value is not None and 80 <= value <= 91
    earlier = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(earlier) == 0
