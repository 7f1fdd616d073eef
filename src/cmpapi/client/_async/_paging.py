"""List operations: a pager that walks every page by following ``pagination.next``
exactly as the server gave it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from cmpapi.client._async._http import AsyncHTTP
from cmpapi.client._models import parse, unwrap

T = TypeVar("T")


@dataclass(frozen=True)
class AsyncPage(Generic[T]):
    """One page of a list: its items, the envelope as the server sent it (``raw``), and
    the links to its neighbours (``None`` at the ends)."""

    data: list[T]
    raw: Any
    next_url: str | None
    previous_url: str | None

    @property
    def total_count(self) -> int | None:
        """The envelope's ``total_count`` where the operation has one."""
        count = getattr(self.raw, "total_count", None)
        return None if count is None else int(count)


class AsyncPager(Generic[T]):
    """Every item of a list operation, fetched lazily page by page::

        async for asset in client.library.list_assets(type=["image"]):
            ...

    ``first_page()`` gives the first page alone; ``pages()`` walks the pages."""

    def __init__(
        self, http: AsyncHTTP, path: str, params: dict[str, Any], envelope: type[BaseModel]
    ) -> None:
        self._http = http
        self._path = path
        self._params = params
        self._envelope = envelope

    async def first_page(self) -> AsyncPage[T]:
        """The first page (one request)."""
        return await self._fetch(self._path, self._params)

    async def pages(self) -> AsyncIterator[AsyncPage[T]]:
        """Every page in turn, each fetched when the previous one has been consumed."""
        page = await self.first_page()
        yield page
        while page.next_url:
            page = await self._fetch(page.next_url, None)
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.data:
                yield item

    async def _fetch(self, url: str, params: dict[str, Any] | None) -> AsyncPage[T]:
        response = await self._http.request("GET", url, params=params)
        raw = parse(self._envelope, response)
        pagination = getattr(raw, "pagination", None)
        return AsyncPage(
            # Items of a union (fields of every type) come as root models: the item itself.
            data=[unwrap(item) for item in getattr(raw, "data", None) or []],
            raw=raw,
            next_url=getattr(pagination, "next", None),
            previous_url=getattr(pagination, "previous", None),
        )
