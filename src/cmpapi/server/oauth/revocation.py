"""Token revocation (RFC 7009), answered with the CMP's ``{"msg": "success"}``.

Revoking a refresh token revokes its grant (every token issued under it); revoking an
access token revokes that token only. Unknown tokens, and tokens of another client,
get the same success answer (RFC 7009 §2.2) so the endpoint reveals nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from cmpapi.server.db.base import utcnow
from cmpapi.server.http import principals
from cmpapi.server.oauth import store
from cmpapi.server.oauth.clients import authenticate_client
from cmpapi.server.oauth.params import OAuthParams
from cmpapi.server.settings import Settings


def revoke_token(session: Session, settings: Settings, params: OAuthParams) -> None:
    """Authenticate the client, then revoke the token if it is the client's own."""
    client = authenticate_client(session, settings, params)
    # token_type_hint is only a hint (RFC 7009 §2.1); hashes are unique across kinds.
    token = store.find_token(session, params.require("token"))
    if token is None or token.app_id != client.id:
        return
    if token.kind == "refresh" and token.grant_id is not None:
        store.revoke_grant(session, token.grant_id)
    elif token.revoked_at is None:
        token.revoked_at = utcnow()
    session.commit()
    principals.forget_all()  # this process refuses the token from now on
