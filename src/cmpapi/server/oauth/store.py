"""Storage of apps and tokens: creating apps, issuing and revoking tokens.

The grant logic (endpoints, PKCE, rotation) sits on top of these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.errors import Invalid
from cmpapi.server.http import principals
from cmpapi.server.identity.tables import User
from cmpapi.server.oauth.secrets import hash_secret, new_secret
from cmpapi.server.oauth.tables import OAuthApp, OAuthGrant, OAuthToken

DEFAULT_SCOPE = "openid profile offline_access"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as handed to a client once: the raw value is never stored."""

    raw: str
    row: OAuthToken


def create_app(
    session: Session,
    org_id: str,
    *,
    name: str,
    redirect_uris: list[str],
    token_user_id: str | None = None,
    expose_email: bool = False,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> tuple[OAuthApp, str]:
    """Register an app; returns it with its raw client secret (shown once, stored hashed)."""
    check_redirect_uris(redirect_uris)
    if token_user_id is not None:
        user = session.get(User, token_user_id)
        if user is None or user.org_id != org_id:
            raise Invalid("The token user must belong to the app's organization")
    secret = client_secret or new_secret()
    app = OAuthApp(
        org_id=org_id,
        name=name,
        client_id=client_id or new_id(),
        client_secret_hash=hash_secret(secret),
        redirect_uris=list(redirect_uris),
        token_user_id=token_user_id,
        expose_email=expose_email,
    )
    session.add(app)
    session.flush()
    return app, secret


def check_redirect_uris(uris: Sequence[str]) -> None:
    """Each redirect URI must be an absolute http(s) URL with a host and no fragment
    (RFC 6749 §3.1.2); Invalid names the first that is not."""
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme not in ("https", "http") or not parts.netloc or "#" in uri:
            raise Invalid(
                "Redirect URIs must be absolute http(s) URLs without a fragment",
                {"redirect_uri": uri},
            )


def issue_token(
    session: Session,
    app: OAuthApp,
    user_id: str,
    *,
    kind: str,
    ttl_seconds: int,
    scope: str = DEFAULT_SCOPE,
    grant_id: str | None = None,
    raw: str | None = None,
) -> IssuedToken:
    """Store a new access or refresh token (hashed) and return its raw value."""
    raw = raw or new_secret()
    row = OAuthToken(
        org_id=app.org_id,
        kind=kind,
        token_hash=hash_secret(raw),
        app_id=app.id,
        user_id=user_id,
        grant_id=grant_id,
        scope=scope,
        expires_at=utcnow() + timedelta(seconds=ttl_seconds),
    )
    session.add(row)
    session.flush()
    return IssuedToken(raw, row)


def find_token(session: Session, raw: str, kind: str | None = None) -> OAuthToken | None:
    """The stored token with this raw value, whatever its state."""
    stmt = select(OAuthToken).where(OAuthToken.token_hash == hash_secret(raw))
    if kind is not None:
        stmt = stmt.where(OAuthToken.kind == kind)
    return session.scalars(stmt).one_or_none()


def revoke_grant(session: Session, grant_id: str) -> None:
    """Revoke a grant and every token issued under it."""
    now = utcnow()
    session.execute(
        update(OAuthGrant)
        .where(OAuthGrant.id == grant_id, OAuthGrant.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(OAuthToken)
        .where(OAuthToken.grant_id == grant_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    # Before the commit, so a lookup already running does not keep the token either
    # (principals.PrincipalCache's generation); the caller's commit makes it final.
    principals.forget_all()
