"""The authorization endpoint's rules (RFC 6749 §4.1.1-§4.1.2), apart from its pages.

Validation happens in two stages, because they fail differently (§4.1.2.1): an unknown
client or a redirect URI that is not registered is shown to the user on an error page
(``PageError``) and never redirected to; once the redirect URI is trusted, every other
error goes back to the client as ``?error=...&state=...`` (``ErrorRedirect``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy.orm import Session

from cmpapi.server.oauth import pkce
from cmpapi.server.oauth.clients import find_app
from cmpapi.server.oauth.errors import (
    AccessDenied,
    InvalidRequest,
    OAuth2Error,
    PageError,
    UnsupportedResponseType,
)
from cmpapi.server.oauth.grants.authorization_code import create_authorization_code
from cmpapi.server.oauth.scopes import resolve_scope
from cmpapi.server.oauth.tables import OAuthApp
from cmpapi.server.settings import Settings

# RFC 6749 §3.1: these must not be repeated (PKCE's two per RFC 7636 §4.3).
_SINGLE = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """``uri`` with ``params`` added to its query (its own query is kept, §3.1.2)."""
    parts = urlsplit(uri)
    added = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))


class ErrorRedirect(Exception):
    """An OAuth error sent back to the client's validated redirect URI."""

    def __init__(self, redirect_uri: str, error: OAuth2Error, state: str | None) -> None:
        super().__init__(error.error)
        self.location = with_query(
            redirect_uri,
            {"error": error.error, "error_description": error.description, "state": state},
        )


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated authorization request."""

    app: OAuthApp
    redirect_uri: str
    scope: str
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None

    def query_string(self) -> str:
        """The request as a canonical, fully encoded query (for forms and redirects)."""
        params = {
            "response_type": "code",
            "client_id": self.app.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
        }
        return urlencode({k: v for k, v in params.items() if v is not None})


def validate_request(session: Session, items: Iterable[tuple[str, str]]) -> AuthorizationRequest:
    """Validate the query of an authorization request (GET, or the forms' POSTs)."""
    params: dict[str, str] = {}
    repeated: set[str] = set()
    for key, value in items:
        if key in params and key in _SINGLE:
            repeated.add(key)
        params.setdefault(key, value)
    app = _client(session, params.get("client_id"), "client_id" in repeated)
    redirect_uri = _redirect_uri(app, params.get("redirect_uri"), "redirect_uri" in repeated)
    state = params.get("state") or None
    try:
        return _validate_rest(app, redirect_uri, state, params, repeated)
    except OAuth2Error as exc:
        raise ErrorRedirect(redirect_uri, exc, state) from exc


def _client(session: Session, client_id: str | None, repeated: bool) -> OAuthApp:
    if not client_id or repeated:
        raise PageError("Invalid request", "The request must name exactly one client_id.")
    app = find_app(session, client_id)
    if app is None:
        raise PageError("Unknown app", "No app is registered with this client_id.")
    return app


def _redirect_uri(app: OAuthApp, requested: str | None, repeated: bool) -> str:
    if repeated:
        raise PageError("Invalid request", "The request names several redirect_uri values.")
    if requested is None or requested == "":
        # Only unambiguous: with several registered URIs the client must choose.
        if len(app.redirect_uris) == 1:
            return app.redirect_uris[0]
        raise PageError("Invalid request", "The request must name its redirect_uri.")
    # Exact string match (RFC 9700 §4.1.3): no prefix, pattern or normalisation; the one
    # exception is the port of a loopback URI (RFC 8252 §7.3).
    if requested not in app.redirect_uris and not any(
        loopback_match(requested, registered) for registered in app.redirect_uris
    ):
        raise PageError(
            "Invalid redirect URI",
            f"The redirect URI is not registered for {app.name}; no redirect was made.",
        )
    return requested


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def loopback_match(requested: str, registered: str) -> bool:
    """Whether ``requested`` is the registered loopback redirect URI on another port.

    RFC 8252 §7.3: a native app (a CLI, a notebook) listens on a port the system gives it
    at the time of the request, so the authorization server must accept any port for a
    registered ``http`` loopback URI. Everything else (scheme, host as registered, path,
    query) must still match exactly."""
    want, got = urlsplit(registered), urlsplit(requested)
    if want.scheme != "http" or want.hostname not in LOOPBACK_HOSTS:
        return False
    try:
        got.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        return False
    return (
        got.scheme == "http"
        and got.username is None
        and got.password is None
        and got.hostname == want.hostname
        and (got.path, got.query, got.fragment) == (want.path, want.query, want.fragment)
    )


def _validate_rest(
    app: OAuthApp,
    redirect_uri: str,
    state: str | None,
    params: dict[str, str],
    repeated: set[str],
) -> AuthorizationRequest:
    if repeated:
        raise InvalidRequest(f"Parameter '{min(repeated)}' is repeated")
    response_type = params.get("response_type")
    if not response_type:
        raise InvalidRequest("Missing 'response_type' parameter")
    if response_type != "code":
        raise UnsupportedResponseType()
    scope = resolve_scope(params.get("scope"))
    challenge, method = pkce.check_challenge(
        params.get("code_challenge") or None, params.get("code_challenge_method") or None
    )
    return AuthorizationRequest(app, redirect_uri, scope, state, challenge, method)


def approve(
    session: Session, settings: Settings, request: AuthorizationRequest, user_id: str
) -> str:
    """Issue a code for the user's approval; the Location to send the browser to."""
    code = create_authorization_code(
        session,
        settings,
        request.app,
        user_id,
        redirect_uri=request.redirect_uri,
        scope=request.scope,
        code_challenge=request.code_challenge,
        code_challenge_method=request.code_challenge_method,
    )
    session.commit()
    return with_query(request.redirect_uri, {"code": code, "state": request.state})


def deny(request: AuthorizationRequest) -> str:
    """The Location telling the client the user refused (``error=access_denied``)."""
    return ErrorRedirect(request.redirect_uri, AccessDenied(), request.state).location
