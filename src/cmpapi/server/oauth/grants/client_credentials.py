"""The client credentials grant (RFC 6749 §4.4).

CMP tokens are always bound to a user (permissions, ``owner_id`` defaults), so a
client_credentials token acts as the app's configured token user. No refresh token is
issued: clients ask for a new token instead, as the CMP SDKs do.
"""

from __future__ import annotations

from cmpapi.server.identity.tables import User
from cmpapi.server.oauth.errors import UnauthorizedClient
from cmpapi.server.oauth.grants.base import TokenBody, TokenGrant
from cmpapi.server.oauth.scopes import resolve_scope


class ClientCredentialsGrant(TokenGrant):
    """``grant_type=client_credentials``: an access token acting as the app's token user."""

    GRANT_TYPE = "client_credentials"

    def create_token_response(self) -> TokenBody:
        """Issue an access token (no refresh token) for the app's token user."""
        user_id = self.client.token_user_id
        user = self.session.get(User, user_id) if user_id else None
        if user is None or not user.is_active:
            raise UnauthorizedClient(
                "This app has no active token user; client_credentials tokens act as the "
                "app's token user, so set one on the app first"
            )
        scope = resolve_scope(self.params.get("scope"))
        body = self.issue_tokens(user.id, scope, grant_id=None, refresh_scope=None)
        self.session.commit()
        return body
