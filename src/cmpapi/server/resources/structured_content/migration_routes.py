"""Structured Contents tag, migrations: migrateSCContent and the managed migrations of a
content type (validate, create, list, get, update, delete, start).

Errors are FastAPI-shaped (``sc_router``), except the statuses an operation documents
with the CMP ``Error`` body (migrateSCContent's 400/404/409, createSC...'s and
deleteSC...'s 400/404): the router reads that from each route's ``responses``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Response

from cmpapi.server.http.api import ApiDep, error_responses
from cmpapi.server.http.query import query
from cmpapi.server.http.responses import wire_response
from cmpapi.server.resources.structured_content import (
    content_migration,
    managed_mapping,
    managed_migrations,
)
from cmpapi.server.resources.structured_content.migration_bodies import (
    CreateBody,
    MigrateBody,
    UpdateBody,
    ValidateBody,
)
from cmpapi.server.resources.structured_content.routes import sc_router, validation_responses
from cmpapi.wire import (
    CreateSCContentTypeManagedMigrationResponse,
    CreateSCContentTypeManagedMigrationResponse201,
    GetSCContentTypeManagedMigrationResponse,
    HTTPException,
    ListSCContentTypeManagedMigrationsParametersQuery,
    ListSCContentTypeManagedMigrationsResponse,
    MigrateSCContentResponse,
    SCContentTypeManagedMigrationResponse,
    SCContentTypeManagedMigrationStartResponse,
    UpdateSCContentTypeManagedMigrationResponse,
    ValidateSCContentTypeManagedMigrationResponse,
    ValidateSCContentTypeManagedMigrationResponse404,
)

router = sc_router()
MIGRATIONS = "/structured-content/content-types/{content_type_id}/managed-migrations"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": HTTPException, "description": "Not Found"}
}
ListParams = Annotated[
    ListSCContentTypeManagedMigrationsParametersQuery,
    Depends(query(ListSCContentTypeManagedMigrationsParametersQuery)),
]


@router.post(
    "/structured-content/contents/{content_id}/migration",
    operation_id="migrateSCContent",
    status_code=201,
    response_model=MigrateSCContentResponse,
    responses={**error_responses(400, 404, 409), **validation_responses()},
)
async def migrate_sc_content(content_id: str, body: MigrateBody, api: ApiDep) -> Response:
    """Move a content to another version of its content type (the latest by default)."""
    return await api.answer(
        lambda done: wire_response(managed_mapping.migrated(done), 201),
        content_migration.migrate_sc_content,
        api.links,
        content_id,
        body,
    )


@router.post(
    MIGRATIONS + "/validate",
    operation_id="validateSCContentTypeManagedMigration",
    response_model=ValidateSCContentTypeManagedMigrationResponse,
    responses={404: {"model": ValidateSCContentTypeManagedMigrationResponse404}},
)
async def validate_sc_content_type_managed_migration(
    content_type_id: str, body: ValidateBody, api: ApiDep
) -> Response:
    """Whether every content on the source version can move to the latest version."""
    possible = await api.call(
        managed_migrations.validate_sc_content_type_managed_migration, content_type_id, body
    )
    return wire_response(
        ValidateSCContentTypeManagedMigrationResponse(is_managed_migration_possible=possible)
    )


@router.post(
    MIGRATIONS,
    operation_id="createSCContentTypeManagedMigration",
    status_code=201,
    response_model=CreateSCContentTypeManagedMigrationResponse201,
    # 200 (created: false) is answered too; documented as the content type routes do, with
    # the one success status the authorization matrix reads.
    responses=error_responses(400, 404),
)
async def create_sc_content_type_managed_migration(
    content_type_id: str, body: CreateBody, api: ApiDep
) -> Response:
    """A new managed migration (201), or ``created: false`` (200) while one from the same
    source version waits or runs."""

    def answer(created: managed_migrations.Created) -> Response:
        if created.migration is None:
            return wire_response(CreateSCContentTypeManagedMigrationResponse(created=False))
        model = CreateSCContentTypeManagedMigrationResponse201
        return wire_response(model(created=True, job_id=created.migration.id), 201)

    return await api.answer(
        answer, managed_migrations.create_sc_content_type_managed_migration, content_type_id, body
    )


@router.get(
    MIGRATIONS,
    operation_id="listSCContentTypeManagedMigrations",
    response_model=ListSCContentTypeManagedMigrationsResponse,
)
async def list_sc_content_type_managed_migrations(
    content_type_id: str, params: ListParams, api: ApiDep
) -> Response:
    """The content type's managed migrations, oldest first (``offset``, ``limit``)."""
    views = await api.call(
        managed_migrations.list_sc_content_type_managed_migrations, content_type_id, params
    )
    items = [managed_mapping.migration_response(v) for v in views]
    return wire_response(ListSCContentTypeManagedMigrationsResponse(items))


@router.get(
    MIGRATIONS + "/{job_id}",
    operation_id="getSCContentTypeManagedMigration",
    response_model=SCContentTypeManagedMigrationResponse,
    responses={404: {"model": GetSCContentTypeManagedMigrationResponse}},
)
async def get_sc_content_type_managed_migration(
    content_type_id: str, job_id: str, api: ApiDep
) -> Response:
    """One managed migration with its summary."""
    view = await api.call(
        managed_migrations.get_sc_content_type_managed_migration, content_type_id, job_id
    )
    return wire_response(managed_mapping.migration_response(view))


@router.patch(
    MIGRATIONS + "/{job_id}",
    operation_id="updateSCContentTypeManagedMigration",
    response_model=UpdateSCContentTypeManagedMigrationResponse,
    responses=validation_responses(),
)
async def update_sc_content_type_managed_migration(
    content_type_id: str, job_id: str, body: UpdateBody, api: ApiDep
) -> Response:
    """Replace the default values of a migration that has not started."""
    await api.call(
        managed_migrations.update_sc_content_type_managed_migration, content_type_id, job_id, body
    )
    return wire_response(UpdateSCContentTypeManagedMigrationResponse(updated=True))


@router.delete(
    MIGRATIONS + "/{job_id}",
    operation_id="deleteSCContentTypeManagedMigration",
    status_code=204,
    responses=error_responses(400, 404),
)
async def delete_sc_content_type_managed_migration(
    content_type_id: str, job_id: str, api: ApiDep
) -> Response:
    """Delete a migration that has not started."""
    await api.call(
        managed_migrations.delete_sc_content_type_managed_migration, content_type_id, job_id
    )
    return Response(status_code=204)


@router.post(
    MIGRATIONS + "/{job_id}/start",
    operation_id="startSCContentTypeManagedMigration",
    response_model=SCContentTypeManagedMigrationStartResponse,
    responses={400: {"model": HTTPException}, **NOT_FOUND},
)
async def start_sc_content_type_managed_migration(
    content_type_id: str, job_id: str, api: ApiDep
) -> Response:
    """Start (or, after an error, restart) a migration: its job runs in the background."""
    row = await api.call(
        managed_migrations.start_sc_content_type_managed_migration, content_type_id, job_id
    )
    return wire_response(SCContentTypeManagedMigrationStartResponse(job_id=row.id, started=True))
