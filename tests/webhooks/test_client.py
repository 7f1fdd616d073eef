"""The delivery client and one attempt: keep-alive, connections the receiver drops, the
ways an HTTP/1.1 answer can be framed, broken answers, response excerpts, Retry-After."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import uvloop

from cmpapi import standard_webhooks as signing
from cmpapi.server.webhooks.client import (
    DeliveryClient,
    Endpoint,
    ReadError,
    RemoteProtocolError,
    Response,
    encode_request,
    ssl_context,
)
from cmpapi.server.webhooks.queue import Claimed, Outcome, Target
from cmpapi.server.webhooks.sender import parse_retry_after, send
from cmpapi.server.webhooks.ssrf import Targets
from cmpapi.server.webhooks.tables import EXCERPT_LIMIT, truncate
from tests.webhooks.receiver import Receiver, Reply

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


def client() -> DeliveryClient:
    return DeliveryClient(Targets(private=True), ssl_context=ssl_context())


def post_many(url: str, count: int, loop: str = "asyncio") -> list[Response]:
    async def run() -> list[Response]:
        async with client() as c:
            return [await c.post(Endpoint.parse(url), {}, b"{}") for _ in range(count)]

    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        return runner.run(run())


@pytest.mark.parametrize("loop", LOOPS)  # `cmpapi serve` runs on uvloop, tests on asyncio's
def test_connections_are_kept_alive(receiver: Receiver, loop: str) -> None:
    responses = post_many(receiver.url("/hook?x=1"), 10, loop)
    assert [(r.status_code, r.body, r.complete) for r in responses] == [(200, b"ok", True)] * 10
    assert receiver.connections == 1
    request = receiver.requests()[0]
    assert (request.method, request.path, request.body) == ("POST", "/hook?x=1", b"{}")
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert request.headers["content-length"] == "2"
    assert request.headers["user-agent"].startswith("cmpapi-webhooks/")


def test_a_connection_the_receiver_dropped_is_replaced(receiver: Receiver) -> None:
    receiver.always("/hook", Reply(close=True))
    responses = post_many(receiver.url(), 3)
    assert [(r.status_code, r.body) for r in responses] == [(200, b"ok")] * 3
    assert len(receiver.requests()) == 3  # each request sent once
    assert receiver.connections == 3


def test_an_attempt_keeps_an_excerpt_of_a_long_answer(receiver: Receiver) -> None:
    receiver.always("/hook", Reply(500, body="é".encode() * 20_000))
    key = signing.new_signing_key()
    url = receiver.url()
    target = Target("w", url, None, signing.key_bytes(key), Endpoint.parse(url))
    delivery = Claimed("d" * 32, "w", "asset_added", b'{"event_name":"asset_added"}', 1, 3)

    async def attempt() -> Outcome:
        async with client() as c:
            return await send(c, target, delivery, 5.0)

    outcome = asyncio.run(attempt())
    assert outcome.status_code == 500 and not outcome.ok
    excerpt = outcome.excerpt
    # Reading stops after the excerpt's size (40,000 bytes were sent); the log keeps 1,024.
    assert excerpt is not None and excerpt.startswith("éé")
    assert EXCERPT_LIMIT <= len(excerpt) <= 4 * EXCERPT_LIMIT
    kept = truncate(excerpt, EXCERPT_LIMIT)
    assert kept is not None and len(kept) == EXCERPT_LIMIT and kept.endswith("…")


# -- answers framed every way HTTP/1.1 allows, and broken ones (a raw server) ----------------


def raw_exchange(
    answer: bytes, *, posts: int = 1, keep: bool = True, loop: str = "asyncio"
) -> tuple[list[Response | BaseException], int]:
    """POST ``posts`` times to a server that writes ``answer`` verbatim to each request
    (and closes the connection after it unless ``keep``); returns what each post gave and
    how many connections were made."""
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.startswith(b"content-length:")
                )
                await reader.readexactly(length)
                writer.write(answer)
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def run() -> list[Response | BaseException]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        out: list[Response | BaseException] = []
        async with server, client() as c:
            for _ in range(posts):
                try:
                    async with asyncio.timeout(5):
                        out.append(await c.post(Endpoint.parse(url), {"x-a": "1"}, b"{}"))
                except Exception as exc:
                    out.append(exc)
            for writer in writers:
                writer.close()
            await asyncio.sleep(0.05)  # closing completes on later loop iterations
        return out

    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        return runner.run(run()), len(writers)


@pytest.mark.parametrize("loop", LOOPS)
def test_chunked_answers_are_read_and_the_connection_kept(loop: str) -> None:
    answer = (
        b"HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    results, connections = raw_exchange(answer, posts=3, loop=loop)
    assert [(r.status_code, r.body) for r in results if isinstance(r, Response)] == [
        (202, b"abcde")
    ] * 3
    assert connections == 1


@pytest.mark.parametrize("loop", LOOPS)
def test_an_answer_ended_by_closing_the_connection(loop: str) -> None:
    answer = b"HTTP/1.1 200 OK\r\nretry-after: 7\r\n\r\nall of it"
    results, connections = raw_exchange(answer, posts=2, keep=False, loop=loop)
    assert all(isinstance(r, Response) for r in results)
    assert [(r.status_code, r.body, r.headers["retry-after"]) for r in results] == [  # type: ignore[union-attr]
        (200, b"all of it", "7")
    ] * 2
    assert connections == 2  # not reused: the body ended with the connection


def test_informational_answers_are_skipped() -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nx-b: 2\r\n\r\n"
    [result], _ = raw_exchange(answer, keep=False)
    assert isinstance(result, Response)
    assert (result.status_code, result.body, result.headers) == (204, b"", {"x-b": "2"})


def test_http_1_0_and_connection_close_are_not_reused() -> None:
    answer = b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok"
    results, connections = raw_exchange(answer, posts=2)
    assert [r.status_code for r in results if isinstance(r, Response)] == [200, 200]
    assert connections == 2


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"SMTP ready\r\n\r\n", RemoteProtocolError),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort", ReadError),
        (b"HTTP/1.1 200 OK\r\ncontent-le", ReadError),
        (b"", ReadError),
    ],
)
def test_broken_answers_are_errors(answer: bytes, error: type[Exception]) -> None:
    [result], _ = raw_exchange(answer, keep=False)
    assert isinstance(result, error), result


def test_a_receiver_that_never_answers_times_out_and_is_not_reused() -> None:
    async def run() -> int:
        accepted: list[asyncio.StreamWriter] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)
            await reader.read(65536)  # the request; no answer

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        async with server, client() as c:
            for _ in range(2):
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await c.post(Endpoint.parse(url), {}, b"{}")
            for writer in accepted:
                writer.close()
            await asyncio.sleep(0.05)
        return len(accepted)

    assert asyncio.run(run()) == 2


@pytest.mark.parametrize(
    ("name", "value"), [("callback-secret", "a\r\nx-evil: 1"), ("x-a", "b\nc"), ("x:a", "b")]
)
def test_header_values_cannot_break_the_request(name: str, value: str) -> None:
    with pytest.raises(ValueError, match="does not allow"):
        encode_request(Endpoint.parse("https://example.com/"), {name: value}, b"{}")


def test_endpoints_are_parsed_once() -> None:
    endpoint = Endpoint.parse("https://Hooks.Example.com/in/é?q=a b#frag")
    assert endpoint.origin == ("https", "hooks.example.com", 443)
    assert endpoint.head.startswith(
        b"POST /in/%C3%A9?q=a%20b HTTP/1.1\r\nhost: hooks.example.com\r\n"
    )
    idn = Endpoint.parse("https://bücher.example:8443/")
    assert idn.origin == ("https", "xn--bcher-kva.example", 8443)
    for bad in ("ftp://example.com/", "not a url", "https:///path"):
        with pytest.raises(ValueError, match=r"."):
            Endpoint.parse(bad)


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("120", 120, 120),
        ("0", 0, 0),
        ("-5", 0, 0),
        ("1.5", 1.5, 1.5),
        ("soon", None, None),
        ("", None, None),
    ],
)
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
