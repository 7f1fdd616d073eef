"""Input bounds every operation inherits: what a validated request value may hold so that
each backend stores it and reads it back (docs/compat.md#input-bounds).

The spec's own constraints (``maxLength``, enums, formats) are the wire models'; these are
the ones it leaves open:

- texts: no NUL (PostgreSQL cannot store it), no unpaired surrogate (not Unicode), and at
  most ``text_limit(name)`` characters when the spec gives no ``maxLength``: long free text
  (comments, descriptions, values) up to ``LONG_TEXT``, URLs up to ``URL_TEXT``, everything
  else (names, titles, ids, keys) up to ``SHORT_TEXT``;
- integers in a signed 64-bit range (SQLite's INTEGER, PostgreSQL's BIGINT, SQL OFFSET);
- numbers finite (JSON has no NaN, Python's parser accepts it);
- dates and date-times with a four-digit year once in UTC (ISO 8601 without extensions; a
  year below 1000 broke every later read of the row).

A field's own ``maxLength`` replaces the default limit. ``violations`` walks a validated
pydantic model and names each bad value by its dotted path in the request: ``bounded``
applies it to the body of every route of a ``Router`` (422), ``parse_query`` to every
query string (400).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from math import isfinite
from typing import Annotated, Any, TypeVar, get_args, get_origin, get_type_hints

from annotated_types import MaxLen
from pydantic import BaseModel, RootModel
from pydantic.fields import FieldInfo

from cmpapi.server.errors import Invalid

M = TypeVar("M", bound=BaseModel)
SHORT_TEXT = 4_096
URL_TEXT = 8_192
LONG_TEXT = 1_000_000
# Free text that users write at length; anything else without a spec maxLength is short.
LONG_TEXT_FIELDS = frozenset(
    {
        "value",
        "values",
        "text_value",
        "rich_text_value",
        "default_value",
        "description",
        "public_description",
        "notes",
        "help",
        "help_text",
        "status_message",
        "definition",
        "source_metadata",
        "content",
        "body",
    }
)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
DATE_MIN, DATE_MAX = date(1000, 1, 1), date(9999, 12, 31)


def text_limit(name: str) -> int:
    """The most characters a text field of this name holds when the spec says nothing."""
    if name in LONG_TEXT_FIELDS:
        return LONG_TEXT
    if name in ("url", "uri", "self") or name.endswith("_url"):
        return URL_TEXT
    return SHORT_TEXT


def violations(model: BaseModel) -> dict[str, str]:
    """``{"dotted.path": "why"}`` for every value of ``model`` outside the bounds."""
    return dict(_walk(model, (), SHORT_TEXT))


def _spec_limit(info: FieldInfo) -> int | None:
    """The field's own ``maxLength`` (already enforced by the wire model), if it has one.
    On an array field it is the spec's ``maxItems``, not a limit of its texts."""
    if _is_array(info.annotation):
        return None
    return next((m.max_length for m in info.metadata if isinstance(m, MaxLen)), None)


def _is_array(annotation: Any) -> bool:
    if get_origin(annotation) in (list, tuple, set, frozenset):
        return True
    return any(_is_array(a) for a in get_args(annotation))


@functools.cache
def _limits(model: type[BaseModel]) -> tuple[tuple[str, str, int], ...]:
    """(field, its key in the request, its text limit) of each field of a model, worked
    out once per model: every request's query and body are walked (the hot path)."""
    return tuple(
        (field, info.alias or field, _spec_limit(info) or text_limit(info.alias or field))
        for field, info in model.model_fields.items()
    )


def _walk(value: Any, path: tuple[str, ...], limit: int) -> Iterator[tuple[str, str]]:
    if isinstance(value, RootModel):
        yield from _walk(value.root, path, limit)
    elif isinstance(value, BaseModel):
        values = value.__dict__  # not getattr: deprecated fields warn when read
        for field, key, own in _limits(type(value)):
            yield from _walk(values.get(field), (*path, key), own)
    elif isinstance(value, str):
        why = _text(value, limit)
        if why:
            yield ".".join(path) or "body", why
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            yield ".".join(path), "Out of range (a signed 64-bit integer)"
    elif isinstance(value, float):
        if not isfinite(value):
            yield ".".join(path), "Not a finite number"
    elif isinstance(value, date):
        if not _date_in_range(value):
            yield ".".join(path), "Out of range (years 1000 to 9999, UTC)"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and _text(key, SHORT_TEXT):
                yield ".".join((*path, key[:40])), "Invalid key"
            yield from _walk(item, (*path, str(key)), limit)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, str(index)), limit)


def _text(value: str, limit: int) -> str | None:
    if "\x00" in value:
        return "NUL characters are not allowed"
    if not value.isascii() and not _is_utf8(value):
        return "Not valid Unicode (an unpaired surrogate)"
    if len(value) > limit:
        return f"At most {limit} characters"
    return None


def _is_utf8(value: str) -> bool:
    """JSON can escape half a surrogate pair (``"\\ud800"``); no database stores it."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _date_in_range(value: date) -> bool:
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            value = value.astimezone(UTC)
        except OverflowError:  # 9999-12-31T23:00-05:00 has no UTC
            return False
    day = value.date() if isinstance(value, datetime) else value
    return DATE_MIN <= day <= DATE_MAX


def check_body(body: M) -> M:
    """``body`` if it is within the bounds; else 422 naming each field outside them. Routes
    of a ``Router`` get it for their wire-model bodies; a route that parses its body itself
    calls it."""
    found = violations(body)
    if found:
        raise Invalid("Invalid request body", found)
    return body


def body_params(endpoint: Callable[..., Any]) -> tuple[str, ...]:
    """The parameters of a route function that FastAPI fills from the JSON body: those
    annotated with a wire model (dependencies are ``Annotated[..., Depends(...)]``)."""
    hints = get_type_hints(endpoint, include_extras=True)
    return tuple(
        name
        for name, hint in hints.items()
        if name != "return"
        and any(isinstance(t, type) and issubclass(t, BaseModel) for t in (hint, *get_args(hint)))
        and get_origin(hint) is not Annotated
    )


def bounded(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint``, refusing (422, naming each field) a body outside the bounds before it
    runs. Routes without a body are returned as they are: nothing added to their path."""
    names = body_params(endpoint)
    if not names:
        return endpoint

    def check(kwargs: dict[str, Any]) -> None:
        for name in names:
            value = kwargs.get(name)
            if isinstance(value, BaseModel):
                check_body(value)

    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def bounded_async(**kwargs: Any) -> Any:
            check(kwargs)
            return await endpoint(**kwargs)

        return bounded_async

    @functools.wraps(endpoint)
    def bounded_sync(**kwargs: Any) -> Any:
        check(kwargs)
        return endpoint(**kwargs)

    return bounded_sync
