"""Administering apps on this machine (``cmpapi apps``): listing, turning off and on,
rotating the client secret, replacing redirect URIs, deleting; and revoking every token of
a user or an app (what deactivating either does).

A revocation or a new secret applies at once in the token endpoint (it reads the database);
API processes that cached an access token's principal drop it within
``token_cache_seconds`` (http/principals.py, docs/oauth.md#revocation).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.errors import Conflict, NotFound
from cmpapi.server.http import principals
from cmpapi.server.oauth.secrets import hash_secret, new_secret
from cmpapi.server.oauth.store import check_redirect_uris
from cmpapi.server.oauth.tables import (
    AuthorizationCode,
    LoginSession,
    OAuthApp,
    OAuthGrant,
    OAuthToken,
)

# What deleting an app deletes with it: its own sign-in state, nothing else refers to.
APP_OWN_ROWS = frozenset(
    {
        "oauth_apps.id",
        "oauth_apps.client_id",
        "oauth_tokens.app_id",
        "oauth_grants.app_id",
        "oauth_codes.app_id",
    }
)


def find_app(session: Session, ref: str) -> OAuthApp:
    """The app whose id or client id is ``ref``, active or not; NotFound otherwise."""
    stmt = select(OAuthApp).where(or_(OAuthApp.id == ref, OAuthApp.client_id == ref))
    app = session.scalars(stmt.limit(1)).first()
    if app is None:
        raise NotFound(f"No app {ref}")
    return app


def list_apps(session: Session, org_id: str) -> Sequence[OAuthApp]:
    """The organization's apps, oldest first, deactivated ones included."""
    stmt = select(OAuthApp).where(OAuthApp.org_id == org_id)
    return session.scalars(stmt.order_by(OAuthApp.created_at, OAuthApp.id)).all()


def revoke_tokens(
    session: Session, *, user_id: str | None = None, app_id: str | None = None
) -> int:
    """Revoke every live token and grant of a user or an app, and drop its pending codes
    (and a user's login sessions); returns how many tokens were live."""
    now = utcnow()
    who = (OAuthToken.user_id == user_id) if user_id else (OAuthToken.app_id == app_id)
    revoked = session.scalar(
        select(func.count()).select_from(OAuthToken).where(who, OAuthToken.revoked_at.is_(None))
    )
    session.execute(
        update(OAuthToken).where(who, OAuthToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    grants = (OAuthGrant.user_id == user_id) if user_id else (OAuthGrant.app_id == app_id)
    session.execute(
        update(OAuthGrant).where(grants, OAuthGrant.revoked_at.is_(None)).values(revoked_at=now)
    )
    codes = (
        (AuthorizationCode.user_id == user_id) if user_id else (AuthorizationCode.app_id == app_id)
    )
    session.execute(delete(AuthorizationCode).where(codes, AuthorizationCode.used_at.is_(None)))
    if user_id:
        session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    principals.forget_all()
    return int(revoked or 0)


def deactivate_app(session: Session, app: OAuthApp) -> int:
    """Turn an app off: its client credentials and tokens stop working (tokens revoked,
    so turning it on again does not revive them). Returns the tokens revoked."""
    app.is_active = False
    revoked = revoke_tokens(session, app_id=app.id)
    session.flush()
    return revoked


def activate_app(session: Session, app: OAuthApp) -> None:
    """Turn a deactivated app on again (it gets new tokens the usual way)."""
    app.is_active = True
    session.flush()


def rotate_secret(session: Session, app: OAuthApp, *, revoke: bool = False) -> str:
    """Give the app a new client secret (returned once; only its hash is stored): the old
    one stops working at once. ``revoke``: revoke the tokens issued so far too."""
    secret = new_secret()
    app.client_secret_hash = hash_secret(secret)
    if revoke:
        revoke_tokens(session, app_id=app.id)
    session.flush()
    return secret


def set_redirect_uris(session: Session, app: OAuthApp, uris: Sequence[str]) -> None:
    """Replace the app's redirect URIs (each an absolute http(s) URL, no fragment)."""
    check_redirect_uris(uris)
    app.redirect_uris = list(dict.fromkeys(uris))
    session.flush()


def delete_app(session: Session, app: OAuthApp) -> None:
    """Delete a deactivated app with its grants, codes and (revoked) tokens. Refused for an
    active app (deactivate it first: its tokens are revoked then) and for an app other
    rows refer to."""
    from cmpapi.server.db.references import describe, references

    if app.is_active:
        raise Conflict("The app is active: deactivate it first (`cmpapi apps deactivate`)")
    found = {
        **references(session, app.id, ignore=APP_OWN_ROWS),
        **references(session, app.client_id, ignore=APP_OWN_ROWS),
    }
    if found:
        raise Conflict(f"The app is referenced by {describe(found)}: keep it deactivated")
    session.execute(delete(OAuthToken).where(OAuthToken.app_id == app.id))
    session.execute(delete(AuthorizationCode).where(AuthorizationCode.app_id == app.id))
    session.execute(delete(OAuthGrant).where(OAuthGrant.app_id == app.id))
    session.delete(app)
    session.flush()
