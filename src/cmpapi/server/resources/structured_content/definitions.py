"""Field definitions of a content type version: checked once, when the version is made.

``check_definitions(raw, expected_locales)`` takes the request's ``field_definitions`` as
sent (raw JSON: the spec's ``anyOf`` of eight definition shapes cannot be told apart by a
parser, so each is validated against the shape its ``core.field_type`` names) and returns
the definitions as stored and shown (wire dicts, unset keys left out), or raises
``Invalid`` naming every bad ``field_definitions.<i>.<...>`` path. ``referenced_types``
lists the content type ids the definitions refer to (the service checks they exist).

Rules cmpapi adds where the spec says nothing (docs/compat.md, "Structured content"):
keys match ``KEY_PATTERN`` and are unique; list bounds and value bounds are ordered;
``validation_pattern`` must compile (it runs with a time limit, ``pattern_matches``);
choices are non-empty.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from cmpapi.server.errors import Invalid

if TYPE_CHECKING:
    import regex
from cmpapi.wire import (
    BaseFieldDefinition,
    ChoiceFieldDefinition,
    ContentTypeFieldDefinition,
    DatetimeFieldDefinition,
    LibraryAssetFieldDefinition,
    NumberFieldDefinition,
    RichTextFieldDefinition,
    TextFieldDefinition,
)

KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
MAX_FIELDS = 200
MAX_PATTERN_LENGTH = 500
BASE_TYPES = ("boolean", "json", "url", "location")

SHAPES: dict[str, type[BaseModel]] = {
    "boolean": BaseFieldDefinition,
    "json": BaseFieldDefinition,
    "url": BaseFieldDefinition,
    "location": BaseFieldDefinition,
    "number": NumberFieldDefinition,
    "text-field": TextFieldDefinition,
    "rich-text": RichTextFieldDefinition,
    "datetime": DatetimeFieldDefinition,
    "library-asset": LibraryAssetFieldDefinition,
    "content-type": ContentTypeFieldDefinition,
    "choice": ChoiceFieldDefinition,
}
# A definition without core.field_type: the key that only its shape has tells it.
_SHAPE_KEYS = (
    ("allowed_content_types", "content-type"),
    ("allowed_types", "library-asset"),
    ("validation_pattern", "text-field"),
    ("min_visual_text_length", "rich-text"),
    ("min_date", "datetime"),
    ("choices", "choice"),
)

Errors = dict[str, str]


def check_definitions(raw: Any, where: str = "field_definitions") -> list[dict[str, Any]]:
    """The definitions as stored (validated wire dicts with ``core.field_type`` always set),
    or ``Invalid`` naming each problem by its path under ``where``."""
    errors: Errors = {}
    if not isinstance(raw, list):
        raise Invalid("Invalid field definitions", {where: "Must be a list"})
    if len(raw) > MAX_FIELDS:
        raise Invalid("Invalid field definitions", {where: f"At most {MAX_FIELDS} fields"})
    out: list[dict[str, Any]] = []
    keys: set[str] = set()
    for index, item in enumerate(raw):
        path = f"{where}.{index}"
        definition = _definition(item, path, errors)
        if definition is None:
            continue
        key = definition["core"]["key"]
        if key in keys:
            errors[f"{path}.core.key"] = f"Duplicate field key {key!r}"
        keys.add(key)
        out.append(definition)
    if errors:
        raise Invalid("Invalid field definitions", errors)
    return out


def referenced_types(definitions: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """``{"<path>.allowed_content_types.<j>": content_type_id}`` grouped by id: the
    content types that content-type fields allow."""
    found: dict[str, list[str]] = {}
    for index, definition in enumerate(definitions):
        for j, type_id in enumerate(definition.get("allowed_content_types", ())):
            found.setdefault(type_id, []).append(
                f"field_definitions.{index}.allowed_content_types.{j}"
            )
    return found


def field_type_of(definition: Mapping[str, Any]) -> str:
    """The field type of a stored definition."""
    field_type: str = definition["core"]["field_type"]
    return field_type


def _definition(item: Any, path: str, errors: Errors) -> dict[str, Any] | None:
    if not isinstance(item, dict) or not isinstance(item.get("core"), dict):
        errors[f"{path}.core" if isinstance(item, dict) else path] = "Field required"
        return None
    field_type = item["core"].get("field_type") or _inferred_type(item)
    shape = SHAPES.get(field_type) if isinstance(field_type, str) else None
    if shape is None:
        errors[f"{path}.core.field_type"] = f"Unknown field type {field_type!r}"
        return None
    unknown = [k for k in item if k not in shape.model_fields]
    for key in unknown:
        errors[f"{path}.{key}"] = f"Not a property of a {field_type} field definition"
    try:
        model = shape.model_validate({**item, "core": {**item["core"], "field_type": field_type}})
    except PydanticError as exc:
        for err in exc.errors():
            errors[".".join((path, *map(str, err["loc"])))] = err["msg"]
        return None
    if unknown:
        return None
    definition: dict[str, Any] = model.model_dump(mode="json", by_alias=True)
    for key, msg in _rules(definition, field_type):
        errors[f"{path}.{key}"] = msg
    return definition


def _inferred_type(item: Mapping[str, Any]) -> str:
    base_type = item.get("base_type")
    if isinstance(base_type, str):
        return base_type
    return next((t for key, t in _SHAPE_KEYS if key in item), "number")


def _rules(d: Mapping[str, Any], field_type: str) -> Iterator[tuple[str, str]]:
    yield from _core_rules(d["core"])
    if field_type in BASE_TYPES and d.get("base_type") != field_type:
        yield "base_type", f"Must be {field_type!r}, the field type"
    if field_type == "text-field":
        yield from _text_rules(d)
    elif field_type == "rich-text":
        yield from _ordered(d, "min_visual_text_length", "max_visual_text_length")
    elif field_type == "number":
        yield from _number_rules(d)
    elif field_type == "datetime":
        yield from _date_rules(d)
    elif field_type == "choice":
        yield from _choice_rules(d)
    elif field_type == "library-asset":
        yield from _asset_rules(d)
    elif field_type == "content-type" and not d["allowed_content_types"]:
        yield "allowed_content_types", "Name at least one content type"


def _core_rules(core: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if not KEY_PATTERN.fullmatch(core["key"]):
        yield "core.key", "Letters, digits, '_' and '-', starting with a letter or '_' (1-64)"
    if not core["name"].strip():
        yield "core.name", "Must not be empty"
    for key, msg in _ordered(core, "min_list_length", "max_list_length"):
        yield f"core.{key}", msg


def _ordered(
    d: Mapping[str, Any], low: str, high: str, *, negative_ok: bool = False
) -> Iterator[tuple[str, str]]:
    lo, hi = d.get(low), d.get(high)
    if not negative_ok:
        for key, value in ((low, lo), (high, hi)):
            if isinstance(value, int | float) and value < 0:
                yield key, "Must not be negative"
    if lo is not None and hi is not None and lo > hi:
        yield high, f"Must not be less than {low}"


def _text_rules(d: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    yield from _ordered(d, "min_length", "max_length")
    problem = pattern_problem(d["validation_pattern"])
    if problem:
        yield "validation_pattern", problem


def _number_rules(d: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for key in ("min_value", "max_value"):
        if key in d and not math.isfinite(d[key]):
            yield key, "Must be a finite number"
    yield from _ordered(d, "min_value", "max_value", negative_ok=True)


def _date_rules(d: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if datetime.fromisoformat(d["min_date"]) > datetime.fromisoformat(d["max_date"]):
        yield "max_date", "Must not be before min_date"


def _choice_rules(d: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    choices = d["choices"]
    if not choices:
        yield "choices", "Give at least one choice"
    if any(not key.strip() for key in choices):
        yield "choices", "Choice keys must not be empty"
    for j, value in enumerate(d.get("default_values", ())):
        if value not in choices:
            yield f"default_values.{j}", f"{value!r} is not a choice key"


def _asset_rules(d: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    allowed = d["allowed_types"]
    if not allowed:
        yield "allowed_types", "Name at least one asset type"
    for j, default in enumerate(d.get("default_values", ())):
        if default["asset_type"] not in allowed:
            yield f"default_values.{j}.asset_type", "Not one of allowed_types"


# -- validation patterns: user-supplied regular expressions run on user-supplied text ---

PATTERN_TIMEOUT = 0.05  # seconds one text may take; a crafted pattern cannot take longer


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """The compiled validation pattern (``regex``, whose matching takes a timeout: the
    standard ``re`` cannot be stopped once a backtracking pattern runs away). Imported
    here: only content types with patterns need it, and ``cmpapi serve`` starts sooner
    without it (issue 15)."""
    import regex

    return regex.compile(pattern)


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused as a validation pattern, or None."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"At most {MAX_PATTERN_LENGTH} characters"
    import regex

    try:
        compile_pattern(pattern)
    except (regex.error, RecursionError, OverflowError, ValueError, TypeError) as exc:
        return f"Not a valid regular expression: {exc}"
    return None


def pattern_matches(pattern: str, text: str) -> bool | None:
    """Whether ``text`` contains a match of ``pattern`` (search, not full match: anchor the
    pattern with ``^...$`` to constrain the whole text); None when it took too long."""
    try:
        return compile_pattern(pattern).search(text, timeout=PATTERN_TIMEOUT) is not None
    except TimeoutError:
        return None
