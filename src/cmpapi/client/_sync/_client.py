# GENERATED from _async/_client.py by scripts/gen_client.py: do not edit.
"""``Client``: every operation of the spec (one namespace per tag), OAuth, uploads and
downloads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from cmpapi.client._sync._extensions import Extensions
from cmpapi.client._sync._http import HTTP, USER_AGENT
from cmpapi.client._sync._uploads import Library, Uploads
from cmpapi.client._sync.operations import Operations
from cmpapi.client.auth import (
    DEFAULT_SCOPE,
    AuthorizationRequest,
    Token,
    TokenStore,
    authorization_request,
)
from cmpapi.client.config import Endpoints, RetryPolicy
from cmpapi.client.errors import CMPError, api_error, oauth_error

Progress = Callable[[int, int | None], None]
DOWNLOAD_CHUNK = 1 << 20


class Client(Operations):
    """A client of one CMP (the real one by default, a cmpapi server with ``server=``).

    Credentials: ``token=`` (a string or a :class:`~cmpapi.client.auth.Token`), or
    ``client_id=`` and ``client_secret=`` (client credentials, fetched when first needed
    and renewed before they expire), or a token from :meth:`exchange_code` (renewed with
    its refresh token). ``token_store`` keeps tokens between runs; ``on_token_refresh`` is
    called with every new token.
    """

    library: Library
    uploads: Uploads

    def __init__(
        self,
        *,
        token: str | Token | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | None = None,
        server: str | None = None,
        base_url: str | None = None,
        authorization_url: str | None = None,
        token_url: str | None = None,
        userinfo_url: str | None = None,
        revocation_url: str | None = None,
        token_store: TokenStore | None = None,
        on_token_refresh: Callable[[Token], Any] | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        endpoints = (Endpoints.for_server(server) if server else Endpoints()).with_overrides(
            base_url=base_url,
            authorization_url=authorization_url,
            token_url=token_url,
            userinfo_url=userinfo_url,
            revocation_url=revocation_url,
        )
        client = httpx.Client(
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )
        self._http = HTTP(
            endpoints,
            client,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            token_store=token_store,
            on_token_refresh=on_token_refresh,
            retry=RetryPolicy(max_retries=max_retries),
        )
        if token is not None:
            self._http.store.save(Token(token) if isinstance(token, str) else token)
        super().__init__(self._http)
        self.extensions = Extensions(self._http)
        """cmpapi's own ``/ext/v1`` API: event streams and sample events (not on the CMP)."""
        self.uploads = Uploads(self._http)
        """File uploads (presigned POST or resumable multipart)."""
        self.upload = self.uploads.upload
        """Upload a file; its upload key (:meth:`Uploads.upload`)."""
        self.library = Library(self._http, self.uploads)

    @property
    def endpoints(self) -> Endpoints:
        """The URLs this client talks to."""
        return self._http.endpoints

    @property
    def token(self) -> Token | None:
        """The current token, if any (it may have expired)."""
        return self._http.store.load()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.http.close()

    # -- OAuth -----------------------------------------------------------------------------

    def fetch_token(self) -> Token:
        """A client credentials token, now (calls fetch one when they need it anyway)."""
        if not (self._http.client_id and self._http.client_secret):
            raise CMPError("client credentials need client_id and client_secret")
        data = {"grant_type": "client_credentials"}
        if self._http.scope:
            data["scope"] = self._http.scope
        return self._http.grant(data)

    def authorization_request(
        self, redirect_uri: str, scope: str = DEFAULT_SCOPE, state: str | None = None
    ) -> AuthorizationRequest:
        """The URL that starts an authorization code flow (PKCE S256, random state); keep
        the returned request for :meth:`exchange_code`."""
        if not self._http.client_id:
            raise CMPError("the authorization code flow needs client_id")
        return authorization_request(
            self.endpoints.authorization_url, self._http.client_id, redirect_uri, scope, state
        )

    def exchange_code(
        self, code: str, request: AuthorizationRequest, state: str | None = None
    ) -> Token:
        """Trade the callback's ``code`` for a token (and a refresh token with the
        ``offline_access`` scope). ``state``, when given, must be the request's."""
        if state is not None and state != request.state:
            raise CMPError("the callback's state does not match the authorization request")
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.code_verifier,
        }
        return self._http.grant(data)

    def userinfo(self) -> dict[str, Any]:
        """The OpenID claims of the token's user (``sub``, ``name``, ``email``...)."""
        response = self._http.request("GET", self.endpoints.userinfo_url)
        claims = response.json()
        if not isinstance(claims, dict):
            raise CMPError("the userinfo endpoint did not answer a JSON object")
        return claims

    def revoke(self) -> None:
        """Revoke the current token's grant (its refresh token when there is one) and
        forget it."""
        token = self._http.store.load()
        if token is None:
            return
        secret, hint = (
            (token.refresh_token, "refresh_token")
            if token.refresh_token
            else (token.access_token, "access_token")
        )
        body = {
            "token": secret,
            "token_type_hint": hint,
            "client_id": self._http.client_id,
            "client_secret": self._http.client_secret,
        }
        response = self._http.http.post(
            self.endpoints.revocation_url, json={k: v for k, v in body.items() if v}
        )
        if response.status_code >= 400:
            raise oauth_error(response)
        self._http.store.save(None)

    # -- any request -----------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        """Send any request to the API (``path`` relative to the base URL, or an absolute
        URL on its origin, such as a ``pagination.next`` link) with the client's token,
        retries and errors; the answer, read. Redirects are returned, not followed."""
        return self._http.request(method, path, params=params, json=json)

    # -- files -----------------------------------------------------------------------------

    def download(
        self, url: str, destination: str | Path, *, progress: Progress | None = None
    ) -> Path:
        """Stream the file at ``url`` (an asset's ``url`` or a rendition's; signed, so no
        token is sent) into ``destination`` (a file, or a directory to put it in under the
        URL's last path segment); ``progress(done, total)`` after every chunk."""
        target = Path(destination)
        if target.is_dir():
            target = target / (httpx.URL(url).path.rsplit("/", 1)[-1] or "download")
        partial = target.with_name(target.name + ".part")
        with self._http.http.stream("GET", url, follow_redirects=True) as response:
            if response.status_code >= 400:
                response.read()
                raise api_error(response)
            total = response.headers.get("content-length")
            done = 0
            with partial.open("wb") as out:
                for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, int(total) if total else None)
        partial.replace(target)
        return target
