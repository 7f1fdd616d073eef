"""The local-directory backend. This server plays S3's part for clients: it issues signed
POST forms and part/download URLs that point at its own ``/uploads`` and ``/files``
endpoints (``storage/routes.py``) and checks them there.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import anyio.to_thread
import obstore
from obstore.store import LocalStore

from cmpapi.server.settings import Settings
from cmpapi.server.storage.base import Disposition, MultipartTarget, ObjectMeta, ObjectStore
from cmpapi.server.storage.errors import ObjectNotFound, StorageUnavailable
from cmpapi.server.storage.keys import part_key, parts_prefix, validate_key
from cmpapi.server.storage.postpolicy import PostSigner
from cmpapi.server.storage.urlsign import UrlSigner

ACCESS_KEY = "cmpapi"
BUCKET = "cmpapi-local"
UPLOAD_PATH = "/uploads"
PART_PATH = "/uploads/parts"
FILES_PATH = "/files"
DOWNLOAD_PARAMS = ("filename", "type", "disposition")
PART_PARAMS = ("size",)


class LocalObjectStore(ObjectStore):
    """Objects as files under ``Settings.resolved_storage_dir``."""

    backend = "local"

    def __init__(self, settings: Settings, secret: str) -> None:
        root = settings.resolved_storage_dir
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(LocalStore(root, automatic_cleanup=True), settings)
        self.root = root
        self.post_signer = PostSigner(secret, ACCESS_KEY, settings.s3_region, BUCKET)
        self.url_signer = UrlSigner(secret)

    def _attributes(self, content_type: str | None) -> dict[str, str] | None:
        # Files carry no metadata; readers sniff the type (storage/inspect.py).
        return None

    # -- durability: a write is on disk before it is acknowledged ----------------------
    # obstore writes a temporary file and renames it, without fsync: after a power loss
    # (or OS crash) an acknowledged upload could be missing or empty while the database row
    # naming it survived. So every write is fsynced (file, then the directories that name
    # it) before it returns: ~10 ms per file, ~0.15 s more for 256 MiB (docs/durability.md).
    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        max_size: int | None = None,
    ) -> ObjectMeta:
        meta = await super().put_stream(key, chunks, content_type=content_type, max_size=max_size)
        await self._sync(key)
        return meta

    async def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> ObjectMeta:
        meta = await super().put_bytes(key, data, content_type)
        await self._sync(key)
        return meta

    async def copy(self, src: str, dst: str) -> None:
        await super().copy(src, dst)
        await self._sync(dst)

    async def _sync(self, key: str) -> None:
        try:
            await anyio.to_thread.run_sync(_fsync_path, self.root, self.root / key)
        except OSError as exc:
            await self.delete(key)  # not known to be durable: not kept
            failure = self.failure(exc)
            raise (failure or StorageUnavailable(str(exc))) from exc

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
        path = f"{FILES_PATH}/{validate_key(key)}"
        params = {"filename": filename, "type": content_type, "disposition": disposition}
        ttl = ttl or self.settings.download_url_ttl
        query = self.url_signer.sign("download", path, params, ttl=ttl, now=time.time())
        return f"{base_url.rstrip('/')}{path}?{urlencode(query, quote_via=quote)}"

    def presigned_post(
        self, key: str, *, base_url: str, ttl: int | None = None, max_size: int | None = None
    ) -> tuple[str, dict[str, str]]:
        fields = self.post_signer.fields(
            validate_key(key),
            max_size=max_size or self.settings.upload_max_size,
            ttl=ttl or self.settings.upload_url_ttl,
            now=datetime.now(UTC),
        )
        return f"{base_url.rstrip('/')}{UPLOAD_PATH}", fields

    def part_upload_url(
        self, target: MultipartTarget, part_number: int, *, size: int, base_url: str, ttl: int
    ) -> str:
        path = part_url_path(target.upload_id, part_number)
        query = self.url_signer.sign("part", path, {"size": str(size)}, ttl=ttl, now=time.time())
        return f"{base_url.rstrip('/')}{path}?{urlencode(query)}"

    async def create_multipart(self, key: str) -> str | None:
        validate_key(key)
        return None  # parts are plain files under _parts/<upload id>/; nothing to open

    async def list_parts(self, target: MultipartTarget) -> dict[int, int]:
        parts: dict[int, int] = {}
        prefix = parts_prefix(target.upload_id)
        with self.guard():
            async for batch in obstore.list(self.inner, prefix, chunk_size=1000):
                for meta in batch:
                    name = meta["path"].rsplit("/", 1)[-1]
                    if name.isdigit():
                        parts[int(name)] = meta["size"]
        return parts

    async def complete_multipart(self, target: MultipartTarget, part_count: int) -> ObjectMeta:
        meta = await self.put_stream(target.key, self._concatenated(target, part_count))
        await self.abort_multipart(target)
        return meta

    async def _concatenated(self, target: MultipartTarget, part_count: int) -> AsyncIterator[bytes]:
        for number in range(1, part_count + 1):
            try:
                async for chunk in self.stream(part_key(target.upload_id, number)):
                    yield chunk
            except ObjectNotFound as exc:
                raise ObjectNotFound(f"Part {number} is missing") from exc

    async def abort_multipart(self, target: MultipartTarget) -> None:
        for number in await self.list_parts(target):
            await self.delete(part_key(target.upload_id, number))


def _fsync_path(root: Path, path: Path) -> None:
    """fsync a file and every directory from its own up to ``root`` (new directories must
    be on disk too for the file to be found after a crash)."""
    for target in (path, *path.parents):
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if target == root:
            return


def part_url_path(upload_id: str, part_number: int) -> str:
    """The local endpoint path receiving one part."""
    return f"{PART_PATH}/{upload_id}/{part_number}"
