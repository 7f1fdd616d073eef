"""The field values of a content against its content type version.

``check_fields(raw, version, primary_locale, lookup, ...)`` takes a content's ``fields``
as sent (``{field_key: [{"locale", "field_values": [...]}]}``, the spec's
``StructuredContentBody`` without ``has_embedded``) and returns ``Checked``: the fields
as stored (``stored_fields``: values in order, ``order_index`` 0, 1, ... per locale, empty
locales and fields dropped) and every ``Problem`` found, each naming its path
(``content_body.fields.<key>.<i>.field_values.<j>.<value key>``). ``require_valid``
raises ``Invalid`` with them; ``validation_map`` turns the problems a saved version may
carry into the spec's ``ContentFieldsVersionValidation.fields``.

References are checked through a ``RefLookup`` (``service.DbLookup`` reads the
organization's library assets and contents). Shapes per field type: ``VALUE_KEYS``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, Protocol
from urllib.parse import urlsplit

from cmpapi.server.errors import Invalid
from cmpapi.server.resources.structured_content.definitions import pattern_matches
from cmpapi.wire import LibraryAssetType

FIELDS = "content_body.fields"
ASSET_TYPES = frozenset(t.value for t in LibraryAssetType)
MAX_URL = 65536
# The value keys of each field type (order_index is optional everywhere; a library-asset
# value may echo the links a read showed, a content reference its content_url).
VALUE_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "boolean": (frozenset({"bool_value"}), frozenset()),
    "number": (frozenset({"num_value"}), frozenset()),
    "datetime": (frozenset({"datetime_value"}), frozenset()),
    "text-field": (frozenset({"text_value"}), frozenset()),
    "rich-text": (frozenset({"rich_text_value"}), frozenset()),
    "library-asset": (frozenset({"asset_guid", "asset_type"}), frozenset({"links"})),
    "content-type": (frozenset({"content_guid", "embedded"}), frozenset({"content_url"})),
    "url": (frozenset({"url"}), frozenset()),
    "json": (frozenset({"json_value"}), frozenset()),
    "choice": (frozenset({"choice_key"}), frozenset()),
    "location": (frozenset({"latitude", "longitude"}), frozenset()),
}


class RefLookup(Protocol):
    """What the validator asks the database: which ids exist in the organization."""

    def asset_types(self, ids: Collection[str]) -> Mapping[str, str]:
        """``{asset_id: asset type}`` of the library assets among ``ids``."""
        ...

    def content_types(self, ids: Collection[str]) -> Mapping[str, str]:
        """``{content_id: content_type_id}`` of the structured contents among ``ids``."""
        ...


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the values: where (dotted path), what, and the spec's
    ``error_reason`` when it is one a saved fields version could report (else None)."""

    path: str
    message: str
    reason: str | None = None
    key: str = ""  # the field key, for validation_map
    locale: str = ""


@dataclass(slots=True)
class Checked:
    """The outcome of ``check_fields``."""

    stored_fields: dict[str, list[dict[str, Any]]]
    problems: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class _Ctx:
    definitions: dict[str, Mapping[str, Any]]
    expected_locales: Sequence[str]
    primary_locale: str
    content_id: str | None
    problems: list[Problem]
    asset_refs: dict[str, list[tuple[str, Mapping[str, Any], str]]] = field(default_factory=dict)
    content_refs: dict[str, list[tuple[str, Mapping[str, Any], str]]] = field(default_factory=dict)

    def add(self, path: str, message: str, reason: str | None = None, key: str = "") -> None:
        self.problems.append(Problem(path, message, reason, key))


def check_fields(
    raw: Any,
    definitions: Sequence[Mapping[str, Any]],
    expected_locales: Sequence[str],
    primary_locale: str,
    lookup: RefLookup,
    *,
    content_id: str | None = None,
    where: str = FIELDS,
) -> Checked:
    """Check ``raw`` against the definitions of a content type version; see the module
    docstring. ``content_id``: the content's own id (a reference to it is a self-ref)."""
    ctx = _Ctx(
        {d["core"]["key"]: d for d in definitions},
        list(expected_locales),
        primary_locale,
        content_id,
        [],
    )
    stored: dict[str, list[dict[str, Any]]] = {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        ctx.add(where, "Must be an object")
        return Checked({}, ctx.problems)
    for key, entries in raw.items():
        if key == "has_embedded":
            continue
        definition = ctx.definitions.get(key)
        if definition is None:
            ctx.add(f"{where}.{key}", "Unknown field: the content type version has no such key")
            continue
        locales = _field(ctx, definition, entries, f"{where}.{key}")
        if locales:
            stored[key] = locales
    for key, definition in ctx.definitions.items():
        _required(ctx, definition, stored.get(key, []), f"{where}.{key}")
    _check_refs(ctx, lookup)
    return Checked(stored, ctx.problems)


def require_valid(checked: Checked, message: str = "Invalid structured content") -> None:
    """Raise ``Invalid`` naming every problem (each path once, the first message)."""
    if checked.problems:
        errors: dict[str, str] = {}
        for problem in checked.problems:
            errors.setdefault(problem.path, problem.message)
        raise Invalid(message, errors)


def validation_map(problems: Sequence[Problem]) -> dict[str, dict[str, str]]:
    """``ContentFieldsVersionValidation.fields``: ``{field_key: {locale: error_reason}}``
    of the problems that carry a reason (the locale is ``""`` for a field-wide one)."""
    out: dict[str, dict[str, str]] = {}
    for problem in problems:
        if problem.reason and problem.key:
            out.setdefault(problem.key, {}).setdefault(problem.locale, problem.reason)
    return out


# -- one field ---------------------------------------------------------------------------


def _field(
    ctx: _Ctx, definition: Mapping[str, Any], entries: Any, path: str
) -> list[dict[str, Any]]:
    if not isinstance(entries, list):
        ctx.add(path, "Must be a list of {locale, field_values}")
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{path}.{i}"
        if not isinstance(entry, dict) or set(entry) != {"locale", "field_values"}:
            ctx.add(where, "Must be an object with exactly locale and field_values")
            continue
        locale = entry["locale"]
        if not _locale_ok(ctx, definition, locale, f"{where}.locale"):
            continue
        if locale in seen:
            ctx.add(f"{where}.locale", f"Locale {locale!r} given twice")
            continue
        seen.add(locale)
        values = _values(ctx, definition, entry["field_values"], f"{where}.field_values", locale)
        if values:
            out.append({"locale": locale, "field_values": values})
    return out


def _locale_ok(ctx: _Ctx, definition: Mapping[str, Any], locale: Any, path: str) -> bool:
    if not isinstance(locale, str) or not locale.strip():
        ctx.add(path, "Must be a non-empty string")
        return False
    if not definition["core"]["need_internationalization"] and locale != ctx.primary_locale:
        ctx.add(path, f"Not internationalized: only the primary locale {ctx.primary_locale!r}")
        return False
    if ctx.expected_locales and locale not in ctx.expected_locales:
        ctx.add(path, f"Not one of the expected locales {list(ctx.expected_locales)}")
        return False
    return True


def _values(
    ctx: _Ctx, definition: Mapping[str, Any], raw: Any, path: str, locale: str
) -> list[dict[str, Any]]:
    core = definition["core"]
    if not isinstance(raw, list):
        ctx.add(path, "Must be a list")
        return []
    ordered: list[tuple[int, int, dict[str, Any]]] = []
    for j, value in enumerate(raw):
        checked = _value(ctx, definition, value, f"{path}.{j}")
        if checked is not None:
            index = value.get("order_index", j)
            ordered.append((index, j, checked))
    indexes = [index for index, _, _ in ordered]
    if len(set(indexes)) != len(indexes):
        ctx.add(path, "order_index values must be unique")
    values = [v for _, _, v in sorted(ordered, key=lambda t: (t[0], t[1]))]
    for n, value in enumerate(values):
        value["order_index"] = n
    _list_bounds(ctx, core, len(values), path, locale)
    return values


def _list_bounds(ctx: _Ctx, core: Mapping[str, Any], count: int, path: str, locale: str) -> None:
    key = core["key"]
    if not core["is_list"]:
        if count > 1:
            ctx.problems.append(Problem(path, "Not a list field: one value at most", None, key))
        return
    low, high = core.get("min_list_length"), core.get("max_list_length")
    if low is not None and count < low:
        msg = f"At least {low} values"
        ctx.problems.append(Problem(path, msg, "MIN_NOT_MET", key, locale))
    if high is not None and count > high:
        msg = f"At most {high} values"
        ctx.problems.append(Problem(path, msg, "MAX_NOT_MET", key, locale))


def _required(
    ctx: _Ctx, definition: Mapping[str, Any], stored: list[dict[str, Any]], path: str
) -> None:
    core = definition["core"]
    if not core["is_required"]:
        return
    if not any(entry["locale"] == ctx.primary_locale for entry in stored):
        reason = "LIST_EMPTY" if core["is_list"] else "REQUIRED_FIELD_ABSENT"
        msg = f"Required: give a value for the primary locale {ctx.primary_locale!r}"
        ctx.problems.append(Problem(path, msg, reason, core["key"], ctx.primary_locale))


# -- one value ---------------------------------------------------------------------------


def _value(
    ctx: _Ctx, definition: Mapping[str, Any], value: Any, path: str
) -> dict[str, Any] | None:
    field_type = definition["core"]["field_type"]
    required, optional = VALUE_KEYS[field_type]
    if not isinstance(value, dict):
        ctx.add(path, "Must be an object")
        return None
    if field_type == "content-type" and "content_details" in value:
        ctx.add(f"{path}.content_details", "Embedded content creation is not supported here")
        return None
    before = len(ctx.problems)
    for name in value.keys() - required - optional - {"order_index"}:
        ctx.add(f"{path}.{name}", f"Not a property of a {field_type} value")
    for name in sorted(required - value.keys()):
        ctx.add(f"{path}.{name}", "Field required")
    index = value.get("order_index")
    if index is not None and (type(index) is not int or index < 0):
        ctx.add(f"{path}.order_index", "Must be a non-negative integer")
    if len(ctx.problems) > before:
        return None
    out = {name: value[name] for name in required | (optional & value.keys())}
    for problem in _typed(field_type, out, definition):
        ctx.problems.append(_at(path, problem, definition))
    if len(ctx.problems) > before:
        return None
    _note_refs(ctx, field_type, out, definition, path)
    return out


def _at(path: str, found: tuple[str, str, str | None], definition: Mapping[str, Any]) -> Problem:
    name, message, reason = found
    return Problem(f"{path}.{name}", message, reason, definition["core"]["key"])


Found = Iterator[tuple[str, str, str | None]]


def _typed(field_type: str, v: dict[str, Any], d: Mapping[str, Any]) -> Found:
    if field_type == "boolean" and type(v["bool_value"]) is not bool:
        yield "bool_value", "Must be a boolean", None
    elif field_type == "number":
        yield from _number(v["num_value"], d)
    elif field_type == "datetime":
        yield from _datetime(v, d)
    elif field_type == "text-field":
        yield from _text(v["text_value"], d)
    elif field_type == "rich-text":
        yield from _rich_text(v["rich_text_value"], d)
    elif field_type == "url":
        yield from _url(v["url"])
    elif field_type == "json" and not isinstance(v["json_value"], dict | list):
        yield "json_value", "Must be an object or an array", None
    elif field_type == "choice":
        if not isinstance(v["choice_key"], str) or v["choice_key"] not in d["choices"]:
            yield "choice_key", f"Not one of the choices {sorted(d['choices'])}", None
    elif field_type == "location":
        yield from _location(v)
    elif field_type == "library-asset":
        yield from _asset(v, d)
    elif field_type == "content-type":
        yield from _content_ref(v, d)


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _number(value: Any, d: Mapping[str, Any]) -> Found:
    if not _is_number(value):
        yield "num_value", "Must be a finite number", None
        return
    if "min_value" in d and value < d["min_value"]:
        yield "num_value", f"At least {d['min_value']}", "MIN_NOT_MET"
    if "max_value" in d and value > d["max_value"]:
        yield "num_value", f"At most {d['max_value']}", "MAX_NOT_MET"


def parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 date-time with an offset, in UTC; None when it is not one."""
    if not isinstance(value, str) or "T" not in value.upper():
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _datetime(v: dict[str, Any], d: Mapping[str, Any]) -> Found:
    parsed = parse_datetime(v["datetime_value"])
    if parsed is None:
        yield "datetime_value", "Must be an ISO 8601 date-time with an offset", None
        return
    v["datetime_value"] = parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
    if parsed < datetime.fromisoformat(d["min_date"]):
        yield "datetime_value", f"Not before {d['min_date']}", "MIN_NOT_MET"
    if parsed > datetime.fromisoformat(d["max_date"]):
        yield "datetime_value", f"Not after {d['max_date']}", "MAX_NOT_MET"


def _lengths(name: str, length: int, d: Mapping[str, Any], low: str, high: str) -> Found:
    if d.get(low) is not None and length < d[low]:
        yield name, f"At least {d[low]} characters", "MIN_NOT_MET"
    if d.get(high) is not None and length > d[high]:
        yield name, f"At most {d[high]} characters", "MAX_NOT_MET"


def _text(value: Any, d: Mapping[str, Any]) -> Found:
    if not isinstance(value, str):
        yield "text_value", "Must be a string", None
        return
    yield from _lengths("text_value", len(value), d, "min_length", "max_length")
    pattern = d.get("validation_pattern") or ""
    if pattern and value:
        matched = pattern_matches(pattern, value)
        if matched is None:
            yield "text_value", "The validation pattern took too long on this text", None
        elif not matched:
            yield "text_value", f"Does not match the pattern {pattern!r}", "PATTERN_ERROR"


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visual_text(markup: str) -> str:
    """The text a reader sees in rich-text markup: tags dropped, entities decoded,
    whitespace runs counted as one space."""
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    return " ".join(html.unescape("".join(parser.parts)).split())


def _rich_text(value: Any, d: Mapping[str, Any]) -> Found:
    if not isinstance(value, str):
        yield "rich_text_value", "Must be a string", None
        return
    length = len(visual_text(value))
    yield from _lengths(
        "rich_text_value", length, d, "min_visual_text_length", "max_visual_text_length"
    )


def _url(value: Any) -> Found:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_URL:
        yield "url", f"Must be a URL of 1 to {MAX_URL} characters", None
        return
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or not parts.scheme or not (parts.netloc or parts.scheme == "mailto"):
        yield "url", "Must be an absolute URL", None


def _location(v: dict[str, Any]) -> Found:
    for name, bound in (("latitude", 90), ("longitude", 180)):
        if not _is_number(v[name]) or not -bound <= v[name] <= bound:
            yield name, f"Must be a number from -{bound} to {bound}", None


def _asset(v: dict[str, Any], d: Mapping[str, Any]) -> Found:
    if not isinstance(v["asset_guid"], str) or not v["asset_guid"]:
        yield "asset_guid", "Must be an asset id", None
    if v["asset_type"] not in ASSET_TYPES:
        yield "asset_type", f"Must be one of {sorted(ASSET_TYPES)}", None
    elif v["asset_type"] not in d["allowed_types"]:
        yield "asset_type", f"This field takes {d['allowed_types']}", None
    if "links" in v and not isinstance(v["links"], dict):
        yield "links", "Must be an object", None
    v.pop("links", None)  # links are the server's to show


def _content_ref(v: dict[str, Any], d: Mapping[str, Any]) -> Found:
    if not isinstance(v["content_guid"], str) or not v["content_guid"]:
        yield "content_guid", "Must be a content id", None
    if type(v["embedded"]) is not bool:
        yield "embedded", "Must be a boolean", None
    if d.get("ref_type") == 3:
        yield "content_guid", "This field only takes contents created in it", None
    v.pop("content_url", None)


def _note_refs(
    ctx: _Ctx, field_type: str, v: dict[str, Any], d: Mapping[str, Any], path: str
) -> None:
    if field_type == "library-asset":
        ctx.asset_refs.setdefault(v["asset_guid"], []).append((path, d, v["asset_type"]))
    elif field_type == "content-type":
        ctx.content_refs.setdefault(v["content_guid"], []).append((path, d, ""))


def _check_refs(ctx: _Ctx, lookup: RefLookup) -> None:
    if ctx.asset_refs:
        found = lookup.asset_types(list(ctx.asset_refs))
        for asset_id, uses in ctx.asset_refs.items():
            for path, d, asset_type in uses:
                if found.get(asset_id) != asset_type:
                    msg = f"No {asset_type} asset {asset_id!r} in the library"
                    ctx.add(f"{path}.asset_guid", msg, key=d["core"]["key"])
    if ctx.content_refs:
        types = lookup.content_types(list(ctx.content_refs))
        for content_id, uses in ctx.content_refs.items():
            for path, d, _ in uses:
                _content_ref_target(ctx, content_id, types.get(content_id), path, d)


def _content_ref_target(
    ctx: _Ctx, content_id: str, type_id: str | None, path: str, d: Mapping[str, Any]
) -> None:
    key = d["core"]["key"]
    if content_id == ctx.content_id:
        ctx.problems.append(
            Problem(
                f"{path}.content_guid", "A content cannot refer to itself", "INVALID_SELF_REF", key
            )
        )
    elif type_id is None:
        ctx.add(f"{path}.content_guid", f"No structured content {content_id!r}", key=key)
    elif type_id not in d["allowed_content_types"]:
        ctx.add(f"{path}.content_guid", "Its content type is not allowed here", key=key)
