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
    """The migration's failed contents: ``{"status", "migration_error", "data":
    [{content_id, error, errors, at}], "pagination": {...}}``; ``errors`` maps each field
    path to its problem, ``migration_error`` is why the job itself gave up (else null)."""

    def work(session: Session, principal: Principal) -> tuple[Page[Any], dict[str, Any]]:
        migration, page = managed_migrations.list_failures(
            session, principal, job_id, params.offset, params.page_size
        )
        answer = {
            "status": migration.status,
            "migration_error": migration.error,
            "data": [_failure(item) for item in page.items],
        }
        return page, answer

    page, answer = await api.call(work)
    envelope = pagination(request, api.links, page)
    pages = {"next": envelope.next, "previous": envelope.previous}
    return json_response({**answer, "pagination": pages})
