"""The token endpoint: pick the grant, authenticate the client, let the grant issue.

Structured like Authlib's ``AuthorizationServer`` (grants registered by type, client
authentication before the grant, one error tree), without its framework glue.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cmpapi.server.oauth.clients import authenticate_client
from cmpapi.server.oauth.errors import UnsupportedGrantType
from cmpapi.server.oauth.grants.authorization_code import AuthorizationCodeGrant
from cmpapi.server.oauth.grants.base import TokenBody, TokenGrant
from cmpapi.server.oauth.grants.client_credentials import ClientCredentialsGrant
from cmpapi.server.oauth.grants.refresh_token import RefreshTokenGrant
from cmpapi.server.oauth.params import OAuthParams
from cmpapi.server.settings import Settings

GRANTS: dict[str, type[TokenGrant]] = {
    grant.GRANT_TYPE: grant
    for grant in (AuthorizationCodeGrant, RefreshTokenGrant, ClientCredentialsGrant)
}


def create_token_response(session: Session, settings: Settings, params: OAuthParams) -> TokenBody:
    """Run the token request's grant; the RFC 6749 §5.1 body, or an ``OAuth2Error``."""
    grant_cls = GRANTS.get(params.require("grant_type"))
    if grant_cls is None:
        raise UnsupportedGrantType()
    client = authenticate_client(session, settings, params)
    return grant_cls(session, settings, client, params).create_token_response()
