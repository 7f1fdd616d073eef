"""The pagination envelope: ``pagination.next``/``previous`` as absolute, fully
percent-encoded URLs that keep every filter of the request, ``null`` at the ends.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from cmpapi.server.db.repository import Page
from cmpapi.server.http.links import Links
from cmpapi.server.http.responses import checked_response
from cmpapi.wire import Pagination

_PAGING = ("offset", "page_size")


def page_url(request: Request, links: Links, offset: int, page_size: int) -> str:
    kept = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "page_size")
    ]
    kept += [("offset", str(offset)), ("page_size", str(page_size))]
    return links.url(request.url.path, kept)


def pagination(request: Request, links: Links, page: Page[Any]) -> Pagination:
    """The ``Pagination`` object for a page of a list request."""
    nxt = page_url(request, links, page.offset + page.page_size, page.page_size)
    prev = page_url(request, links, max(page.offset - page.page_size, 0), page.page_size)
    return Pagination(
        next=nxt if page.has_next else None, previous=prev if page.has_previous else None
    )


def page_response(
    envelope: type[BaseModel],
    request: Request,
    links: Links,
    page: Page[Any],
    data: list[Any],
    **extra: Any,
) -> Response:
    """A list operation's answer: ``envelope(data=..., pagination=..., **extra)`` as JSON.
    The items may be plain data (dicts shaped as the envelope's item model): they are
    checked against it where ``check_responses`` is on (``responses.checked_response``)."""
    # The request's URL without offset and page_size, encoded once for both links.
    size = page.page_size
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _PAGING]
    head = links.url(request.url.path, kept) + ("&" if kept else "?")
    nxt = f"{head}offset={page.offset + size}&page_size={size}" if page.has_next else None
    prev = f"{head}offset={max(page.offset - size, 0)}&page_size={size}"
    content = {
        "data": data,
        "pagination": {"next": nxt, "previous": prev if page.has_previous else None},
        **extra,
    }
    return checked_response(envelope, content, request.app.state.settings.check_responses)
