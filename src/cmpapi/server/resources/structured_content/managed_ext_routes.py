"""``GET /ext/v1/structured-content/managed-migrations/{job_id}/failures``: the contents a
managed migration could not move and why (docs/ext-api.md). The spec's
``ContentMigrationSummary`` only counts them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.repository import Page
from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.paging import pagination
from cmpapi.server.http.query import Paging, query
from cmpapi.server.http.responses import json_response
from cmpapi.server.http.router import Router
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.structured_content import managed_migrations
from cmpapi.server.resources.structured_content.managed_tables import ManagedMigrationItem

router = Router(prefix="/ext/v1", linked=False, tags=["cmpapi: structured content"])
Pages = Annotated[Paging, Depends(query(Paging))]


def _failure(item: ManagedMigrationItem) -> dict[str, Any]:
    return {
        "content_id": item.content_id,
        "error": item.error,
        "errors": item.errors or {},
        "at": timestamp(item.updated_at) if item.updated_at is not None else None,
    }


@router.get(
    "/structured-content/managed-migrations/{job_id}/failures",
    operation_id="extListManagedMigrationFailures",
    responses=error_responses(400, 401, 403, 404),
)
async def list_failures(request: Request, job_id: str, api: ApiDep, params: Pages) -> Response:
    """The migration's failed contents: ``{"data": [{content_id, error, errors, at}],
    "pagination": {...}}``; ``errors`` maps each field path to its problem."""

    def work(session: Session, principal: Principal) -> tuple[Page[Any], list[Any]]:
        page = managed_migrations.list_failures(
            session, principal, job_id, params.offset, params.page_size
        )
        return page, [_failure(item) for item in page.items]

    page, data = await api.call(work)
    envelope = pagination(request, api.links, page)
    return json_response(
        {"data": data, "pagination": {"next": envelope.next, "previous": envelope.previous}}
    )
