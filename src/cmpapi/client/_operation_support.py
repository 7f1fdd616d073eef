"""What the generated operation methods share: path segments, query strings, request
bodies and typed results (no I/O here, so the async and sync methods share it)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from cmpapi.client._models import dump, parse, unwrap

__all__ = ["AnyJSON", "Redirect", "dump", "query", "result", "segment"]


@dataclass(frozen=True)
class Redirect:
    """A 302 answer (``getAssetUrl``, ``findUserByEmail``): where it points, and, for
    ``getAssetUrl``, whether that is a ``library`` or a ``task`` asset."""

    location: str
    resource_location: str | None = None


def segment(value: str) -> str:
    """A path parameter, percent-encoded so that it stays one path segment."""
    return quote(str(value), safe="")


def _json_each(values: list[Any]) -> list[str]:
    return [json.dumps(v, separators=(",", ":")) for v in values]


def _base64_json(values: list[Any]) -> str:
    return base64.b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


# Query parameters the spec encodes unusually (listAssets): each ``label`` object as JSON,
# the ``fields`` array as base64 JSON.
ENCODINGS: dict[str, dict[str, Callable[[list[Any]], Any]]] = {
    "ListAssetsParametersQuery": {"label": _json_each, "fields": _base64_json},
}


def query(model: type[BaseModel], **values: Any) -> dict[str, Any]:
    """The query string of an operation: the arguments given (not None), checked against
    the operation's query model and encoded as the spec says."""
    given = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in values.items() if v is not None
    }
    params: dict[str, Any] = dump(model, given) if given else {}
    for name, encode in ENCODINGS.get(model.__name__, {}).items():
        if name in params:
            params[name] = encode(params[name])
    return params


class AnyJSON:
    """Marks an answer the spec declares as JSON of any shape (an empty schema): its
    result is the decoded body."""


def result(
    response: httpx.Response, models: Mapping[int, type[BaseModel] | type[AnyJSON] | None]
) -> Any:
    """The typed result of an answer: a :class:`Redirect` for a 3xx, ``None`` where the
    status has no body, the decoded JSON where its schema is open, else the body as the
    status's model (unwrapped if a root model)."""
    if 300 <= response.status_code < 400:
        return Redirect(response.headers["location"], response.headers.get("x-resource-location"))
    model = models.get(response.status_code)
    if model is None or not response.content:
        return None
    if model is AnyJSON:
        return response.json()
    assert issubclass(model, BaseModel)
    return unwrap(parse(model, response))
