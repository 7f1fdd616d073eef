"""Structured-content test helpers: field definitions of every type, and content types
made through the API."""

from __future__ import annotations

from typing import Any

from tests.support.world import World

TYPES = "/v3/structured-content/content-types"


def core(key: str, field_type: str, **options: Any) -> dict[str, Any]:
    """A ``CoreFieldDef``: not a list, not required, not internationalized unless said."""
    return {
        "key": key,
        "name": key.replace("_", " ").title(),
        "field_type": field_type,
        "is_list": False,
        "is_required": False,
        "need_internationalization": False,
        **options,
    }


def text(key: str = "title", **options: Any) -> dict[str, Any]:
    extra = {
        k: options.pop(k)
        for k in ("validation_pattern", "min_length", "max_length")
        if k in options
    }
    return {
        "core": core(key, "text-field", **options),
        "validation_pattern": "",
        "min_length": 0,
        **extra,
    }


def every_type(
    asset_types: list[str] | None = None, content_types: list[str] | None = None
) -> list[dict[str, Any]]:
    """One definition of each of the spec's eleven field types (content-type only when
    ``content_types`` is given)."""
    definitions = [
        text("title", is_required=True, max_length=80),
        {
            "core": core("body", "rich-text"),
            "min_visual_text_length": 0,
            "max_visual_text_length": 500,
        },
        {"core": core("count", "number"), "min_value": 0, "max_value": 100},
        {"core": core("flag", "boolean"), "base_type": "boolean"},
        {"core": core("data", "json"), "base_type": "json"},
        {"core": core("link", "url"), "base_type": "url"},
        {"core": core("place", "location"), "base_type": "location"},
        {
            "core": core("when", "datetime"),
            "min_date": "2000-01-01T00:00:00Z",
            "max_date": "2100-01-01T00:00:00Z",
        },
        {"core": core("size", "choice"), "choices": {"s": "Small", "l": "Large"}},
        {"core": core("image", "library-asset"), "allowed_types": asset_types or ["image"]},
    ]
    if content_types:
        definitions.append(
            {
                "core": core("related", "content-type", is_list=True),
                "allowed_content_types": content_types,
                "ref_type": 1,
            }
        )
    return definitions


def type_body(world: World, name: str = "Article", **extra: Any) -> dict[str, Any]:
    definitions = extra.pop("field_definitions", [text(is_required=True)])
    return {
        "created_by": world.users["admin"].id,
        "details": {"name": name, "component": False, **extra.pop("details", {})},
        "field_definitions": definitions,
        **extra,
    }


def create_type(client: Any, world: World, name: str = "Article", **extra: Any) -> dict[str, Any]:
    """A content type made by the admin; the create's answer (content_type_guid,
    content_type_version_guid)."""
    r = client.post(TYPES, json=type_body(world, name, **extra), headers=world.auth())
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def plain_type_body(
    name: str, definitions: list[dict[str, Any]], created_by: str = "integration"
) -> dict[str, Any]:
    """createSCContentType's body without a world (``created_by`` is stored as given)."""
    details = {"name": name, "component": False}
    return {"created_by": created_by, "details": details, "field_definitions": definitions}
