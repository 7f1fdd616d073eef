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
