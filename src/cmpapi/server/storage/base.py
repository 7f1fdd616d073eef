"""The object store: one interface over a local directory and S3-compatible buckets.

Bytes move through obstore (Rust ``object_store``, async, streaming) on both backends; what
differs per backend is how clients are let in without us in the path: signed upload forms,
part URLs and download URLs (``local.py``, ``s3.py``).
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import errno
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote

import obstore
from fastapi import Request

from cmpapi.server.db.base import utcnow
from cmpapi.server.settings import Settings
from cmpapi.server.storage.errors import (
    ObjectNotFound,
    ObjectTooLarge,
    StorageError,
    StorageFull,
    StorageUnavailable,
    error_headline,
)
from cmpapi.server.storage.keys import validate_key

if TYPE_CHECKING:
    from obstore import ObjectMeta as RawMeta
    from obstore.store import ObjectStore as RawStore

# obstore completes futures from its Tokio threads; one still inside the loop's wake-up
# call when the interpreter finalizes aborts the process (seen ~3% of short runs under
# load). A pause at exit lets such a thread finish while the interpreter is intact.
atexit.register(time.sleep, 0.05)

# Chunks handed to readers of a download; small enough to keep memory flat per request.
READ_CHUNK = 256 * 1024
# How obstore writes a stream: parts of this size, this many in flight (S3 minimum is 5 MiB).
WRITE_PART = 5 * 1024 * 1024
WRITE_CONCURRENCY = 2
Disposition = Literal["attachment", "inline"]
# Infrastructure failures, as the OS reports them through obstore ("... (os error 28)").
_OS_ERROR = re.compile(r"\(os error (\d+)\)")
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
IO_FAILURE = frozenset({errno.EIO, errno.EROFS, errno.ESTALE, errno.ETIMEDOUT})


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    """What the store knows about one object."""

    key: str
    size: int
    etag: str | None
    last_modified: datetime
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class MultipartTarget:
    """Addresses one multipart upload: our id, its final key, the backend's own upload id."""

    upload_id: str
    key: str
    backend_upload_id: str | None = None


class _Meter:
    """Counts bytes flowing into a write and stops it past ``limit`` (nothing is stored:
    obstore writes are atomic, so an exception from the source abandons the write)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.size = 0

    async def feed(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self.size += len(chunk)
            if self.limit is not None and self.size > self.limit:
                raise ObjectTooLarge(self.limit)
            if chunk:
                yield chunk


class ObjectStore(abc.ABC):
    """Object storage for uploads, assets and renditions. Keys are validated on every call.

    Data plane (both backends): ``head``, ``read_range``, ``stream``, ``put_stream``,
    ``put_bytes``, ``copy``, ``delete``. Client access (per backend): ``presigned_post``,
    ``part_upload_url``, ``download_url``. Multipart control: ``create_multipart``,
    ``list_parts``, ``complete_multipart``, ``abort_multipart``.
    """

    backend: ClassVar[str]

    def __init__(self, inner: RawStore, settings: Settings) -> None:
        self.inner = inner
        self.settings = settings

    # -- failures --------------------------------------------------------------------
    def failure(self, exc: Exception) -> StorageError | None:
        """The infrastructure failure an obstore error (or an OSError) stands for
        (StorageFull, StorageUnavailable), or None when it is about the request (a bad
        range, a bug)."""
        if isinstance(exc, OSError) and exc.errno is not None:
            code: int | None = exc.errno
        else:
            found = _OS_ERROR.search(str(exc))
            code = int(found.group(1)) if found else None
        if code in NO_SPACE:
            return StorageFull(error_headline(exc))
        if code in IO_FAILURE:
            return StorageUnavailable(error_headline(exc))
        return None

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Raise obstore errors that are infrastructure failures as ``StorageError``
        (``http/errors.py`` answers 503/507); anything else passes unchanged."""
        try:
            yield
        except obstore.exceptions.BaseError as exc:
            failure = self.failure(exc)
            if failure is None:
                raise
            raise failure from exc

    # -- data plane ------------------------------------------------------------------
    async def head(self, key: str) -> ObjectMeta | None:
        """The object's metadata, or None when there is no object under ``key``."""
        try:
            with self.guard():
                raw = await obstore.head_async(self.inner, validate_key(key))
        except FileNotFoundError:
            return None
        return _meta(raw)

    async def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``, cut short at the end of the object (empty past it)."""
        validate_key(key)
        if start < 0 or end < start:
            raise ValueError(f"bad range {start}..{end}")
        if end == start:
            return b""
        try:
            data = await obstore.get_range_async(self.inner, key, start=start, end=end)
        except FileNotFoundError as exc:
            raise ObjectNotFound() from exc
        except obstore.exceptions.BaseError as exc:
            failure = self.failure(exc)
            if failure is not None:
                raise failure from exc
            # Stores refuse a range that starts past the end; that is an empty read to us.
            meta = await self.head(key)
            if meta is None:
                raise ObjectNotFound() from None
            if start >= meta.size:
                return b""
            raise
        return bytes(data)

    async def stream(
        self, key: str, start: int | None = None, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The object's bytes (``[start, end)`` when given) in chunks of about 256 KiB."""
        validate_key(key)
        options: dict[str, Any] = {}
        if end is not None:
            options["range"] = (start or 0, end)
        elif start:
            options["range"] = {"offset": start}
        with self.guard():
            try:
                result = await obstore.get_async(self.inner, key, options=options)  # type: ignore[arg-type]
            except FileNotFoundError as exc:
                raise ObjectNotFound() from exc
            async for chunk in result.stream(min_chunk_size=READ_CHUNK):
                yield chunk

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        max_size: int | None = None,
    ) -> ObjectMeta:
        """Write ``chunks`` to ``key`` atomically. Past ``max_size`` raise ObjectTooLarge;
        a failed or cancelled write leaves the previous object (or none) in place: a full
        disk (StorageFull) or a store gone away (StorageUnavailable) included."""
        validate_key(key)
        meter = _Meter(max_size)
        with self.guard():
            result = await obstore.put_async(
                self.inner,
                key,
                meter.feed(chunks),
                attributes=self._attributes(content_type),
                chunk_size=WRITE_PART,
                max_concurrency=WRITE_CONCURRENCY,
            )
        return ObjectMeta(key, meter.size, result["e_tag"], utcnow(), content_type)

    async def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectMeta:
        """Write a small object in one request."""
        validate_key(key)
        with self.guard():
            result = await obstore.put_async(
                self.inner,
                key,
                data,
                attributes=self._attributes(content_type),
                use_multipart=False,
            )
        return ObjectMeta(key, len(data), result["e_tag"], utcnow(), content_type)

    async def copy(self, src: str, dst: str) -> None:
        """Copy ``src`` to ``dst`` inside the store (overwrites ``dst``)."""
        try:
            with self.guard():
                await obstore.copy_async(self.inner, validate_key(src), validate_key(dst))
        except FileNotFoundError as exc:
            raise ObjectNotFound() from exc

    async def delete(self, key: str) -> None:
        """Delete ``key``; deleting a missing object is not an error."""
        with contextlib.suppress(FileNotFoundError), self.guard():
            await obstore.delete_async(self.inner, validate_key(key))

    def _attributes(self, content_type: str | None) -> dict[str, str] | None:
        return {"Content-Type": content_type} if content_type else None

    # -- client access ---------------------------------------------------------------
    @abc.abstractmethod
    def download_url(
        self,
        key: str,
        *,
        filename: str,
        content_type: str,
        base_url: str,
        ttl: int | None = None,
        disposition: Disposition = "attachment",
    ) -> str:
        """A signed, expiring GET URL serving the object under ``filename``.

        ``base_url`` is the public base of this server (``api.links.base``); only the local
        backend uses it. ``ttl`` defaults to ``Settings.download_url_ttl``.
        """

    @abc.abstractmethod
    def presigned_post(
        self, key: str, *, base_url: str, ttl: int | None = None, max_size: int | None = None
    ) -> tuple[str, dict[str, str]]:
        """``(url, form fields)`` of a browser-based POST upload of one file to ``key``."""

    @abc.abstractmethod
    def part_upload_url(
        self, target: MultipartTarget, part_number: int, *, size: int, base_url: str, ttl: int
    ) -> str:
        """A signed PUT URL for part ``part_number`` (1-based) of ``size`` bytes."""

    # -- multipart control -----------------------------------------------------------
    @abc.abstractmethod
    async def create_multipart(self, key: str) -> str | None:
        """Start a multipart upload to ``key``; the backend's upload id, if it has one."""

    @abc.abstractmethod
    async def list_parts(self, target: MultipartTarget) -> dict[int, int]:
        """The parts received so far: part number -> size in bytes."""

    @abc.abstractmethod
    async def complete_multipart(self, target: MultipartTarget, part_count: int) -> ObjectMeta:
        """Assemble parts ``1..part_count`` into ``target.key``; the parts are gone after."""

    @abc.abstractmethod
    async def abort_multipart(self, target: MultipartTarget) -> None:
        """Drop the parts of an upload that will not be completed."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (thread pools, clients) at shutdown."""


def content_disposition(disposition: str, filename: str) -> str:
    """``attachment; filename="..."; filename*=UTF-8''...``: an ASCII fallback name for old
    clients, the exact UTF-8 name for the rest (RFC 6266)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _meta(raw: RawMeta, content_type: str | None = None) -> ObjectMeta:
    return ObjectMeta(raw["path"], raw["size"], raw["e_tag"], raw["last_modified"], content_type)


def get_store(request: Request) -> ObjectStore:
    """The app's object store (``app.state.store``)."""
    store: ObjectStore = request.app.state.store
    return store


async def store_dependency(request: Request) -> ObjectStore:
    """FastAPI dependency form of ``get_store`` (async: no threadpool hop)."""
    return get_store(request)
