# GENERATED from _async/_http.py by scripts/gen_client.py: do not edit.
"""The async client's transport: bearer tokens (obtained, refreshed and stored), retries
with backoff, timeouts, and errors raised from non-2xx answers. Every SDK call goes
through :meth:`HTTP.request`; the generated operations only describe requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from cmpapi import __version__
from cmpapi.client import _retry
from cmpapi.client._sync._concurrency import Lock, TokenHook, call_hook, sleep
from cmpapi.client.auth import MemoryTokenStore, Token, TokenStore
from cmpapi.client.config import Endpoints, RetryPolicy
from cmpapi.client.errors import (
    APIConnectionError,
    APITimeoutError,
    CMPError,
    api_error,
    oauth_error,
)

USER_AGENT = f"cmpapi-python/{__version__}"


class HTTP:
    """Sends requests to one CMP as one OAuth client."""

    def __init__(
        self,
        endpoints: Endpoints,
        http: httpx.Client,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | None = None,
        token_store: TokenStore | None = None,
        on_token_refresh: TokenHook[Token] | None = None,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self.endpoints = endpoints
        self.http = http
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.store = token_store or MemoryTokenStore()
        self.on_token_refresh = on_token_refresh
        self.retry = retry
        self._lock = Lock()
        # Where the bearer token may go: the API, and the userinfo endpoint (on the
        # accounts host for the real CMP).
        self._origins = {_origin(endpoints.base_url), _origin(endpoints.userinfo_url)}

    # -- requests --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        auth: bool = True,
    ) -> httpx.Response:
        """Send one request (``url`` relative to the base URL, or absolute); return the
        2xx/3xx answer, read, or raise the :mod:`~cmpapi.client.errors` exception. A 401 is
        answered by one token refresh and one retry when the client can refresh."""
        url = self._url(url, auth)
        response = self._send(method, url, auth=auth, params=params, json=json)
        if response.status_code == 401 and auth and self._can_renew():
            self._renew(stale=self.store.load())
            response = self._send(method, url, auth=auth, params=params, json=json)
        if response.status_code >= 400:
            raise api_error(response)
        return response

    def _send(self, method: str, url: str, *, auth: bool, **content: Any) -> httpx.Response:
        attempt = 0
        while True:
            headers = {"Authorization": self.authorization()} if auth else {}
            try:
                response = self.http.request(method, url, headers=headers, **content)
            except httpx.TransportError as exc:
                if attempt >= self.retry.max_retries or not _retry.retryable_exception(method, exc):
                    raise _connection_error(exc) from exc
                sleep(_retry.delay(self.retry, attempt))
            else:
                if attempt >= self.retry.max_retries or not _retry.retryable_status(
                    method, response.status_code
                ):
                    return response
                sleep(_retry.delay(self.retry, attempt, response.headers.get("retry-after")))
            attempt += 1

    def _url(self, url: str, auth: bool) -> str:
        if "://" not in url:
            return self.endpoints.base_url + url
        if auth and _origin(url) not in self._origins:
            # A link from an answer (pagination.next...) that leaves the API's origin
            # would carry the bearer token to another host.
            raise CMPError(f"refusing to send the API token to {_origin(url)}")
        return url

    # -- tokens ----------------------------------------------------------------------------

    def authorization(self) -> str:
        """The ``Authorization`` header value, renewing the token first when it expires
        within the margin (or when there is none and the client can get one)."""
        token = self.store.load()
        if token is None or token.expiring():
            if not self._can_renew() and token is None:
                raise CMPError("no token: pass token=, client_id= and client_secret=, or log in")
            if self._can_renew():
                token = self._renew(stale=token)
        assert token is not None
        return f"{token.token_type.capitalize()} {token.access_token}"

    def _can_renew(self) -> bool:
        token = self.store.load()
        return bool(self.client_id) and (
            bool(self.client_secret) or bool(token and token.refresh_token)
        )

    def _renew(self, stale: Token | None) -> Token:
        """A new token: the refresh token's grant if there is one, else client credentials.
        Concurrent callers wait for one renewal instead of each spending the refresh token
        (the CMP rotates refresh tokens: a second use would fail)."""
        with self._lock:
            current = self.store.load()
            if current is not None and current != stale and not current.expiring():
                return current
            if current is not None and current.refresh_token:
                data = {"grant_type": "refresh_token", "refresh_token": current.refresh_token}
            elif self.client_secret:
                data = {"grant_type": "client_credentials"}
                if self.scope:
                    data["scope"] = self.scope
            else:
                raise CMPError("the token expired and there is no refresh token")
            return self.grant(data)

    def grant(self, data: Mapping[str, str]) -> Token:
        """Ask the token endpoint for a token (client authentication in the form body, as
        the CMP's own clients send it); store it and tell ``on_token_refresh``."""
        form = {**data, "client_id": self.client_id or ""}
        if self.client_secret:
            form["client_secret"] = self.client_secret
        response = self._send("POST", self.endpoints.token_url, auth=False, data=form)
        if response.status_code >= 400:
            raise oauth_error(response)
        token = Token.from_response(response.json())
        if token.refresh_token is None and data.get("grant_type") == "refresh_token":
            previous = self.store.load()
            if previous is not None:  # a server that does not rotate: keep the old one
                token = Token(**{**token.to_dict(), "refresh_token": previous.refresh_token})
        self.store.save(token)
        if self.on_token_refresh is not None:
            call_hook(self.on_token_refresh, token)
        return token


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _connection_error(exc: httpx.TransportError) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"no answer in time: {exc}")
    return APIConnectionError(f"connection failed: {exc}")
