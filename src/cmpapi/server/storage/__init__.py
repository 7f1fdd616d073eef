"""Object storage: the ``ObjectStore`` (local directory or S3-compatible), signed upload and
download URLs, the local backend's S3 stand-in endpoints, and what an upload key holds.

Others code against::

    store = get_store(request)                      # app.state.store
    await store.head(key) / read_range / stream / put_stream / put_bytes / copy / delete
    store.download_url(key, filename=..., content_type=..., base_url=api.links.base)
    await api.call(check_upload_key, key); info = await inspect_object(store, key)

See docs/storage.md.
"""

from __future__ import annotations

from cmpapi.server.settings import Settings
from cmpapi.server.storage.base import (
    MultipartTarget,
    ObjectMeta,
    ObjectStore,
    get_store,
    store_dependency,
)
from cmpapi.server.storage.errors import InvalidKey, ObjectNotFound, ObjectTooLarge
from cmpapi.server.storage.inspect import (
    UploadedFile,
    check_upload_key,
    inspect_object,
    inspect_upload,
    require_upload_key,
)


def make_store(settings: Settings) -> ObjectStore:
    """The store the settings name (``storage_backend``)."""
    if settings.storage_backend == "s3":
        from cmpapi.server.storage.s3 import S3ObjectStore

        return S3ObjectStore(settings)
    from cmpapi.server.storage.local import LocalObjectStore
    from cmpapi.server.storage.urlsign import load_or_create_secret

    secret = (
        settings.storage_secret.get_secret_value()
        if settings.storage_secret
        else load_or_create_secret(settings.data_dir)
    )
    return LocalObjectStore(settings, secret)


__all__ = [
    "InvalidKey",
    "MultipartTarget",
    "ObjectMeta",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectTooLarge",
    "UploadedFile",
    "check_upload_key",
    "get_store",
    "inspect_object",
    "inspect_upload",
    "make_store",
    "require_upload_key",
    "store_dependency",
]


_STORES: dict[int, tuple[Settings, ObjectStore]] = {}


def store_for(settings: Settings) -> ObjectStore:
    """One store per Settings object in this process (job handlers, which have no app)."""
    cached = _STORES.get(id(settings))
    if cached is None or cached[0] is not settings:
        cached = _STORES[id(settings)] = (settings, make_store(settings))
    return cached[1]
