"""The delivery client: HTTP/1.1 POSTs on asyncio protocols, responses parsed by httptools
(llhttp, in C), and the SSRF check on the address every connection goes to.

Why its own client: a delivery is one small POST whose answer matters only for its status,
two headers and an excerpt of the body, and a worker makes over a thousand a second on one
core. ``httpx.AsyncClient`` spent ~0.5 ms of CPU a request in its own layers (request and
header objects, cookies, redirects, streams) on top of the transport; with h11 on asyncio
streams under it a worker made 1,100-1,300 deliveries/s on the idle 2-core box, and
httpx's own transport (httpcore) 74-160/s (bench/README.md has the figures). This client
writes each request with one ``write`` and builds no object per request but the response.

It does only what deliveries need: POST, keep-alive (a connection the receiver closed while
idle is replaced once), TLS with the URL's host name (SNI and certificate check), no
redirects, proxies or cookies. The caller puts a deadline around each ``post``.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self, cast

import httptools

from cmpapi import __version__
from cmpapi.server.webhooks.ssrf import Blocked, Resolver, Targets, system_resolver, vet_host
from cmpapi.server.webhooks.tables import EXCERPT_LIMIT

USER_AGENT = f"cmpapi-webhooks/{__version__}"
BODY_KEPT = EXCERPT_LIMIT * 4  # bytes: enough for EXCERPT_LIMIT UTF-8 characters
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")  # no header value may break the request's framing


class DeliveryError(Exception):
    """The request got no complete answer; the class name goes into the attempt log."""


class ConnectError(DeliveryError):
    """No connection: refused, unreachable, TLS failed, or blocked by the SSRF policy."""


class ReadError(DeliveryError):
    """The connection ended before the response did."""

    def __init__(self, message: str, *, answered: bool) -> None:
        super().__init__(message)
        self.answered = answered  # any byte of a response arrived


class RemoteProtocolError(DeliveryError):
    """The receiver's answer is not HTTP/1.1."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A callback URL, parsed once: where to connect and the request's first lines."""

    scheme: str
    host: str  # what TLS checks the certificate against and the resolver looks up
    port: int
    head: bytes  # request line, Host and User-Agent

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """Raises ``ValueError`` for a URL that is not absolute http(s)."""
        import httpx  # here: ~100 ms of every server start otherwise (issue 15)

        try:
            parsed = httpx.URL(url)  # the same normalisation as when the URL was saved
        except httpx.InvalidURL as exc:
            raise ValueError(str(exc)) from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"not an absolute http(s) URL: {url!r}")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        head = b"POST %s HTTP/1.1\r\nhost: %s\r\nuser-agent: %s\r\n" % (
            parsed.raw_path,
            parsed.netloc,
            USER_AGENT.encode(),
        )
        return cls(parsed.scheme, parsed.raw_host.decode("ascii"), port, head)

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int
    headers: dict[str, str]  # names lower-cased; a repeated header keeps its last value
    body: bytes  # at most BODY_KEPT bytes
    complete: bool  # the whole body was read (False: cut at BODY_KEPT)


def encode_request(endpoint: Endpoint, headers: Mapping[str, str], body: bytes) -> bytes:
    """The whole request, ready for one ``write``."""
    lines = [endpoint.head]
    for name, value in headers.items():
        if _UNSAFE.search(name) or _UNSAFE.search(value) or ":" in name:
            raise ValueError(f"header {name!r} has a character HTTP does not allow")
        lines.append(b"%s: %s\r\n" % (name.encode("latin-1"), value.encode("latin-1")))
    lines.append(b"content-length: %d\r\n\r\n" % len(body))
    lines.append(body)
    return b"".join(lines)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, one request at a time; the parser calls back into it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Response] | None = None
        self._start()

    def _start(self) -> None:
        self._status = 0
        self._headers: dict[str, str] = {}
        self._body = bytearray()
        self._answered = self._in_body = False

    def request(self, data: bytes) -> asyncio.Future[Response]:
        assert self.transport is not None
        self._start()
        self.reusable = False
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self._waiter

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not subclasses of asyncio.Transport).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: this connection cannot be trusted
            return
        self._answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(RemoteProtocolError("the receiver switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(RemoteProtocolError(f"not an HTTP/1.1 response: {exc}"))

    def eof_received(self) -> bool | None:
        framed = "content-length" in self._headers or "transfer-encoding" in self._headers
        if self._in_body and not framed:  # a body that ends with the connection
            self._finish(complete=True, keep=False)
        else:
            self._fail(ReadError("the receiver closed the connection", answered=self._answered))
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        why = f"connection lost ({type(exc).__name__}: {exc})" if exc else "connection closed"
        self._fail(ReadError(why, answered=self._answered))

    # -- httptools callbacks -----------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # 100 Continue and friends: the real answer follows
            self._headers = {}
            return
        self._status, self._in_body = status, True

    def on_body(self, body: bytes) -> None:
        room = BODY_KEPT - len(self._body)
        if room > 0:
            self._body += body[:room]
        if len(self._body) >= BODY_KEPT and room < len(body):
            self._finish(complete=False, keep=False)  # the excerpt is all that is kept

    def on_message_complete(self) -> None:
        if self._in_body:
            self._finish(complete=True, keep=self._parser.should_keep_alive())

    # -- outcome -----------------------------------------------------------------------------

    def _finish(self, *, complete: bool, keep: bool) -> None:
        waiter, self._waiter, self._in_body = self._waiter, None, False
        if waiter is None or waiter.done():
            return
        self.reusable = keep
        waiter.set_result(Response(self._status, self._headers, bytes(self._body), complete))
        if not keep:
            self.close()

    def _fail(self, exc: DeliveryError) -> None:
        waiter, self._waiter = self._waiter, None
        self.close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


class DeliveryClient:
    """POSTs to the receivers of one webhook, keeping their connections alive."""

    def __init__(
        self,
        allowed: Targets,
        ssl_context: ssl.SSLContext,
        resolver: Resolver = system_resolver,
        keepalive: float = 30.0,
    ) -> None:
        self._allowed = allowed
        self._ssl = ssl_context
        self._resolver = resolver
        self._keepalive = keepalive
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}

    async def post(self, endpoint: Endpoint, headers: Mapping[str, str], body: bytes) -> Response:
        """Send one request and read the answer (its body up to ``BODY_KEPT`` bytes).

        A kept-alive connection the receiver closed before answering is replaced once;
        should the receiver have read the request before closing, it sees it twice, which
        at-least-once delivery allows."""
        data = encode_request(endpoint, headers, body)
        reused = self._pop_idle(endpoint.origin)
        if reused is not None:
            try:
                return await self._exchange(reused, endpoint, data)
            except ReadError as exc:
                if exc.answered:
                    raise
        fresh = await self._connect(endpoint)
        return await self._exchange(fresh, endpoint, data)

    async def aclose(self) -> None:
        """Close the idle connections."""
        for pool in self._idle.values():
            for conn in pool:
                conn.close()
        self._idle.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _pop_idle(self, origin: tuple[str, str, int]) -> _Connection | None:
        pool = self._idle.get(origin)
        while pool:
            conn = pool.pop()
            if conn.usable and time.monotonic() - conn.idle_since < self._keepalive:
                return conn
            conn.close()
        return None

    async def _exchange(self, conn: _Connection, endpoint: Endpoint, data: bytes) -> Response:
        try:
            response = await conn.request(data)
        except BaseException:  # a failure, or the caller's deadline: never reused
            conn.close()
            raise
        if conn.reusable and conn.usable:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(endpoint.origin, []).append(conn)
        return response

    async def _connect(self, endpoint: Endpoint) -> _Connection:
        """A connection to the first vetted address that answers."""
        tls = endpoint.scheme == "https"
        try:
            addresses = await vet_host(endpoint.host, endpoint.port, self._allowed, self._resolver)
        except Blocked as exc:
            raise ConnectError(str(exc)) from exc
        except OSError as exc:  # name resolution
            raise ConnectError(f"{type(exc).__name__}: {exc}") from exc
        loop = asyncio.get_running_loop()
        error: OSError | None = None
        for ip in addresses:
            try:
                _, conn = await loop.create_connection(
                    _Connection,
                    str(ip),
                    endpoint.port,
                    ssl=self._ssl if tls else None,
                    server_hostname=endpoint.host if tls else None,
                )
                return conn
            except OSError as exc:  # refused, unreachable, TLS (ssl.SSLError is one)
                error = exc
        if error is None:
            raise ConnectError(f"{endpoint.host} has no address")
        raise ConnectError(f"{type(error).__name__}: {error}") from error


def ssl_context() -> ssl.SSLContext:
    """Certificate checks against the CA bundle httpx uses (certifi), without the
    environment's proxy and certificate variables. Loading it takes milliseconds: engines
    make one for all their clients."""
    import httpx

    return httpx.create_ssl_context(trust_env=False)
