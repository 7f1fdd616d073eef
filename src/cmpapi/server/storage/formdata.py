"""An incremental ``multipart/form-data`` reader: fields are read one by one as the body
arrives, and the file part is handed on as a stream of chunks, never held whole in memory
(python-multipart's push parser, driven by the ASGI body stream).
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks


class MalformedForm(Exception):
    """The body is not well-formed multipart/form-data (or breaks a size limit)."""


@dataclass(frozen=True, slots=True)
class Part:
    """One part's headers."""

    name: str
    filename: str | None
    content_type: str | None


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type, or MalformedForm."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise MalformedForm("The body of your POST request is not multipart/form-data")
    return boundary


class FormReader:
    """Reads parts from ``body`` in order. Use ``next_part`` then either ``read_value`` (small
    fields) or ``stream_value`` (the file)."""

    def __init__(self, body: AsyncIterator[bytes], boundary: bytes) -> None:
        self._body = body
        self._events: deque[tuple[str, bytes]] = deque()
        self._header: list[bytes] = [b"", b""]
        try:
            self._parser = MultipartParser(boundary, callbacks=self._callbacks())
        except FormParserError as exc:
            raise MalformedForm(str(exc)) from exc

    def _callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": lambda: self._events.append(("begin", b"")),
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": lambda: self._events.append(("headers_done", b"")),
            "on_part_data": self._on_data,
            "on_part_end": lambda: self._events.append(("part_end", b"")),
            "on_end": lambda: self._events.append(("end", b"")),
        }

    # Header names and values may arrive split across body chunks: accumulate them.
    def _on_header_field(self, buf: bytes, start: int, end: int) -> None:
        self._header[0] += buf[start:end]

    def _on_header_value(self, buf: bytes, start: int, end: int) -> None:
        self._header[1] += buf[start:end]

    def _on_header_end(self) -> None:
        name, value = self._header
        self._events.append(("header", name + b"\x00" + value))
        self._header = [b"", b""]

    def _on_data(self, buf: bytes, start: int, end: int) -> None:
        self._events.append(("data", buf[start:end]))

    async def _next(self) -> tuple[str, bytes]:
        while not self._events:
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                raise MalformedForm("The request body ended early") from None
            try:
                self._parser.write(chunk)
            except FormParserError as exc:
                raise MalformedForm(str(exc)) from exc
        return self._events.popleft()

    async def next_part(self) -> Part | None:
        """The next part's headers, or None at the end of the form."""
        headers: dict[bytes, bytes] = {}
        while True:
            kind, value = await self._next()
            if kind == "end":
                return None
            if kind == "header":
                name, _, content = value.partition(b"\x00")
                headers[name.strip().lower()] = content.strip()
            elif kind == "headers_done":
                return _part(headers)

    async def read_value(self, limit: int) -> bytes:
        """The rest of the current part, at most ``limit`` bytes (else MalformedForm)."""
        value = bytearray()
        async for chunk in self.stream_value():
            value += chunk
            if len(value) > limit:
                raise MalformedForm("Your POST request fields preceding the file are too large")
        return bytes(value)

    async def stream_value(self) -> AsyncIterator[bytes]:
        """The rest of the current part, chunk by chunk as the body arrives."""
        while True:
            kind, value = await self._next()
            if kind == "part_end":
                return
            if kind == "data":
                yield value


def _part(headers: dict[bytes, bytes]) -> Part:
    disposition, options = parse_options_header(headers.get(b"content-disposition"))
    name = options.get(b"name")
    if disposition != b"form-data" or name is None:
        raise MalformedForm("A form part has no Content-Disposition name")
    filename = options.get(b"filename")
    content_type = headers.get(b"content-type")
    return Part(
        name=name.decode("utf-8", "replace"),
        filename=filename.decode("utf-8", "replace") if filename is not None else None,
        content_type=content_type.decode("latin-1") if content_type else None,
    )
