"""Migration rows -> wire models: ``SCContentTypeManagedMigrationResponse`` (with its
``ContentMigrationSummary`` when asked for) and migrateSCContent's answer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.structured_content.content_migration import Migrated
from cmpapi.server.resources.structured_content.managed_migrations import MigrationView
from cmpapi.wire import MigrateSCContentResponse, SCContentTypeManagedMigrationResponse


def migration_response(view: MigrationView) -> SCContentTypeManagedMigrationResponse:
    """One managed migration; ``instance_id`` is the organization."""
    m = view.migration
    data: dict[str, Any] = {
        "id": m.id,
        "content_type_id": m.content_type_id,
        "instance_id": m.org_id,
        "source_content_type_version_id": m.source_version_id,
        "target_content_type_version_id": m.target_version_id,
        "status": m.status,
        "created_at": timestamp(m.created_at),
        "updated_at": timestamp(m.updated_at),
    }
    if m.default_values is not None:
        data["default_values"] = m.default_values
    if view.summary is not None:
        data["content_migration_summary"] = asdict(view.summary)
    return SCContentTypeManagedMigrationResponse.model_validate(data)


def migrated(answer: Migrated) -> MigrateSCContentResponse:
    """migrateSCContent's 201."""
    return MigrateSCContentResponse(
        content_guid=answer.content.id,
        content_hash=answer.fields_version.content_hash,
        created=answer.created,
        version_guid=answer.fields_version.id,
    )
