"""Settings ``templates`` and ``routing_rules``: import by name, export as imported.

A Settings template (``SettingsTemplate``) lists its form fields by ``field_type`` (a form
field type, an alias such as ``due_date``, or ``custom_field`` with the custom field's
Settings kind), and its sections and instructions apart. The API shape
(``TemplateResponse``) is derived once, at import: field types resolved, choices and
number options taken from the organization's custom fields and label groups of the same
name, sections and instructions placed as layout fields. The Settings item itself is kept
(``Template.source``), so export -> import -> export gives the same document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.errors import Invalid
from cmpapi.server.resources.fields.tables import Field
from cmpapi.server.resources.labels.tables import LabelGroup
from cmpapi.server.resources.templates.tables import RoutingRule, Template

Changes = tuple[list[str], list[str]]
AREAS = ("work_request", "task_brief", "campaign_brief")
FORM_TYPES = frozenset(
    {
        "brief",
        "checkbox",
        "currency_number",
        "date",
        "dropdown",
        "file",
        "instruction",
        "label",
        "percentage_number",
        "radio_button",
        "richtext",
        "section",
        "simple_number",
        "text",
        "text_area",
    }
)
# Built-in Settings field types that name a form field type of another name.
ALIASES = {
    "title": "text",
    "description": "text_area",
    "due_date": "date",
    "attachment": "file",
    "attachments": "file",
    "creative_assets": "file",
    "labels": "label",
    "rich_text": "richtext",
    "textarea": "text_area",
}
# Settings custom-field kind -> form field type (settings/custom_fields.py's kinds).
CUSTOM_KINDS = {
    "currency": "currency_number",
    "number": "simple_number",
    "percentage": "percentage_number",
    "checkbox": "checkbox",
    "dropdown": "dropdown",
    "multi_select_dropdown": "dropdown",
    "multichoice": "radio_button",
    "date": "date",
    "richtext": "richtext",
    "string": "text",
    "textarea": "text_area",
    "image": "file",
    "video": "file",
}
CHOICE_TYPES = frozenset({"checkbox", "dropdown", "radio_button", "label"})
ACTIONS = frozenset({"jump_to", "show_values"})
OPERATORS = frozenset({"any_of", "equal", "not_equal"})


def _form_type(field: Any, where: str) -> str:
    """The form field type of a Settings form field, or 422 naming it."""
    kind = field.field_type
    if kind == "custom_field":
        resolved = CUSTOM_KINDS.get(field.custom_field_type or "")
        if resolved is None:
            raise Invalid(
                f"Unknown custom field type {field.custom_field_type!r}",
                {f"{where}.custom_field_type": f"One of {', '.join(CUSTOM_KINDS)}"},
            )
        return resolved
    resolved = kind if kind in FORM_TYPES else ALIASES.get(kind)
    if resolved is None:
        raise Invalid(
            f"Unknown form field type {kind!r}",
            {f"{where}.field_type": "A template form field type or custom_field"},
        )
    return resolved


def _label(identifier: str) -> str:
    return identifier.replace("_", " ").strip().capitalize() or identifier


def _custom_field(session: Session, org_id: str, name: str) -> Field | None:
    return session.scalars(
        select(Field).where(Field.org_id == org_id, func.lower(Field.name) == name.lower()).limit(1)
    ).first()


def _meta(session: Session, org_id: str, type_: str, field: Any) -> dict[str, Any] | None:
    """``type_specific_meta`` of a value field: choices and options of the custom field
    (or label group) named by the identifier; defaults when there is none."""
    if type_ not in CHOICE_TYPES and type_ not in (
        "currency_number",
        "simple_number",
        "percentage_number",
    ):
        return None
    if type_ == "label":
        group = session.scalars(
            select(LabelGroup)
            .where(
                LabelGroup.org_id == org_id, func.lower(LabelGroup.name) == field.identifier.lower()
            )
            .limit(1)
        ).first()
        choices = [{"id": v.id, "name": v.name} for v in group.values] if group else []
        return {
            "is_multi_select": not group.has_single_value if group else True,
            "choices": choices,
        }
    custom = _custom_field(session, org_id, field.identifier)
    if type_ in CHOICE_TYPES:
        multi = type_ == "checkbox" or field.custom_field_type == "multi_select_dropdown"
        if custom is not None and custom.is_multi_select is not None:
            multi = bool(custom.is_multi_select)
        choices = [{"id": c.id, "name": c.name} for c in custom.choices] if custom else []
        return {"is_multi_select": multi, "choices": choices}
    places = custom.decimal_places if custom else None
    separator = bool(custom.has_thousand_separator) if custom else False
    if type_ == "percentage_number":
        return {"decimal_places": places}
    if type_ == "simple_number":
        return {"decimal_places": places, "has_thousand_separator": separator}
    code = (custom.currency_code if custom else None) or "USD"
    return {"decimal_places": places, "currency_code": code, "has_thousand_separator": separator}


def _rules(rules: Sequence[Any]) -> list[dict[str, Any]]:
    """Logic rules the API can express (others stay in the Settings source only)."""
    out = []
    for rule in rules:
        action, condition = rule.action, rule.condition
        if action.type in ACTIONS and condition.operator in OPERATORS:
            out.append(
                {
                    "action": {
                        "target_field": {"identifier": action.target_field.identifier},
                        "type": action.type,
                        "values": list(action.values),
                    },
                    "condition": {"operator": condition.operator, "values": list(condition.values)},
                }
            )
    return out


def form_fields(session: Session, org_id: str, item: Any, where: str) -> list[dict[str, Any]]:
    """The API form fields of a Settings template, in sort order."""
    sections = {s.id: s.label for s in item.sections}
    notes = {i.id: i.description for i in item.instructions}
    out: list[dict[str, Any]] = []
    for m, field in enumerate(sorted(item.form_fields, key=lambda f: f.sort_order)):
        type_ = _form_type(field, f"{where}.form_fields.{m}")
        out.append(
            _layout(field.identifier, type_, sections, notes, field.sort_order)
            | {
                "helper_text": field.help or None,
                "is_required": bool(field.is_required) and type_ not in ("section", "instruction"),
                "type_specific_meta": _meta(session, org_id, type_, field)
                if type_ != "instruction"
                else {"description": notes.get(field.identifier, "")},
                "logic_rules": _rules(field.logic_rules),
            }
        )
    placed = {f["identifier"] for f in out}
    order = max((f["sort_order"] for f in out), default=-1)
    for ident in [*sections, *notes]:
        if ident not in placed:
            order += 1
            type_ = "section" if ident in sections else "instruction"
            out.append(
                _layout(ident, type_, sections, notes, order)
                | {
                    "helper_text": None,
                    "is_required": False,
                    "logic_rules": [],
                    "type_specific_meta": {"description": notes[ident]}
                    if type_ == "instruction"
                    else None,
                }
            )
    return out


def _layout(
    ident: str, type_: str, sections: dict[str, str], notes: dict[str, str], order: int
) -> dict[str, Any]:
    label = sections.get(ident) if type_ == "section" else None
    if type_ not in ("section", "instruction"):
        label = _label(ident)
    return {
        "identifier": ident,
        "type": type_,
        "label": label,
        "sort_order": order,
        "is_readonly": type_ in ("section", "instruction"),
    }


def _by_name(session: Session, model: Any, org_id: str, name: str) -> Any | None:
    """The one row named ``name`` (case-insensitive); None when there are none or several
    (updateSettings: several of the same name means a new one is created)."""
    column = model.title if model is Template else model.name
    rows = session.scalars(
        select(model).where(model.org_id == org_id, func.lower(column) == name.lower()).limit(2)
    ).all()
    return rows[0] if len(rows) == 1 else None


def import_templates(session: Session, org_id: str, items: Sequence[Any], execute: bool) -> Changes:
    """A single template of the same name is replaced by the imported one (same id, same
    active flag); otherwise a new, active template is created. Everything is checked even
    in a dry run; rows are written only with ``execute``."""
    created: list[str] = []
    updated: list[str] = []
    for n, item in enumerate(items):
        name = item.name.strip()
        if not name:
            raise Invalid("A template needs a name", {f"templates.{n}.name": "Blank"})
        bad = [t for t in item.types if t not in AREAS]
        if bad:
            raise Invalid(
                f"Unknown template type {bad[0]!r}",
                {f"templates.{n}.types": f"Each one of {', '.join(AREAS)}"},
            )
        fields = form_fields(session, org_id, item, f"templates.{n}")
        existing = _by_name(session, Template, org_id, name)
        (created if existing is None else updated).append(name)
        if not execute:
            continue
        if existing is None:
            existing = Template(id=new_id(), org_id=org_id, is_active=True, created_at=utcnow())
            session.add(existing)
        existing.title, existing.description = name, item.description
        existing.applicable_to = list(dict.fromkeys(item.types))
        existing.form_fields = fields
        existing.source = item.model_dump(mode="json")
        existing.modified_at = utcnow()
        session.flush()
    return created, updated


def export_templates(session: Session, org_id: str) -> list[dict[str, Any]]:
    """The organization's templates as Settings ``templates`` items (as imported)."""
    rows = session.scalars(
        select(Template)
        .where(Template.org_id == org_id)
        .order_by(func.lower(Template.title), Template.id)
    )
    return [t.source if t.source is not None else _settings_item(t) for t in rows]


def _settings_item(t: Template) -> dict[str, Any]:
    """A Settings item for a template that was not imported (demo data, tests)."""
    fields = list(t.form_fields)
    return {
        "name": t.title,
        "description": t.description,
        "public_description": "",
        "types": list(t.applicable_to),
        "form_fields": [
            {
                "field_type": f["type"],
                "help": f.get("helper_text") or "",
                "is_required": f["is_required"],
                "sort_order": f["sort_order"],
                "identifier": f["identifier"],
                "custom_field_type": None,
                "logic_rules": [
                    {
                        "action": {
                            "target_field": {
                                "identifier": r["action"]["target_field"]["identifier"],
                                "custom_field_type": None,
                                "type": "field",
                            },
                            "type": r["action"]["type"],
                            "values": r["action"]["values"],
                        },
                        "condition": r["condition"],
                    }
                    for r in f.get("logic_rules", [])
                ],
            }
            for f in fields
        ],
        "sections": [
            {"id": f["identifier"], "label": f.get("label") or ""}
            for f in fields
            if f["type"] == "section"
        ],
        "instructions": [
            {
                "id": f["identifier"],
                "description": (f.get("type_specific_meta") or {}).get("description", ""),
            }
            for f in fields
            if f["type"] == "instruction"
        ],
    }


def import_routing_rules(
    session: Session,
    org_id: str,
    items: Sequence[Any],
    template_names: Sequence[str],
    execute: bool,
) -> Changes:
    """A single rule of the same name is replaced; otherwise a new rule is created.
    ``template_name`` must name a template of the organization or of the same document
    (``template_names``)."""
    created: list[str] = []
    updated: list[str] = []
    known = {n.strip().casefold() for n in template_names}
    for n, item in enumerate(items):
        name = item.name.strip()
        if not name:
            raise Invalid("A routing rule needs a name", {f"routing_rules.{n}.name": "Blank"})
        target = item.template_name
        if (
            target is not None
            and target.strip().casefold() not in known
            and _by_name(session, Template, org_id, target.strip()) is None
        ):
            raise Invalid(
                f"No template named {target!r}",
                {f"routing_rules.{n}.template_name": "Unknown template"},
            )
        existing = _by_name(session, RoutingRule, org_id, name)
        (created if existing is None else updated).append(name)
        if not execute:
            continue
        if existing is None:
            existing = RoutingRule(id=new_id(), org_id=org_id, created_at=utcnow())
            session.add(existing)
        existing.name, existing.description = name, item.description
        existing.template_name = target
        existing.rules = [r.model_dump(mode="json") for r in item.rules]
        existing.watchers = list(item.watchers)
        existing.modified_at = utcnow()
        session.flush()
    return created, updated


def export_routing_rules(session: Session, org_id: str) -> list[dict[str, Any]]:
    """The organization's routing rules as Settings ``routing_rules`` items."""
    rows = session.scalars(
        select(RoutingRule)
        .where(RoutingRule.org_id == org_id)
        .order_by(func.lower(RoutingRule.name), RoutingRule.id)
    )
    return [
        {
            "name": r.name,
            "description": r.description,
            "template_name": r.template_name,
            "rules": list(r.rules),
            "watchers": list(r.watchers),
        }
        for r in rows
    ]
