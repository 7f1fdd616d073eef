"""Reading answers into wire models, leniently: a field the server adds later must not
break a client that was built before it (the spec's models forbid extra fields, which is
right for the server's own tests and wrong for a client). Extra fields are kept, in
``model_extra``."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from cmpapi.client.errors import RequestValidationError, UnexpectedResponseError

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], response: httpx.Response) -> M:
    """``response``'s JSON body as ``model``."""
    try:
        return model.model_validate_json(response.content, extra="allow")
    except ValidationError as exc:
        raise UnexpectedResponseError(response, str(exc)) from None


def dump(model: type[BaseModel], value: Any) -> Any:
    """A request body or query value checked against ``model`` before it leaves. A model
    instance sends the fields that were set (absent and ``null`` differ on the wire); a
    mapping is sent as written, fields the model does not know included, for the server
    to judge (it may know them)."""
    if isinstance(value, model):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    try:
        model.model_validate(value, extra="allow")
    except ValidationError as exc:
        raise RequestValidationError(_field_errors(exc)) from None
    return to_jsonable_python(value)


def _field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        errors.setdefault(".".join(str(p) for p in error["loc"]) or "body", error["msg"])
    return errors


def unwrap(value: Any) -> Any:
    """The value inside a ``RootModel`` (the spec's unions and arrays), else ``value``."""
    return (
        value.root
        if hasattr(type(value), "__pydantic_root_model__") and hasattr(value, "root")
        else value
    )
