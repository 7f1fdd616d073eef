"""Templates and work requests the way an integration gets them: templates imported with
updateSettings (with the custom fields they take choices from), requests created with
createWorkRequest."""

from __future__ import annotations

import copy
from typing import Any

from tests.support.world import World

KINDS = (  # every kind of custom field the settings list (custom_fields' keys)
    "currency",
    "number",
    "percentage",
    "checkbox",
    "dropdown",
    "multichoice",
    "multi_select_dropdown",
    "date",
    "image",
    "richtext",
    "string",
    "textarea",
    "video",
)


def _field(
    ident: str,
    field_type: str,
    order: int,
    *,
    required: bool = False,
    kind: str | None = None,
    rules: list[Any] | None = None,
) -> dict[str, Any]:
    return {
        "field_type": field_type,
        "identifier": ident,
        "help": f"About {ident}",
        "is_required": required,
        "sort_order": order,
        "custom_field_type": kind,
        "logic_rules": rules or [],
    }


RULE = {
    "action": {
        "target_field": {
            "identifier": "Budget",
            "custom_field_type": "currency",
            "type": "custom_field",
        },
        "type": "show_values",
        "values": [],
    },
    "condition": {"operator": "any_of", "values": ["Web"]},
}
TEMPLATE: dict[str, Any] = {
    "name": "Campaign request",
    "description": "Ask for a campaign",
    "public_description": "For everyone",
    "types": ["work_request", "campaign_brief"],
    "form_fields": [
        _field("title", "title", 0, required=True),
        _field("s1", "section", 1),
        _field("brief", "brief", 2),
        _field("Channel", "custom_field", 3, kind="dropdown", rules=[RULE]),
        _field("Budget", "custom_field", 4, kind="currency"),
        _field("due_date", "due_date", 5),
        _field("creative_assets", "file", 6),
        _field("Regions", "custom_field", 7, kind="checkbox"),
    ],
    "sections": [{"id": "s1", "label": "Details"}],
    "instructions": [{"id": "i1", "description": "Be precise"}],
}


def settings_document(*templates: dict[str, Any]) -> dict[str, Any]:
    """A Settings document with the custom fields ``TEMPLATE`` uses and the templates."""
    fields: dict[str, list[Any]] = {k: [] for k in KINDS}
    fields["dropdown"] = [{"label": "Channel", "choices": ["Web", "Email"]}]
    fields["checkbox"] = [{"label": "Regions", "choices": ["EMEA", "APAC"]}]
    fields["currency"] = [
        {
            "label": "Budget",
            "decimal_places": 2,
            "currency_code": "EUR",
            "has_thousand_separator": True,
        }
    ]
    return {
        "labels": [],
        "custom_fields": fields,
        "workflows": [],
        "webhooks": [],
        "apps": [],
        "templates": list(templates),
        "routing_rules": [],
    }


def import_template(client: Any, world: World, **changes: Any) -> dict[str, Any]:
    """Import ``TEMPLATE`` (with changes) into the world's organization; returns it as
    getTemplate answers it."""
    item = {**copy.deepcopy(TEMPLATE), **changes}
    r = client.post(
        "/v3/settings",
        json=settings_document(item),
        params={"execute": "true"},
        headers=world.auth("admin"),
    )
    assert r.status_code == 200, r.text
    listed = client.get(
        "/v3/templates",
        params={"search": item["name"], "page_size": 100, "include_inactive": "true"},
        headers=world.auth(),
    ).json()["data"]
    (found,) = [t for t in listed if t["title"] == item["name"]]
    return client.get(f"/v3/templates/{found['id']}", headers=world.auth()).json()  # type: ignore[no-any-return]


def choice(template: dict[str, Any], ident: str, name: str) -> str:
    """The id of a choice of a template's form field."""
    (field,) = [f for f in template["form_fields"] if f["identifier"] == ident]
    return next(c["id"] for c in field["type_specific_meta"]["choices"] if c["name"] == name)


def request_body(template: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A createWorkRequest body for ``TEMPLATE``: the title, a channel and a budget."""
    return {
        "template_id": template["id"],
        "form_fields": [
            {"identifier": "title", "type": "text", "values": ["Spring launch"]},
            {
                "identifier": "Channel",
                "type": "dropdown",
                "values": [choice(template, "Channel", "Web")],
            },
            {"identifier": "Budget", "type": "currency_number", "values": [1500.5]},
        ],
        **extra,
    }


def create_work_request(
    client: Any, world: World, template: dict[str, Any], who: str = "member", **extra: Any
) -> Any:
    """createWorkRequest as ``who``; returns the response."""
    return client.post(
        "/v3/work-requests", json=request_body(template, **extra), headers=world.auth(who)
    )
