"""Capturing what the server logs, formatted by its own JSON formatter."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cmpapi.server.observability.logs import JsonFormatter


class Captured:
    """The JSON lines written while capturing, as text and parsed."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    def lines(self, logger: str | None = None) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self.text.splitlines() if line]
        return [p for p in parsed if logger is None or p["logger"] == logger]


@contextmanager
def json_logs() -> Iterator[Captured]:
    """Every record of the ``cmpapi`` loggers at INFO, as ``cmpapi serve`` would write it
    with ``CMPAPI_LOG_FORMAT=json``."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("cmpapi")
    access = logging.getLogger("cmpapi.access")
    saved = root.level, access.level, access.propagate
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    access.setLevel(logging.INFO)
    access.propagate = True
    try:
        yield Captured(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        access.setLevel(saved[1])
        access.propagate = saved[2]
