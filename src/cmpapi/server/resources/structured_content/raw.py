"""Parts of a request body as sent. Field values and field definitions are read from the
raw JSON: the spec's ``anyOf`` of value and definition shapes cannot be told apart by a
parser, only by the field's type (``validation.check_fields``,
``definitions.check_definitions``). The wire model has validated the body before."""

from __future__ import annotations

from typing import Any

from fastapi import Request


async def raw_part(request: Request, *path: str) -> Any:
    """``body[path[0]][path[1]]...`` as sent; None where a step is missing or no object."""
    part: Any = await request.json()
    for key in path:
        part = part.get(key) if isinstance(part, dict) else None
    return part
