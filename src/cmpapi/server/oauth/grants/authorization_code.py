"""The authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636).

Codes are single use: the exchange claims a code with one conditional UPDATE, so of two
concurrent exchanges exactly one wins, on SQLite and PostgreSQL alike. A code presented
again fails and revokes the grant (every token) issued from it, per RFC 6749 §4.1.2.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.oauth import pkce, store
from cmpapi.server.oauth.errors import InvalidGrant
from cmpapi.server.oauth.grants.base import TokenBody, TokenGrant
from cmpapi.server.oauth.secrets import hash_secret, new_secret
from cmpapi.server.oauth.tables import AuthorizationCode, OAuthApp, OAuthGrant
from cmpapi.server.settings import Settings

# Used codes are kept this long after expiry so a late replay still revokes its tokens.
REPLAY_WINDOW = timedelta(days=1)


def create_authorization_code(
    session: Session,
    settings: Settings,
    app: OAuthApp,
    user_id: str,
    *,
    redirect_uri: str,
    scope: str,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
) -> str:
    """Store a new code for ``user_id``'s approval; returns the raw code (flushed only)."""
    now = utcnow()
    session.execute(
        delete(AuthorizationCode).where(AuthorizationCode.expires_at < now - REPLAY_WINDOW)
    )
    raw = new_secret()
    session.add(
        AuthorizationCode(
            code_hash=hash_secret(raw),
            org_id=app.org_id,
            app_id=app.id,
            user_id=user_id,
            redirect_uri=redirect_uri,
            scope=scope,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            expires_at=now + timedelta(seconds=settings.authorization_code_ttl),
        )
    )
    session.flush()
    return raw


class AuthorizationCodeGrant(TokenGrant):
    """``grant_type=authorization_code``: a code (and PKCE verifier) for tokens."""

    GRANT_TYPE = "authorization_code"

    def create_token_response(self) -> TokenBody:
        """Exchange the code for an access token and a refresh token."""
        code = self._validate_code()
        self._claim(code)
        grant = OAuthGrant(
            org_id=code.org_id, app_id=code.app_id, user_id=code.user_id, scope=code.scope
        )
        self.session.add(grant)
        self.session.flush()
        code.grant_id = grant.id
        body = self.issue_tokens(
            code.user_id, code.scope, grant_id=grant.id, refresh_scope=code.scope
        )
        self.session.commit()
        return body

    def _validate_code(self) -> AuthorizationCode:
        code = self.session.get(AuthorizationCode, hash_secret(self.params.require("code")))
        # A code of another client is reported as unknown: its existence is not revealed.
        if code is None or code.app_id != self.client.id:
            raise InvalidGrant("Unknown authorization code")
        if code.used_at is not None:
            self._reject_replay(code)
        if code.expires_at <= utcnow():
            raise InvalidGrant("The authorization code has expired")
        # RFC 6749 §4.1.3: the redirect_uri, when sent, must be the one of the request.
        redirect_uri = self.params.get("redirect_uri")
        if redirect_uri is not None and redirect_uri != code.redirect_uri:
            raise InvalidGrant("redirect_uri differs from the authorization request's")
        pkce.verify(
            self.params.get("code_verifier"), code.code_challenge, code.code_challenge_method
        )
        return code

    def _claim(self, code: AuthorizationCode) -> None:
        claimed = self.session.execute(
            update(AuthorizationCode)
            .where(
                AuthorizationCode.code_hash == code.code_hash,
                AuthorizationCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
            .returning(AuthorizationCode.code_hash)
        ).first()
        if claimed is None:
            self._reject_replay(code)

    def _reject_replay(self, code: AuthorizationCode) -> None:
        # Read the column afresh: a concurrent winner may have just committed its grant.
        grant_id = self.session.scalar(
            select(AuthorizationCode.grant_id).where(AuthorizationCode.code_hash == code.code_hash)
        )
        if grant_id is not None:
            store.revoke_grant(self.session, grant_id)
        self.session.commit()
        raise InvalidGrant("The authorization code was already used; its tokens are revoked")
