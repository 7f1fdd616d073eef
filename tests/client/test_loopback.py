"""The loopback callback server of browser sign-in: real HTTP requests to it, as the
browser sends them after the authorization server's redirect."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from cmpapi.client import CMPError
from cmpapi.client.loopback import LoopbackError, LoopbackServer
from tests.support.servers import free_port


def _later(url: str, **params: str) -> threading.Thread:
    """GET ``url`` from another thread, as the browser does while the CLI waits."""
    thread = threading.Thread(target=lambda: httpx.get(url, params=params), daemon=True)
    thread.start()
    return thread


def test_a_free_port_and_only_the_right_state_gives_the_code() -> None:
    with LoopbackServer("http://localhost/callback") as server:
        parts = urlsplit(server.redirect_uri)
        assert (parts.scheme, parts.hostname, parts.path) == ("http", "localhost", "/callback")
        assert parts.port
        base = f"http://127.0.0.1:{parts.port}"
        server.expect("s1")  # before the browser is sent off
        # Not the callback path; another login's state; no code: refused, still waiting.
        assert httpx.get(f"{base}/favicon.ico").status_code == 404
        forged = httpx.get(f"{base}/callback", params={"code": "c", "state": "other"})
        assert forged.status_code == 400
        assert httpx.get(f"{base}/callback", params={"state": "s1"}).status_code == 400
        answer = httpx.get(f"{base}/callback", params={"code": "the-code", "state": "s1"})
        assert answer.status_code == 200
        assert "You can close this tab" in answer.text
        assert answer.headers["cache-control"] == "no-store"
        assert server.wait_for_code("s1", timeout=5) == "the-code"


def test_the_code_comes_while_waiting() -> None:
    with LoopbackServer("http://127.0.0.1/cb?x=1") as server:
        assert server.redirect_uri.endswith("/cb?x=1")
        thread = _later(server.redirect_uri.split("?")[0], code="later", state="s2")
        assert server.wait_for_code("s2", timeout=10) == "later"
        thread.join(5)


def test_a_refusal_and_a_timeout_are_errors() -> None:
    with LoopbackServer() as server:
        _later(server.redirect_uri, error="access_denied", state="s3")
        with pytest.raises(LoopbackError) as refused:
            server.wait_for_code("s3", timeout=10)
        assert refused.value.error == "access_denied"
    with LoopbackServer() as server:
        started = time.monotonic()
        with pytest.raises(LoopbackError) as late:
            server.wait_for_code("s4", timeout=0.3)
        assert late.value.error == "timeout"
        assert time.monotonic() - started < 5


def test_a_given_port_is_used_and_a_busy_or_remote_one_refused() -> None:
    port = free_port()
    with LoopbackServer(f"http://localhost:{port}/callback") as server:
        assert server.redirect_uri == f"http://localhost:{port}/callback"
        with pytest.raises(CMPError, match="cannot listen"):
            LoopbackServer(f"http://127.0.0.1:{port}/callback")
    for uri in ("https://localhost/callback", "http://example.com/callback"):
        with pytest.raises(CMPError, match="not an http://localhost"):
            LoopbackServer(uri)


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server = LoopbackServer("http://[::1]/cb")
    except CMPError:
        pytest.skip("::1 cannot be bound here")
    with server:
        port = urlsplit(server.redirect_uri).port
        assert server.redirect_uri == f"http://[::1]:{port}/cb"
        _later(server.redirect_uri, code="six", state="s5")
        assert server.wait_for_code("s5", timeout=10) == "six"
