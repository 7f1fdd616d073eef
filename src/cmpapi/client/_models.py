"""Reading answers into wire models, leniently: a field the server adds later must not
break a client that was built before it (the spec's models forbid extra fields, which is
right for the server's own tests and wrong for a client). Extra fields are kept, in
``model_extra``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], response: httpx.Response) -> M:
    """``response``'s JSON body as ``model``."""
    return model.model_validate_json(response.content, extra="allow")


def dump(model: type[BaseModel], value: Any) -> Any:
    """A request body or query value checked against ``model``: only the fields the caller
    set are sent (absent and ``null`` differ on the wire). Fields the caller wrote that an
    open schema (no ``additionalProperties: false``) does not declare are sent too: the
    model would drop them, and the spec allows them (some operations even require one, as
    ``migrateSCContent`` does ``content_hash``)."""
    if isinstance(value, model):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    checked = model.model_validate(value)
    return _with_undeclared(
        value, checked.model_dump(mode="json", by_alias=True, exclude_unset=True)
    )


def _with_undeclared(written: Any, sent: Any) -> Any:
    """``sent`` (the checked model's JSON) with the keys of ``written`` it lacks. A closed
    schema has refused undeclared keys already, so only open ones get here."""
    if isinstance(written, Mapping) and isinstance(sent, dict):
        for key, value in written.items():
            sent[key] = (
                _with_undeclared(value, sent[key]) if key in sent else to_jsonable_python(value)
            )
    elif isinstance(written, list | tuple) and isinstance(sent, list) and len(written) == len(sent):
        return [_with_undeclared(w, s) for w, s in zip(written, sent, strict=True)]
    return sent


def unwrap(value: Any) -> Any:
    """The value inside a ``RootModel`` (the spec's unions and arrays), else ``value``."""
    return (
        value.root
        if hasattr(type(value), "__pydantic_root_model__") and hasattr(value, "root")
        else value
    )
