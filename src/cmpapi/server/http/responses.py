"""Responses that serialise wire models once, straight to JSON bytes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel

JSON = "application/json"


def wire_response(
    model: BaseModel, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response of a wire model (aliases used; unset optional fields omitted)."""
    body = model.__pydantic_serializer__.to_json(model, by_alias=True)
    return Response(body, status_code=status_code, headers=headers, media_type=JSON)


class AnswerMismatch(AssertionError):
    """An answer built from plain data is not what its wire model would send."""


def _model_json(value: Any) -> Any:
    """orjson's fallback: a wire model inside plain data, as the model sends itself."""
    if isinstance(value, BaseModel):
        return value.__pydantic_serializer__.to_python(value, mode="json", by_alias=True)
    raise TypeError(f"{type(value).__name__} is not JSON")


def same_json(sent: Any, expected: Any) -> bool:
    """``sent`` is what the model sends, key order aside. Numbers must be of the model's
    kind, except that a whole number may go as an integer where the model says float (the
    spec's ``number``: ``total_count`` goes as 42, as the CMP sends it, not 42.0)."""
    if isinstance(expected, dict):
        return (
            isinstance(sent, dict)
            and sent.keys() == expected.keys()
            and all(same_json(sent[k], v) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(sent, list)
            and len(sent) == len(expected)
            and all(same_json(a, b) for a, b in zip(sent, expected, strict=True))
        )
    if isinstance(expected, float) and type(sent) is int:
        return sent == expected
    return type(sent) is type(expected) and sent == expected


def checked_response(
    model: type[BaseModel], content: dict[str, Any], check: bool, status_code: int = 200
) -> Response:
    """``content`` (plain data shaped as ``model``, wire models allowed inside) as JSON,
    without validating it: a page's items are not validated one by one.

    With ``check`` (the ``check_responses`` setting, on in the tests) the content is validated
    as ``model`` first, and the JSON sent must equal the model's own: a mapping that drifts
    from the wire model fails the test that calls it, as if it were validated each time.
    """
    body = orjson.dumps(content, default=_model_json, option=orjson.OPT_UTC_Z)
    if check:
        validated = model.model_validate(content)
        expected = validated.__pydantic_serializer__.to_json(validated, by_alias=True)
        if not same_json(orjson.loads(body), orjson.loads(expected)):
            raise AnswerMismatch(f"{model.__name__}: sent {body!r}, the model says {expected!r}")
    return Response(body, status_code=status_code, media_type=JSON)


def json_response(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response of plain data (error bodies, OAuth responses)."""
    return Response(
        orjson.dumps(content), status_code=status_code, headers=headers, media_type=JSON
    )


def redirect(location: str, headers: Mapping[str, str] | None = None) -> Response:
    """A 302 with an absolute Location and an empty body (findUserByEmail, getAssetUrl)."""
    return Response(status_code=302, headers={"Location": location, **(headers or {})})


def no_content() -> Response:
    """An empty 204 (deletes, permission changes, PATCHes the spec answers without a body)."""
    return Response(status_code=204)
