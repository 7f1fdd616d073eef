"""The refresh token grant (RFC 6749 §6) with rotation and reuse detection.

Every refresh returns a new refresh token and retires the old one (``rotated_at``), as
the CMP does (its older Node SDK fails when no new refresh token comes back). A retired
token presented again means two parties hold it, so the whole grant is revoked
(RFC 9700 §4.14.2) and the request fails with ``invalid_grant``.
"""

from __future__ import annotations

from sqlalchemy import update

from cmpapi.server.db.base import utcnow
from cmpapi.server.identity.tables import User
from cmpapi.server.oauth import store
from cmpapi.server.oauth.errors import InvalidGrant
from cmpapi.server.oauth.grants.base import TokenBody, TokenGrant
from cmpapi.server.oauth.scopes import resolve_scope
from cmpapi.server.oauth.tables import OAuthGrant, OAuthToken


class RefreshTokenGrant(TokenGrant):
    """``grant_type=refresh_token``: a refresh token for a new access + refresh token."""

    GRANT_TYPE = "refresh_token"

    def create_token_response(self) -> TokenBody:
        """Rotate the refresh token; the new access token may narrow the scope (§6)."""
        old = store.find_token(self.session, self.params.require("refresh_token"), "refresh")
        if old is None or old.app_id != self.client.id:
            raise InvalidGrant("Unknown refresh token")
        if old.rotated_at is not None:
            self._reject_reuse(old)
        grant = self._live_grant(old)
        scope = resolve_scope(self.params.get("scope"), allowed=grant.scope)
        self._rotate(old)
        body = self.issue_tokens(old.user_id, scope, grant_id=grant.id, refresh_scope=grant.scope)
        self.session.commit()
        return body

    def _live_grant(self, token: OAuthToken) -> OAuthGrant:
        grant = self.session.get(OAuthGrant, token.grant_id) if token.grant_id else None
        if token.revoked_at is not None or grant is None or grant.revoked_at is not None:
            raise InvalidGrant("The refresh token has been revoked")
        if token.expires_at <= utcnow():
            raise InvalidGrant("The refresh token has expired")
        user = self.session.get(User, token.user_id)
        if user is None or not user.is_active:
            raise InvalidGrant("The user of this refresh token is deactivated")
        return grant

    def _rotate(self, token: OAuthToken) -> None:
        # Conditional UPDATE: of two concurrent refreshes with one token, one is reuse.
        rotated = self.session.execute(
            update(OAuthToken)
            .where(
                OAuthToken.id == token.id,
                OAuthToken.rotated_at.is_(None),
                OAuthToken.revoked_at.is_(None),
            )
            .values(rotated_at=utcnow())
            .returning(OAuthToken.id)
        ).first()
        if rotated is None:
            self._reject_reuse(token)

    def _reject_reuse(self, token: OAuthToken) -> None:
        if token.grant_id is not None:
            store.revoke_grant(self.session, token.grant_id)
        self.session.commit()
        raise InvalidGrant("The refresh token was already used; the grant is revoked")
