"""``AsyncClient``: every operation of the spec (one namespace per tag), OAuth, uploads and
downloads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from cmpapi.client._async._extensions import AsyncExtensions
from cmpapi.client._async._http import USER_AGENT, AsyncHTTP
from cmpapi.client._async._uploads import AsyncLibrary, AsyncUploads
from cmpapi.client._async.operations import AsyncOperations
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


class AsyncClient(AsyncOperations):
    """A client of one CMP (the real one by default, a cmpapi server with ``server=``).

    Credentials: ``token=`` (a string or a :class:`~cmpapi.client.auth.Token`), or
    ``client_id=`` and ``client_secret=`` (client credentials, fetched when first needed
    and renewed before they expire), or a token from :meth:`exchange_code` (renewed with
    its refresh token). ``token_store`` keeps tokens between runs; ``on_token_refresh`` is
    called with every new token.
    """

    library: AsyncLibrary
    uploads: AsyncUploads

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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        endpoints = (Endpoints.for_server(server) if server else Endpoints()).with_overrides(
            base_url=base_url,
            authorization_url=authorization_url,
            token_url=token_url,
            userinfo_url=userinfo_url,
            revocation_url=revocation_url,
        )
        client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )
        self._http = AsyncHTTP(
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
        self.extensions = AsyncExtensions(self._http)
        """cmpapi's own ``/ext/v1`` API: event streams and sample events (not on the CMP)."""
        self.uploads = AsyncUploads(self._http)
        """File uploads (presigned POST or resumable multipart)."""
        self.upload = self.uploads.upload
        """Upload a file; its upload key (:meth:`AsyncUploads.upload`)."""
        self.library = AsyncLibrary(self._http, self.uploads)

    @property
    def endpoints(self) -> Endpoints:
        """The URLs this client talks to."""
        return self._http.endpoints

    @property
    def token(self) -> Token | None:
        """The current token, if any (it may have expired)."""
        return self._http.store.load()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.http.aclose()

    # -- OAuth -----------------------------------------------------------------------------

    async def fetch_token(self) -> Token:
        """A client credentials token, now (calls fetch one when they need it anyway)."""
        if not (self._http.client_id and self._http.client_secret):
            raise CMPError("client credentials need client_id and client_secret")
        data = {"grant_type": "client_credentials"}
        if self._http.scope:
            data["scope"] = self._http.scope
        return await self._http.grant(data)

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

    async def exchange_code(
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
        return await self._http.grant(data)

    async def userinfo(self) -> dict[str, Any]:
        """The OpenID claims of the token's user (``sub``, ``name``, ``email``...)."""
        response = await self._http.request("GET", self.endpoints.userinfo_url)
        claims = response.json()
        if not isinstance(claims, dict):
            raise CMPError("the userinfo endpoint did not answer a JSON object")
        return claims

    async def revoke(self) -> None:
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
        response = await self._http.http.post(
            self.endpoints.revocation_url, json={k: v for k, v in body.items() if v}
        )
        if response.status_code >= 400:
            raise oauth_error(response)
        self._http.store.save(None)

    # -- any request -----------------------------------------------------------------------

    async def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        """Send any request to the API (``path`` relative to the base URL, or an absolute
        URL on its origin, such as a ``pagination.next`` link) with the client's token,
        retries and errors; the answer, read. Redirects are returned, not followed."""
        return await self._http.request(method, path, params=params, json=json)

    # -- files -----------------------------------------------------------------------------

    async def download(
        self, url: str, destination: str | Path, *, progress: Progress | None = None
    ) -> Path:
        """Stream the file at ``url`` (an asset's ``url`` or a rendition's; signed, so no
        token is sent) into ``destination`` (a file, or a directory to put it in under the
        URL's last path segment); ``progress(done, total)`` after every chunk."""
        target = Path(destination)
        if target.is_dir():
            target = target / (httpx.URL(url).path.rsplit("/", 1)[-1] or "download")
        partial = target.with_name(target.name + ".part")
        async with self._http.http.stream("GET", url, follow_redirects=True) as response:
            if response.status_code >= 400:
                await response.aread()
                raise api_error(response)
            total = response.headers.get("content-length")
            done = 0
            with partial.open("wb") as out:
                async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, int(total) if total else None)
        partial.replace(target)
        return target
