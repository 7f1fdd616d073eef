"""What every grant shares: its inputs, and issuing the tokens of a token response."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from cmpapi.server.oauth import store
from cmpapi.server.oauth.params import OAuthParams
from cmpapi.server.oauth.tables import OAuthApp
from cmpapi.server.settings import Settings

TokenBody = dict[str, Any]


class TokenGrant(ABC):
    """A grant type at the token endpoint. The client is already authenticated.

    Subclasses validate the grant and return the RFC 6749 §5.1 response body, raising
    ``OAuth2Error`` subclasses on failure. They own the transaction: they commit what
    they issue, and also commit the revocations a replay attack triggers before failing.
    """

    GRANT_TYPE: ClassVar[str]

    def __init__(
        self, session: Session, settings: Settings, client: OAuthApp, params: OAuthParams
    ) -> None:
        self.session = session
        self.settings = settings
        self.client = client
        self.params = params

    @abstractmethod
    def create_token_response(self) -> TokenBody:
        """Validate the request and issue tokens; the JSON body of the response."""

    def issue_tokens(
        self, user_id: str, scope: str, *, grant_id: str | None, refresh_scope: str | None
    ) -> TokenBody:
        """Store an access token, and a refresh token when ``refresh_scope`` is given."""
        access = store.issue_token(
            self.session,
            self.client,
            user_id,
            kind="access",
            ttl_seconds=self.settings.access_token_ttl,
            scope=scope,
            grant_id=grant_id,
        )
        # expires_in is always sent: the CMP SDKs compute the expiry from it.
        body: TokenBody = {
            "access_token": access.raw,
            "token_type": "Bearer",
            "expires_in": self.settings.access_token_ttl,
        }
        if refresh_scope is not None:
            refresh = store.issue_token(
                self.session,
                self.client,
                user_id,
                kind="refresh",
                ttl_seconds=self.settings.refresh_token_ttl,
                scope=refresh_scope,
                grant_id=grant_id,
            )
            body["refresh_token"] = refresh.raw
        body["scope"] = scope
        return body
