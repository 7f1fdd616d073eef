"""OAuth apps (clients), grants, authorization codes, tokens, login sessions and sign-in
throttling counters.

Secrets, codes and tokens are stored only as SHA-256 hashes: a database dump cannot be
replayed against the server.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cmpapi.server.db.base import Base, OrgScoped, PortableJSON, new_id, utcnow


class OAuthApp(OrgScoped, Base):
    """A registered app. client_credentials tokens act as ``token_user_id``."""

    __tablename__ = "oauth_apps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    homepage_url: Mapped[str | None] = mapped_column(String(2048))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(PortableJSON(), default=list)
    token_user_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    expose_email: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthGrant(OrgScoped, Base):
    """One authorization of an app by a user; refresh-token rotation lives inside it.

    Revoking the grant (e.g. when a retired refresh token is replayed) revokes every
    token issued under it.
    """

    __tablename__ = "oauth_grants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    app_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class AuthorizationCode(OrgScoped, Base):
    """A single-use, short-lived authorization code (hashed), with its PKCE challenge."""

    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    scope: Mapped[str] = mapped_column(String(200), default="")
    nonce: Mapped[str | None] = mapped_column(String(200))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The grant created when the code was redeemed; a replayed code revokes it.
    grant_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthToken(OrgScoped, Base):
    """An access or refresh token (hashed). ``rotated_at`` marks a retired refresh token."""

    __tablename__ = "oauth_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(10))  # "access" | "refresh"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    grant_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    rotated_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A browser login on the authorization page (cookie holds the raw id; DB the hash)."""

    __tablename__ = "oauth_login_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInThrottle(Base):
    """A failure counter (or a known-address mark) of sign-in throttling, see throttle.py.

    ``key`` is a SHA-256 over the realm, the counter kind and its subject (login name,
    client id, client address): the table holds no emails, addresses or mistyped
    passwords in clear. A row whose ``expires_at`` has passed counts as absent.
    """

    __tablename__ = "signin_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None]
    expires_at: Mapped[datetime] = mapped_column(index=True)
