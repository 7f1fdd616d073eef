"""The userinfo endpoint: the token user's claims (OpenID Connect Core §5.3)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cmpapi.server.http.principals import lookup_principal
from cmpapi.server.identity.tables import User
from cmpapi.server.oauth.errors import InvalidToken


def userinfo_claims(session: Session, raw_token: str | None) -> dict[str, str]:
    """``sub``, ``name``, ``preferred_username`` and, if the app exposes emails, ``email``."""
    principal = lookup_principal(session, raw_token) if raw_token else None
    user = session.get(User, principal.user_id) if principal else None
    if principal is None or user is None:
        raise InvalidToken("Missing bearer token" if raw_token is None else None)
    preferred = user.username or user.email.partition("@")[0]
    claims = {"sub": user.id, "name": user.full_name or preferred, "preferred_username": preferred}
    # The app's "Expose Email Addresses?" setting decides (CMP app registration).
    if principal.expose_email:
        claims["email"] = user.email
    return claims
