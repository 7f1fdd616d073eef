"""Pydantic v2 wire models of the CMP Open REST API v3.

``cmpapi.wire.models`` is generated from the official OpenAPI document by
``scripts/gen_wire.py`` (never edit it by hand; regenerate it) and imports nothing of ours,
only pydantic and the standard library. This package re-exports every generated class.
"""

from cmpapi.wire.models import *  # noqa: F403
