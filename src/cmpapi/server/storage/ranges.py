"""HTTP ``Range: bytes=...`` parsing for downloads (RFC 9110 §14), single ranges only."""

from __future__ import annotations

import re

_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")


class RangeNotSatisfiable(Exception):
    """The range lies outside the object (416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) for a satisfiable single range; None to send the
    whole object (no header, a syntax we ignore, or several ranges: RFC 9110 lets a server
    answer those with 200); RangeNotSatisfiable for a range past the end."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable()
        return max(size - length, 0), size
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if last and int(last) < start:
        return None  # invalid spec: ignored, as RFC 9110 says
    if start >= size:
        raise RangeNotSatisfiable()
    return start, end
