"""``FieldsBuiltRoute``: a route whose request validators are built when it is made.

The wire models are built on first use (``defer_build``, ``cmpapi.wire.base``), and so are
the type adapters FastAPI makes for fields of their types. That is what a start wants for
the response models, which only the OpenAPI document and a few endpoints ever use. Request
parameters and bodies are another matter: FastAPI validates them on every request, and a
deferred adapter would be built by the first request to the operation (its latency), with
pydantic's ``UnsupportedFieldAttributeWarning`` about FastAPI's own ``Field(alias=...)``
(FastAPI silences it while it makes its adapters, not later). This route builds them where
FastAPI used to, warnings silenced as FastAPI does: the body models first, so that the
adapters of each inclusion of the route (below) reuse their schemas.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import Request, Response
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _effective_route_context_var
from pydantic import BaseModel
from pydantic.warnings import UnsupportedFieldAttributeWarning

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _request_fields(dependant: Dependant) -> Iterator[ModelField]:
    yield from dependant.path_params
    yield from dependant.query_params
    yield from dependant.header_params
    yield from dependant.cookie_params
    yield from dependant.body_params
    for sub in dependant.dependencies:
        yield from _request_fields(sub)


def build_request_fields(dependant: Dependant, body_field: ModelField | None) -> None:
    """Build the adapters (and models) of a route's parameters and body not built yet."""
    fields = list(_request_fields(dependant))
    if body_field is not None:
        fields.append(body_field)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UnsupportedFieldAttributeWarning)
        for field in fields:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                model.model_rebuild()  # None when already built
            adapter = field._type_adapter  # FastAPI's, made in ModelField.__post_init__
            if not adapter.pydantic_complete:
                adapter.rebuild(raise_errors=True)


class FieldsBuiltRoute(APIRoute):
    """An ``APIRoute`` whose parameter and body validators are built with its handler."""

    def get_route_handler(self) -> Handler:
        # FastAPI calls this for the route itself, then for each inclusion of its router
        # (lazily: on the first request the inclusion routes) with that inclusion's own
        # fields (``fastapi.routing._EffectiveRouteContext``), which requests then use.
        context = _effective_route_context_var.get()
        made_for = context if context is not None and context.original_route is self else self
        build_request_fields(made_for.dependant, made_for.body_field)
        return super().get_route_handler()
