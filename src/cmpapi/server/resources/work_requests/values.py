"""Form field values of work requests: checked against the template's field, stored, and
answered.

What ``WorkRequest.form_values[identifier]`` stores, by the field's type:

- ``text``, ``text_area``, ``richtext``: ``[str]`` (one value);
- ``simple_number``, ``percentage_number``, ``currency_number``: ``[str]``, a decimal
  number as text (the API answers numbers as strings);
- ``date``: ``["YYYY-MM-DDTHH:MM:SSZ"]``;
- ``checkbox``, ``dropdown``, ``label``, ``radio_button``: choice ids of the template field;
- ``file``: ``WorkRequestFile`` ids;
- ``brief``: ``[{"type": "text_brief", "value": str}]`` or
  ``[{"type": "attachment_brief", "file_id": id}]``.

Files arrive already copied out of the upload area (``NewFile``, by the path of the value
in the request, e.g. ``form_fields.2.values.0.key``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cmpapi.server.errors import Invalid
from cmpapi.server.resources.library.mapping import timestamp
from cmpapi.server.resources.subresources.files import NewFile

TEXT_TYPES = frozenset({"text", "text_area", "richtext"})
NUMBER_TYPES = frozenset({"simple_number", "percentage_number", "currency_number"})
CHOICE_TYPES = frozenset({"checkbox", "dropdown", "label", "radio_button"})
SINGLE = TEXT_TYPES | NUMBER_TYPES | {"date", "brief", "radio_button"}
MAX_TEXT = 100_000
MAX_NAME = 255


# ``add_file(field identifier, NewFile) -> file id``: records a file, returns its id.
AddFile = Callable[[str, NewFile], str]


def _bad(path: str, message: str) -> Invalid:
    return Invalid(message, {path: message})


def _number(value: Any, path: str) -> str:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _bad(path, "Expected a number") from None
    if not number.is_finite() or isinstance(value, bool):
        raise _bad(path, "Expected a number")
    if number < 0:
        raise _bad(path, "Expected a number of 0 or more")
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)


def _date(value: Any, path: str) -> str:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _bad(path, "Expected an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return timestamp(parsed.astimezone(UTC))


def _choice(field: dict[str, Any], value: Any, path: str) -> str:
    choices = {c["id"] for c in (field.get("type_specific_meta") or {}).get("choices", [])}
    if not isinstance(value, str) or value not in choices:
        raise _bad(path, "Not a choice of this form field")
    return value


def _file(value: Any, path: str, ident: str, files: Mapping[str, NewFile], add: AddFile) -> str:
    if not isinstance(value, dict) or path + ".key" not in files:
        raise _bad(path, "Expected {key, name} of an upload")
    name = str(value.get("name", "")).strip()
    if not name or len(name) > MAX_NAME:
        raise _bad(path + ".name", f"A file name of 1 to {MAX_NAME} characters")
    claimed = files[path + ".key"]
    return add(ident, NewFile(name, claimed.key, claimed.mime_type, claimed.size))


def _brief(
    value: Any, path: str, ident: str, files: Mapping[str, NewFile], add: AddFile
) -> dict[str, Any]:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "text_brief" and isinstance(value.get("value"), str):
        if len(value["value"]) > MAX_TEXT:
            raise _bad(path + ".value", f"At most {MAX_TEXT} characters")
        return {"type": "text_brief", "value": value["value"]}
    if kind == "attachment_brief" and isinstance(value.get("value"), dict):
        file_id = _file(value["value"], path + ".value", ident, files, add)
        return {"type": "attachment_brief", "file_id": file_id}
    raise _bad(path, "Expected a text_brief or an attachment_brief")


def checked(
    field: dict[str, Any],
    values: list[Any],
    path: str,
    files: Mapping[str, NewFile],
    add: AddFile,
) -> list[Any]:
    """The values to store for ``field`` (a template form field), or 422 naming
    ``path.N`` (``path`` is where the values sit in the request, e.g.
    ``form_fields.3.values``). An empty list clears the field unless it is required."""
    type_, ident = field["type"], field["identifier"]
    meta = field.get("type_specific_meta") or {}
    single = type_ in SINGLE or (
        type_ in ("dropdown", "label") and not meta.get("is_multi_select", False)
    )
    if single and len(values) > 1:
        raise _bad(path, "This form field takes one value")
    if field.get("is_required") and not values:
        raise _bad(path, f"The form field {ident!r} is required")
    out: list[Any] = []
    for m, value in enumerate(values):
        at = f"{path}.{m}"
        if type_ in TEXT_TYPES:
            if not isinstance(value, str) or len(value) > MAX_TEXT:
                raise _bad(at, f"Expected a text of at most {MAX_TEXT} characters")
            out.append(value)
        elif type_ in NUMBER_TYPES:
            out.append(_number(value, at))
        elif type_ == "date":
            out.append(_date(value, at))
        elif type_ in CHOICE_TYPES:
            out.append(_choice(field, value, at))
        elif type_ == "file":
            out.append(_file(value, at, ident, files, add))
        else:  # brief
            out.append(_brief(value, at, ident, files, add))
    if type_ in CHOICE_TYPES and len(set(out)) != len(out):
        raise _bad(path, "A choice is given more than once")
    return out


FileView = Callable[[str], dict[str, str] | None]
"""``file(id) -> {"id", "name", "url"}`` (None for a file that is gone)."""


def answered(field: dict[str, Any], stored: list[Any], file: FileView) -> list[Any]:
    """Stored values as the API answers them (choices as ``{id, name}``, files as
    ``{id, name, url}``)."""
    type_ = field["type"]
    if type_ in CHOICE_TYPES:
        names = {
            c["id"]: c["name"] for c in (field.get("type_specific_meta") or {}).get("choices", [])
        }
        return [{"id": v, "name": names.get(v, "")} for v in stored]
    if type_ == "file":
        return [f for f in map(file, stored) if f is not None]
    if type_ == "brief":
        out: list[Any] = []
        for v in stored:
            if v["type"] == "text_brief":
                out.append(v)
            elif (f := file(v["file_id"])) is not None:
                out.append({"type": "attachment_brief", "value": f})
        return out
    return list(stored)
