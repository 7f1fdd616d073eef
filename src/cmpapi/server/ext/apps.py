"""``GET /ext/v1/apps``: the organization's OAuth apps (admins only; secrets never shown)."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.repository import Repository
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.responses import json_response
from cmpapi.server.http.router import Router
from cmpapi.server.oauth.tables import OAuthApp

router = Router(prefix="/ext/v1", linked=False, tags=["cmpapi: apps"])


# What the list reads (``Repository.rows`` prepares it once): never the secret's hash.
LIST_COLUMNS = (
    OAuthApp.id,
    OAuthApp.name,
    OAuthApp.client_id,
    OAuthApp.redirect_uris,
    OAuthApp.token_user_id,
    OAuthApp.expose_email,
    OAuthApp.is_active,
    OAuthApp.created_at,
)
OLDEST_FIRST = (OAuthApp.created_at,)


def list_apps(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The organization's apps as JSON-ready dicts."""
    require(principal, "apps:read")
    page = Repository(OAuthApp, session, principal.org_id).rows(
        LIST_COLUMNS, order_by=OLDEST_FIRST, page_size=1000
    )
    return [
        {
            "id": app.id,
            "name": app.name,
            "client_id": app.client_id,
            "redirect_uris": app.redirect_uris,
            "token_user_id": app.token_user_id,
            "expose_email": app.expose_email,
            "is_active": app.is_active,
            "created_at": app.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for app in page.items
    ]


@router.get("/apps", operation_id="extListApps", responses=error_responses(401, 403))
async def ext_list_apps(api: ApiDep) -> Response:
    """List the organization's OAuth apps (admin only)."""
    return json_response({"data": await api.call(list_apps)})
