"""What an upload key refers to, for the operations that consume keys (createAsset,
createAssetVersion, task assets, attachments).

Two halves, so each runs where it belongs:

- ``require_upload_key(session, org_id, key)`` (sync, database): the key was issued to this
  organization (getUploadUrl) or is a completed multipart upload of it. Call it inside your
  own service function, or as ``await api.call(check_upload_key, key)``.
- ``inspect_object(store, key)`` (async, storage): size, sniffed MIME type, kind and, for
  images, dimensions.

``inspect_upload`` runs both in that order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, Literal, ParamSpec, Protocol, TypeVar

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.errors import Invalid
from cmpapi.server.storage.base import ObjectStore
from cmpapi.server.storage.keys import is_upload_key
from cmpapi.server.storage.sniff import EXTENSIONS, ImageTooLarge, image_size, sniff
from cmpapi.server.storage.tables import SUCCEEDED, MultipartUpload, UploadKey

P = ParamSpec("P")
T = TypeVar("T")
Kind = Literal["image", "video", "raw_file"]
UNKNOWN_KEY = "Unknown upload key"
NO_FILE = "No file was uploaded with this key"
SNIFF_BYTES = 64 * 1024
# Image headers are read from growing prefixes: JPEG metadata (EXIF, ICC) may push the
# frame header past the first 64 KiB. 16 MiB bounds what a hostile file can make us read.
IMAGE_PREFIXES = (SNIFF_BYTES, 1024 * 1024, 16 * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """An uploaded object, as consumers of upload keys need it."""

    key: str
    size: int
    mime_type: str
    file_extension: str | None
    kind: Kind
    width: int | None = None
    height: int | None = None
    etag: str | None = None
    sha256: str | None = None

    def columns(self) -> dict[str, Any]:
        """The file as the columns of a row that holds one (library assets, task assets and
        their drafts name them alike): one mapping for every such table."""
        return {
            "type": self.kind,
            "mime_type": self.mime_type,
            "file_extension": self.file_extension,
            "file_size": self.size,
            "width": self.width,
            "height": self.height,
            "storage_key": self.key,
        }


class SessionRunner(Protocol):
    """Runs ``fn(session, ...)`` as one unit of work (``cmpapi.server.http.deps.Db``)."""

    async def run(
        self, fn: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T: ...


def _unknown(message: str = UNKNOWN_KEY) -> Invalid:
    return Invalid(message, {"key": message})


def require_upload_key(session: Session, org_id: str, key: str) -> None:
    """Raise Invalid (422 naming ``key``) unless ``key`` was issued to ``org_id``.

    Unknown keys and other organizations' keys get the same answer, so a key's existence
    does not leak across organizations.
    """
    if not is_upload_key(key):
        raise _unknown()
    if "/" in key:
        found = session.scalar(
            select(MultipartUpload.id).where(
                MultipartUpload.key == key,
                MultipartUpload.org_id == org_id,
                MultipartUpload.status == SUCCEEDED,
            )
        )
    else:
        found = session.scalar(
            select(UploadKey.key).where(UploadKey.key == key, UploadKey.org_id == org_id)
        )
    if found is None:
        raise _unknown()


def check_upload_key(session: Session, principal: Principal, key: str) -> None:
    """``require_upload_key`` for the caller's organization, in ``api.call`` form."""
    require_upload_key(session, principal.org_id, key)


async def inspect_object(store: ObjectStore, key: str, *, digest: bool = False) -> UploadedFile:
    """Describe the object under ``key`` from its bytes (the client's claims are ignored).

    Raises Invalid (422 naming ``key``) when nothing was uploaded under the key. With
    ``digest`` the whole object is read once to compute its SHA-256.
    """
    if not is_upload_key(key):
        raise _unknown()
    meta = await store.head(key)
    if meta is None:
        raise _unknown(NO_FILE)
    head = await store.read_range(key, 0, min(SNIFF_BYTES, meta.size))
    mime_type = sniff(head)
    size = await _dimensions(store, key, meta.size, mime_type, head)
    kind: Kind = "image" if size else "video" if mime_type.startswith("video/") else "raw_file"
    return UploadedFile(
        key=key,
        size=meta.size,
        mime_type=mime_type,
        file_extension=EXTENSIONS.get(mime_type),
        kind=kind,
        width=size[0] if size else None,
        height=size[1] if size else None,
        etag=meta.etag,
        sha256=await _sha256(store, key) if digest else None,
    )


async def inspect_upload(
    store: ObjectStore, db: SessionRunner, org_id: str, key: str, *, digest: bool = False
) -> UploadedFile:
    """``require_upload_key`` then ``inspect_object``: the key must belong to ``org_id``."""
    await db.run(require_upload_key, org_id, key)
    return await inspect_object(store, key, digest=digest)


async def _dimensions(
    store: ObjectStore, key: str, total: int, mime_type: str, head: bytes
) -> tuple[int, int] | None:
    """Image dimensions, or None (not an image, unreadable, or too many pixels: such files
    are kept as raw files rather than refused)."""
    if not mime_type.startswith("image/"):
        return None
    data = head
    for limit in IMAGE_PREFIXES:
        if len(data) < min(limit, total):
            data = await store.read_range(key, 0, min(limit, total))
        try:
            # Pillow parses headers in Python; keep hostile files off the event loop.
            found = await anyio.to_thread.run_sync(image_size, data, mime_type)
        except ImageTooLarge:
            return None
        if found is not None or len(data) >= total:
            return found
    return None


async def _sha256(store: ObjectStore, key: str) -> str:
    digest = hashlib.sha256()
    async for chunk in store.stream(key):
        digest.update(chunk)
    return digest.hexdigest()
