"""The request bodies of the migration operations as cmpapi reads them: the spec's
``SCContentMigrationCreateRequest``, ``SCContentTypeManagedMigrationValidateRequest``,
``SCContentTypeManagedMigrationCreateRequest`` and updateSCContentTypeManagedMigration's
body, property for property, except:

- field values are kept as sent (the validator checks them against a content type version
  and names each path; a parser of the spec's ``anyOf`` of value shapes would reshape them);
- ``MigrateBody.content_hash``: the spec lists it as required but not among the properties;
- ``default_values``: the spec types them as one ``LocalizedFieldValues``, which names no
  field; cmpapi reads an object of fields (``migration.keyed_defaults``, docs/compat.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import MISSING, BaseModel, ConfigDict, Field

_DEFAULTS = "Default values: {field_key: [{locale, field_values}]}"


class MigrateBody(BaseModel):
    """migrateSCContent's body."""

    created_by: Annotated[str, Field(description="The user who migrates the content")]
    content_hash: Annotated[
        str, Field(description="The content_hash of the content's latest fields version")
    ]
    fields: Annotated[
        dict[str, Any] | MISSING, Field(description="Field values to set on the new version")
    ] = MISSING
    new_content_type_version_id: Annotated[
        str | MISSING, Field(description="The content type version to move to (default: latest)")
    ] = MISSING
    source: Annotated[str | MISSING | None, Field(description="Source of the content")] = MISSING
    source_id: Annotated[str | MISSING | None, Field(description="Source id of the content")] = (
        MISSING
    )


class ValidateBody(BaseModel):
    """validateSCContentTypeManagedMigration's body."""

    source_content_type_version_id: Annotated[
        str, Field(description="The source content type version")
    ]
    default_values: Annotated[dict[str, Any] | MISSING, Field(description=_DEFAULTS)] = MISSING


class CreateBody(ValidateBody):
    """createSCContentTypeManagedMigration's body."""

    created_by: Annotated[str, Field(description="The user who creates the migration")]


class UpdateBody(BaseModel):
    """updateSCContentTypeManagedMigration's body (closed, as the spec has it)."""

    model_config = ConfigDict(extra="forbid")

    default_values: Annotated[dict[str, Any], Field(description=_DEFAULTS)]


def given(value: Any) -> Any:
    """A body value, None when not sent."""
    return None if value is MISSING else value
