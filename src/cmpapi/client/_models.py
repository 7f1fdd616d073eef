"""Reading answers into wire models, leniently: a field the server adds later must not
break a client that was built before it (the spec's models forbid extra fields, which is
right for the server's own tests and wrong for a client). Extra fields are kept, in
``model_extra``."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], response: httpx.Response) -> M:
    """``response``'s JSON body as ``model``."""
    return model.model_validate_json(response.content, extra="allow")


def dump(model: type[BaseModel], value: Any) -> Any:
    """A request body or query value checked against ``model``: only the fields the caller
    set are sent (absent and ``null`` differ on the wire)."""
    checked = value if isinstance(value, model) else model.model_validate(value)
    return checked.model_dump(mode="json", by_alias=True, exclude_unset=True)


def unwrap(value: Any) -> Any:
    """The value inside a ``RootModel`` (the spec's unions and arrays), else ``value``."""
    return (
        value.root
        if hasattr(type(value), "__pydantic_root_model__") and hasattr(value, "root")
        else value
    )
