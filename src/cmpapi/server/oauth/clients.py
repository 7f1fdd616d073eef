"""Client (app) lookup and authentication at the token and revocation endpoints.

Two methods, as RFC 6749 §2.3.1 describes: ``client_secret_post`` (``client_id`` and
``client_secret`` in the body, what every CMP SDK sends) and ``client_secret_basic``
(HTTP Basic). When both are present, Basic wins.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.oauth.errors import InvalidClient, InvalidRequest
from cmpapi.server.oauth.params import OAuthParams
from cmpapi.server.oauth.secrets import secret_matches
from cmpapi.server.oauth.tables import OAuthApp


def find_app(session: Session, client_id: str) -> OAuthApp | None:
    """The active app with this client id, if any."""
    stmt = select(OAuthApp).where(OAuthApp.client_id == client_id, OAuthApp.is_active.is_(True))
    return session.scalars(stmt).one_or_none()


def authenticate_client(session: Session, params: OAuthParams) -> OAuthApp:
    """The app whose credentials the request carries, or ``invalid_client`` (401)."""
    if params.basic is not None:
        client_id, secret = params.basic
        body_client_id = params.get("client_id")
        if body_client_id is not None and body_client_id != client_id:
            raise InvalidRequest("client_id in the body differs from the HTTP Basic one")
        return _verify(session, client_id, secret, used_basic=True)
    body_id, body_secret = params.get("client_id"), params.get("client_secret")
    if body_id is None or body_secret is None:
        raise InvalidClient("Send client_id and client_secret in the body or with HTTP Basic")
    return _verify(session, body_id, body_secret, used_basic=False)


def _verify(session: Session, client_id: str, secret: str, *, used_basic: bool) -> OAuthApp:
    app = find_app(session, client_id)
    if app is None or not secret_matches(secret, app.client_secret_hash):
        raise InvalidClient("Unknown client or wrong client secret", used_basic=used_basic)
    return app
