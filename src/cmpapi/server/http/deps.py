"""Request-scoped dependencies: the database session and the authenticated principal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.errors import Unauthorized
from cmpapi.server.identity.tables import User
from cmpapi.server.oauth.secrets import hash_secret
from cmpapi.server.oauth.tables import OAuthApp, OAuthToken


def db_session(request: Request) -> Iterator[Session]:
    """One session per request; services commit, anything uncommitted is rolled back."""
    with request.app.state.sessionmaker() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]

_TOKEN_QUERY = (
    select(
        OAuthToken.org_id,
        OAuthToken.user_id,
        OAuthToken.app_id,
        OAuthToken.scope,
        OAuthToken.expires_at,
        User.role,
        OAuthApp.expose_email,
    )
    .join(User, User.id == OAuthToken.user_id)
    .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
    .where(
        OAuthToken.kind == "access",
        OAuthToken.revoked_at.is_(None),
        User.is_active.is_(True),
        OAuthApp.is_active.is_(True),
    )
)


def bearer_token(request: Request) -> str | None:
    """The raw token of an ``Authorization: Bearer`` header, if any."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def lookup_principal(session: Session, raw_token: str) -> Principal | None:
    """The principal of a live access token: known, unrevoked, unexpired, active user."""
    row = session.execute(
        _TOKEN_QUERY.where(OAuthToken.token_hash == hash_secret(raw_token))
    ).one_or_none()
    if row is None or row.expires_at <= datetime.now(UTC):
        return None
    return Principal(
        org_id=row.org_id,
        user_id=row.user_id,
        role=row.role,
        app_id=row.app_id,
        scope=row.scope,
        expose_email=row.expose_email,
    )


def current_principal(request: Request, session: DbSession) -> Principal:
    """Dependency: the caller, or 401 ``{"message": "Unauthorized"}``."""
    raw = bearer_token(request)
    principal = lookup_principal(session, raw) if raw else None
    if principal is None:
        raise Unauthorized()
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
