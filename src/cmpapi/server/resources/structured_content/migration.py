"""Moving a content's fields to another version of its content type: the mapping rules that
``migrateSCContent`` and managed migrations share (docs/compat.md, "Structured content:
migrations"). Pure: no database.

``map_fields(stored, source, target, primary_locale, given, fill_only=...)`` returns the
raw fields (``{key: [{"locale", "field_values"}]}``) to validate against the target
version with ``validation.check_fields``:

1. a field whose key the target version has with the same ``field_type`` keeps its values,
   in the locales the target field accepts (the target's expected locales, if it lists
   any; only the content's primary locale when the target field is not internationalized);
2. every other field is dropped: absent from the target, or its type changed;
3. ``given`` (migrateSCContent's ``fields``, or a managed migration's default values),
   ``{key: [{"locale", "field_values"}]}``, sets a field's values per locale: each entry
   replaces what step 1 left for that key and locale (an empty ``field_values`` clears
   it); with ``fill_only`` (default values) only where step 1 left nothing.

Entries of ``given`` that are not ``{"locale", "field_values"}`` objects are passed on
as they are, so the validator names them by path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cmpapi.server.errors import Invalid

Definitions = Sequence[Mapping[str, Any]]
RawFields = dict[str, Any]


def _by_key(definitions: Definitions) -> dict[str, Mapping[str, Any]]:
    return {d["core"]["key"]: d for d in definitions}


def _accepts(
    definition: Mapping[str, Any], locales: Sequence[str], primary: str, locale: str
) -> bool:
    if not definition["core"]["need_internationalization"] and locale != primary:
        return False
    return not locales or locale in locales


def carried_over(
    stored: Mapping[str, Any],
    source: Definitions,
    target: Definitions,
    target_locales: Sequence[str],
    primary_locale: str,
) -> RawFields:
    """Steps 1 and 2: the stored values the target version can hold, as fresh lists."""
    before, after = _by_key(source), _by_key(target)
    out: RawFields = {}
    for key, entries in stored.items():
        old, new = before.get(key), after.get(key)
        if old is None or new is None or old["core"]["field_type"] != new["core"]["field_type"]:
            continue
        kept = [
            {"locale": e["locale"], "field_values": [dict(v) for v in e["field_values"]]}
            for e in entries
            if _accepts(new, target_locales, primary_locale, e["locale"])
        ]
        if kept:
            out[key] = kept
    return out


def _is_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and set(entry) == {"locale", "field_values"}
        and isinstance(entry["locale"], str)
        and isinstance(entry["field_values"], list)
    )


def apply_given(fields: RawFields, given: Mapping[str, Any], *, fill_only: bool) -> RawFields:
    """Step 3 on ``fields`` (changed in place and returned)."""
    for key, entries in given.items():
        if not isinstance(entries, list):
            fields[key] = entries  # not a list: the validator says so at fields.<key>
            continue
        by_locale = {e["locale"]: e for e in fields.get(key, [])}
        filled = set(by_locale) if fill_only else set()
        passed_on: list[Any] = []
        seen: set[str] = set()
        for entry in entries:
            if not _is_entry(entry) or entry["locale"] in seen:
                passed_on.append(entry)  # malformed or a locale given twice: reported
                continue
            seen.add(entry["locale"])
            if entry["locale"] not in filled:
                by_locale[entry["locale"]] = entry
        merged = [*by_locale.values(), *passed_on]
        if merged:
            fields[key] = merged
        else:
            fields.pop(key, None)
    return fields


def map_fields(
    stored: Mapping[str, Any],
    source: Definitions,
    target: Definitions,
    target_locales: Sequence[str],
    primary_locale: str,
    given: Mapping[str, Any] | None = None,
    *,
    fill_only: bool = False,
) -> RawFields:
    """The raw fields of a content moved to ``target`` (see the module docstring)."""
    fields = carried_over(stored, source, target, target_locales, primary_locale)
    if given:
        apply_given(fields, given, fill_only=fill_only)
    return fields


# -- a managed migration's default values ------------------------------------------------

# The spec types default_values as one LocalizedFieldValues ({locale, field_values}),
# which names no field; cmpapi reads them as fields ({key: [{locale, field_values}]}) and
# sets those two wrapper keys aside when they have the wrapper's types (docs/compat.md).
_WRAPPER = {"locale": str, "field_values": list}


def keyed_defaults(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The default values of a managed migration as ``{key: [{locale, field_values}]}``."""
    if not raw:
        return {}
    return {
        key: value
        for key, value in raw.items()
        if not (key in _WRAPPER and isinstance(value, _WRAPPER[key]))
    }


def check_defaults(raw: Any, target: Definitions, where: str = "default_values") -> dict[str, Any]:
    """``raw`` default values as stored, or ``Invalid`` naming each bad path: an object
    whose keys are fields of the target version, each a list of ``{locale,
    field_values}``. Their values are checked against each content they are applied to."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise Invalid("Invalid default values", {where: "Must be an object"})
    known = _by_key(target)
    errors: dict[str, str] = {}
    for key, entries in keyed_defaults(raw).items():
        path = f"{where}.{key}"
        if key not in known:
            errors[path] = "Unknown field: the target content type version has no such key"
        elif not isinstance(entries, list):
            errors[path] = "Must be a list of {locale, field_values}"
        else:
            for i, entry in enumerate(entries):
                if not _is_entry(entry):
                    errors[f"{path}.{i}"] = "Must be an object with a locale and field_values"
    if errors:
        raise Invalid("Invalid default values", errors)
    return dict(raw)
