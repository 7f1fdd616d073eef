"""Query-string parsing against the spec's generated ``<Operation>ParametersQuery`` models.

Unknown parameters are refused (400, named in ``errors``), repeated keys become lists only
for array parameters, and values are validated by the wire model, then against the input
bounds every operation shares (``http/bounds.py``).
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, get_args, get_origin

from fastapi import Request
from pydantic import BaseModel, Field, ValidationError

from cmpapi.server.errors import BadRequest
from cmpapi.server.http.bounds import violations
from cmpapi.server.http.errors import field_errors

Q = TypeVar("Q", bound=BaseModel)


def _is_list(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, tuple, set):
        return True
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(_is_list(a) for a in get_args(annotation))
    return False


@functools.cache
def _is_list_by_key(model: type[BaseModel]) -> dict[str, bool]:
    """Each query parameter of the model (by its name in the URL): whether it is an array.
    Once per model: every request's query string is parsed (the hot path)."""
    return {(f.alias or name): _is_list(f.annotation) for name, f in model.model_fields.items()}


def parse_query(model: type[Q], params: list[tuple[str, str]]) -> Q:
    """Validate query pairs against ``model``; raise BadRequest naming the bad fields."""
    fields = _is_list_by_key(model)
    raw: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in params:
        is_list = fields.get(key)
        if is_list is None:
            errors[key] = "Unknown query parameter"
        elif is_list:
            raw.setdefault(key, []).append(value)
        elif key in raw:
            errors[key] = "Parameter given more than once"
        else:
            raw[key] = value
    if errors:
        raise BadRequest(f"Unsupported arguments: {','.join(errors)}", errors)
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        raise BadRequest("Invalid query parameters", field_errors(exc.errors())) from exc
    out_of_bounds = violations(parsed)
    if out_of_bounds:
        raise BadRequest("Invalid query parameters", out_of_bounds)
    return parsed


class Paging(BaseModel):
    """Mix into a query model of an operation whose response paginates but whose spec
    forgot ``offset``/``page_size`` (the official SDKs send them anyway)."""

    offset: int = Field(default=0, ge=0)
    page_size: int = Field(default=10, ge=1, le=100)


def query(model: type[Q]) -> Callable[[Request], Awaitable[Q]]:
    """Dependency factory: ``params: Annotated[M, Depends(query(M))]``.

    Async on purpose: pure CPU work, so it must not cost a threadpool hop.
    """

    async def dependency(request: Request) -> Q:
        return parse_query(model, request.query_params.multi_items())

    dependency.__name__ = f"query_{model.__name__}"
    return dependency
