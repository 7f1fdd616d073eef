"""The library's seam to object storage: upload keys in, signed download URLs out.

Everything storage-specific the library needs passes through these functions.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from cmpapi.server.db.base import new_id
from cmpapi.server.http.deps import Api
from cmpapi.server.http.links import get_links
from cmpapi.server.resources.library.mapping import FileUrl
from cmpapi.server.resources.library.tables import Asset
from cmpapi.server.storage.base import get_store
from cmpapi.server.storage.inspect import UploadedFile, check_upload_key, inspect_object

log = logging.getLogger("cmpapi.library")
T = TypeVar("T")
DOWNLOAD_TTL = 3600


Signer = Callable[[str, str, str], str]
"""``sign(key, filename, content_type)``: a signed, expiring download URL."""


async def signer(request: Request) -> Signer:
    """Dependency: signs download URLs of stored objects."""
    store = get_store(request)
    base = get_links(request).base

    def sign(key: str, filename: str, content_type: str) -> str:
        return store.download_url(
            key, filename=filename, content_type=content_type, base_url=base, ttl=DOWNLOAD_TTL
        )

    return sign


async def file_url(request: Request) -> FileUrl:
    """Dependency: signs download URLs of assets' current files."""
    sign = await signer(request)

    def asset_url(asset: Asset) -> str:
        extension = f".{asset.file_extension}" if asset.file_extension else ""
        name = asset.title if asset.title.endswith(extension) else asset.title + extension
        return sign(asset.storage_key or "", name, asset.mime_type)

    return asset_url


async def claim(request: Request, api: Api, key: str) -> UploadedFile:
    """Inspect an upload key of the caller's organization (Invalid naming ``key``) and copy
    its object to a key of the library's own: a later upload to the same key, or another
    asset made from it, must not change or delete this asset's file."""
    await api.call(check_upload_key, key)
    store = get_store(request)
    found = await inspect_object(store, key)
    own = f"assets/{new_id()}"
    await store.copy(key, own)
    return replace(found, key=own)


async def duplicate(request: Request, key: str) -> str:
    """Copy a stored object (an asset's file) to a new key of the library's own and return
    that key: the copy lives on whatever later happens to the original (task assets forked
    from library assets)."""
    own = f"assets/{new_id()}"
    await get_store(request).copy(key, own)
    return own


async def or_remove(request: Request, keys: list[str], work: Awaitable[T]) -> T:
    """``await work``; when it fails, delete the objects copied for it (a refused or failed
    write leaves no file behind)."""
    try:
        return await work
    except BaseException:
        await remove(request, keys)
        raise


async def remove(request: Request, keys: list[str]) -> None:
    """Delete objects after the rows that referenced them are gone (best effort)."""
    store = get_store(request)
    for key in keys:
        try:
            await store.delete(key)
        except Exception:  # a leftover object is harmless; a failed delete must not 500
            log.warning("could not delete object %s", key, exc_info=True)


FileUrlDep = Annotated[FileUrl, Depends(file_url)]
SignerDep = Annotated[Signer, Depends(signer)]
