"""Client (app) lookup and authentication at the token and revocation endpoints.

Two methods, as RFC 6749 §2.3.1 describes: ``client_secret_post`` (``client_id`` and
``client_secret`` in the body, what every CMP SDK sends) and ``client_secret_basic``
(HTTP Basic). When both are present, Basic wins.

Wrong secrets are throttled per client_id and per client address (``throttle.py``): a
throttled request is refused with 429 before its secret is checked.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.oauth import throttle
from cmpapi.server.oauth.errors import InvalidClient, InvalidRequest, TooManyAttempts
from cmpapi.server.oauth.params import OAuthParams
from cmpapi.server.oauth.secrets import secret_matches
from cmpapi.server.oauth.tables import OAuthApp
from cmpapi.server.settings import Settings


def find_app(session: Session, client_id: str) -> OAuthApp | None:
    """The active app with this client id, if any."""
    stmt = select(OAuthApp).where(OAuthApp.client_id == client_id, OAuthApp.is_active.is_(True))
    return session.scalars(stmt).one_or_none()


def authenticate_client(session: Session, settings: Settings, params: OAuthParams) -> OAuthApp:
    """The app whose credentials the request carries, or ``invalid_client`` (401; 429 when
    throttled)."""
    if params.basic is not None:
        client_id, secret = params.basic
        body_client_id = params.get("client_id")
        if body_client_id is not None and body_client_id != client_id:
            raise InvalidRequest("client_id in the body differs from the HTTP Basic one")
        return _verify(session, settings, params, client_id, secret, used_basic=True)
    body_id, body_secret = params.get("client_id"), params.get("client_secret")
    if body_id is None or body_secret is None:
        raise InvalidClient("Send client_id and client_secret in the body or with HTTP Basic")
    return _verify(session, settings, params, body_id, body_secret, used_basic=False)


def _verify(
    session: Session,
    settings: Settings,
    params: OAuthParams,
    client_id: str,
    secret: str,
    *,
    used_basic: bool,
) -> OAuthApp:
    attempt = throttle.Attempt(
        throttle.CLIENT, client_id, throttle.client_address(params.client_host)
    )
    gate = throttle.check(session, settings, attempt)
    if gate.retry_after is not None:
        raise TooManyAttempts(gate.retry_after)
    app = find_app(session, client_id)
    if app is None or not secret_matches(secret, app.client_secret_hash):
        throttle.failed(session, settings, attempt, gate)
        raise InvalidClient("Unknown client or wrong client secret", used_basic=used_basic)
    throttle.succeeded(session, settings, attempt, gate)
    return app
