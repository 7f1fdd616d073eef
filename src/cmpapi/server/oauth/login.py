"""Browser logins on the authorization page, kept in the database.

The cookie holds a random session id; the table holds only its hash, the user and a
CSRF token for the consent form. Nothing lives in process memory, so any API process
can serve any step of the flow. Before login there is no session yet: the login form
is protected by a double-submit token (a random cookie repeated in a hidden field).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.identity.tables import User
from cmpapi.server.oauth.secrets import hash_secret, new_secret
from cmpapi.server.oauth.tables import LoginSession
from cmpapi.server.settings import Settings

SESSION_COOKIE = "cmpapi_oauth_session"
LOGIN_CSRF_COOKIE = "cmpapi_oauth_csrf"


@dataclass(frozen=True, slots=True)
class Login:
    """A live login: the session row and its (active) user."""

    row: LoginSession
    user: User


def start(session: Session, settings: Settings, user: User) -> str:
    """Open a login session for ``user``; returns the raw id for the cookie (committed)."""
    now = utcnow()
    # Expired sessions are swept here, on the rare write path, instead of by a job.
    session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    raw = new_secret()
    session.add(
        LoginSession(
            id_hash=hash_secret(raw),
            user_id=user.id,
            csrf_token=new_secret(),
            expires_at=now + timedelta(seconds=settings.login_session_ttl),
        )
    )
    session.commit()
    return raw


def current(session: Session, raw: str | None) -> Login | None:
    """The login of the session cookie, if it is known, unexpired and its user active."""
    row = session.get(LoginSession, hash_secret(raw)) if raw else None
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return Login(row, user) if user is not None and user.is_active else None


def end(session: Session, raw: str | None) -> None:
    """Delete the login session of this cookie value, if any (committed)."""
    if raw:
        session.execute(delete(LoginSession).where(LoginSession.id_hash == hash_secret(raw)))
        session.commit()


def tokens_match(expected: str | None, presented: str | None) -> bool:
    """Constant-time comparison of a CSRF token with the one a form sent back."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())
