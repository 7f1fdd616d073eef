"""Browser sign-in for CLIs and notebooks: the authorization code flow (PKCE, state) with
its callback received by a small HTTP server on the loopback interface (RFC 8252 §7.3).

::

    from cmpapi.client import Client
    from cmpapi.client.loopback import login_in_browser

    with Client(server="http://127.0.0.1:8080", client_id=...) as cmp:
        login_in_browser(cmp)          # opens the browser, waits for the callback
        print(cmp.userinfo()["name"])

A redirect URI without a port (the default, ``http://localhost/callback``) listens on a
free port the system gives; a cmpapi server accepts any port for a registered loopback
redirect URI, as RFC 8252 asks. With a server that wants the registered URI exactly,
pass it, port included (``redirect_uri="http://localhost:3000/callback"``).
"""

from __future__ import annotations

import html
import socket
import threading
import webbrowser
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit, urlunsplit

from cmpapi.client.auth import DEFAULT_SCOPE, Token
from cmpapi.client.errors import CMPError

if TYPE_CHECKING:
    from cmpapi.client._sync._client import Client

DEFAULT_REDIRECT_URI = "http://localhost/callback"
DEFAULT_TIMEOUT = 300.0
# Where each loopback host name of a redirect URI is listened on: "localhost" is bound to
# the IPv4 address, which it resolves to everywhere (browsers fall back to it from ::1).
_BIND = {"localhost": ("127.0.0.1", socket.AF_INET), "127.0.0.1": ("127.0.0.1", socket.AF_INET)}
_BIND["::1"] = ("::1", socket.AF_INET6)


class LoopbackError(CMPError):
    """The sign-in did not give a code: ``error`` is ``timeout``, or the OAuth error the
    authorization server sent back (``access_denied``...)."""

    def __init__(self, message: str, error: str) -> None:
        super().__init__(message)
        self.error = error


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    expected_path = "/"
    expected_state = ""
    outcome: tuple[str, str] | None = None  # ("code", code) or (error, description)
    done: threading.Event


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Callback(BaseHTTPRequestHandler):
    server: _Server
    # A browser may open a connection it never uses (preconnect); drop it.
    timeout = 10

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path != self.server.expected_path:
            self._page(404, "Not found", "This is not the sign-in callback.")
        elif query.get("state") != self.server.expected_state:
            # Not the answer to this login (another tab, a forged link): keep waiting.
            self._page(400, "Wrong sign-in", "This answer is not for the login in progress.")
        elif "error" in query:
            self.server.outcome = (query["error"], query.get("error_description", ""))
            self._page(200, "Sign-in refused", f"{query['error']}: you can close this tab.")
            self.server.done.set()
        elif query.get("code"):
            self.server.outcome = ("code", query["code"])
            self._page(200, "Signed in", "You can close this tab and go back to the terminal.")
            self.server.done.set()
        else:
            self._page(400, "No code", "The answer carries no authorization code.")

    def _page(self, status: int, title: str, text: str) -> None:
        body = (
            f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the terminal belongs to the CLI."""


class LoopbackServer:
    """Listens on the loopback interface for one authorization callback; use it as a
    context manager. ``redirect_uri`` is the URI to send in the authorization request
    (with the port actually listened on)."""

    def __init__(self, redirect_uri: str = DEFAULT_REDIRECT_URI) -> None:
        parts = urlsplit(redirect_uri)
        host = parts.hostname or ""
        if parts.scheme != "http" or host not in _BIND:
            raise CMPError(f"not an http://localhost, 127.0.0.1 or [::1] URI: {redirect_uri}")
        address, family = _BIND[host]
        server_class = _Server6 if family == socket.AF_INET6 else _Server
        try:
            self._server: _Server = server_class((address, parts.port or 0), _Callback)
        except OSError as exc:
            raise CMPError(f"cannot listen on {address}:{parts.port or 0}: {exc}") from exc
        self._server.expected_path = parts.path or "/"
        self._server.done = threading.Event()
        port = self._server.server_address[1]
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.redirect_uri = urlunsplit(("http", netloc, parts.path or "/", parts.query, ""))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def expect(self, state: str) -> None:
        """Accept only callbacks carrying ``state`` from now on: call it before the
        browser is sent to the authorization URL (the answer may come back at once)."""
        self._server.expected_state = state

    def wait_for_code(self, state: str, timeout: float = DEFAULT_TIMEOUT) -> str:
        """The code of the first callback that carries ``state``; raises
        :class:`LoopbackError` on an OAuth error answer or after ``timeout`` seconds.
        Answers with another state are refused and waited past."""
        self.expect(state)
        if not self._server.done.wait(timeout):
            raise LoopbackError(f"no sign-in answer within {timeout:g} s", "timeout")
        assert self._server.outcome is not None
        kind, value = self._server.outcome
        if kind != "code":
            detail = f" ({value})" if value else ""
            raise LoopbackError(f"the sign-in was refused: {kind}{detail}", kind)
        return value

    def close(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _print_url(url: str) -> None:
    print(f"Sign in at: {url}", flush=True)


def login_in_browser(
    client: Client,
    *,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    scope: str = DEFAULT_SCOPE,
    open_browser: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    show: Callable[[str], object] = _print_url,
) -> Token:
    """Sign ``client``'s user in through the browser: listen on ``redirect_uri``, open
    (unless ``open_browser`` is false) the authorization URL, which ``show`` also gets (to
    print it), wait up to ``timeout`` seconds for the callback, check its state and trade
    the code for a token, which the client keeps (and saves to its token store)."""
    with LoopbackServer(redirect_uri) as server:
        request = client.authorization_request(server.redirect_uri, scope)
        server.expect(request.state)
        show(request.url)
        if open_browser:
            webbrowser.open(request.url)
        code = server.wait_for_code(request.state, timeout)
    return client.exchange_code(code, request)
