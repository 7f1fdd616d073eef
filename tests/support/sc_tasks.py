"""Task structured contents for tests: a "Landing page" content type (headline: a required,
internationalized text of at most 80 characters; tags: up to three texts; hero: an image
from the library), contents added to tasks, previews asked for."""

from __future__ import annotations

from typing import Any

from tests.support.structured_content import core, create_type, text
from tests.support.world import World

LOCALES = ["en_US", "de_DE"]
PAGE_FIELDS: list[dict[str, Any]] = [
    text("headline", is_required=True, need_internationalization=True, max_length=80),
    text("tags", is_list=True, max_list_length=3),
    {"core": core("hero", "library-asset"), "allowed_types": ["image"]},
]


def page_type(client: Any, world: World, name: str = "Landing page") -> str:
    """The landing page content type of the world's organization (made by its admin)."""
    made = create_type(client, world, name, field_definitions=PAGE_FIELDS, expected_locales=LOCALES)
    return str(made["content_type_guid"])


def single_type(client: Any, world: World) -> str:
    """A content type with one field (``body``, a text): drafts may leave out ``key``."""
    made = create_type(client, world, "Note", field_definitions=[text("body")])
    return str(made["content_type_guid"])


def localized(locale: str, *values: dict[str, Any]) -> list[dict[str, Any]]:
    """One field's values in one locale, as ``fields`` holds them."""
    return [{"locale": locale, "field_values": list(values)}]


def page_body(type_id: str, headline: str = "Hello", **extra: Any) -> dict[str, Any]:
    """An addStructuredContentToTask body: the headline in en_US."""
    return {
        "content_type_guid": type_id,
        "title": "Spring page",
        "fields": {"headline": localized("en_US", {"text_value": headline})},
        **extra,
    }


def add_content(
    client: Any, world: World, task_id: str, type_id: str, who: str = "admin", **extra: Any
) -> dict[str, Any]:
    """addStructuredContentToTask; the answer (ContentDetailsModel)."""
    r = client.post(
        f"/v3/tasks/{task_id}/structured-contents",
        json=page_body(type_id, **extra),
        headers=world.auth(who),
    )
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def request_preview(
    client: Any, world: World, task_id: str, content_id: str, who: str = "admin"
) -> dict[str, Any]:
    """``POST /ext/v1/tasks/{task}/structured-contents/{content}/previews``; the preview."""
    r = client.post(
        f"/ext/v1/tasks/{task_id}/structured-contents/{content_id}/previews",
        headers=world.auth(who),
    )
    assert r.status_code == 201, r.text
    preview: dict[str, Any] = r.json()
    return preview
