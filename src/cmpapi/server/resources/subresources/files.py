"""Claiming files: each upload is copied to a storage key of its own before the row that
holds it is saved (as the library does for assets), because a later upload to the same
key must not change a posted comment, attachment or work request. Storage is async and
the services are not, so this runs in the route, after a check that the caller may write
and owns the keys; if saving then fails, ``library.files.or_remove`` deletes the copies
again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from cmpapi.server.db.base import new_id
from cmpapi.server.errors import Invalid
from cmpapi.server.http.deps import Api
from cmpapi.server.resources.library import files
from cmpapi.server.resources.subresources.parent import Parent
from cmpapi.server.storage.base import get_store
from cmpapi.server.storage.inspect import inspect_object
from cmpapi.wire import AttachmentRequest


@dataclass(frozen=True, slots=True)
class NewFile:
    """An upload copied to a key of its own, ready to record."""

    name: str
    key: str
    mime_type: str
    size: int


async def copy_uploads(
    request: Request, prefix: str, uploads: Sequence[tuple[str, str, str]]
) -> list[NewFile]:
    """Copy each ``(where, name, key)`` upload to ``{prefix}/<new id>``, in order. A key
    with nothing uploaded is a 422 naming ``where``; a failure part-way deletes the copies
    already made."""
    store, copied = get_store(request), []
    try:
        for where, name, key in uploads:
            try:
                found = await inspect_object(store, key)
            except Invalid as exc:  # nothing was uploaded with this key
                raise Invalid(exc.message, {where: exc.message}) from None
            own = f"{prefix}/{new_id()}"
            await store.copy(key, own)
            copied.append(NewFile(name, own, found.mime_type, found.size))
    except BaseException:
        await files.remove(request, [c.key for c in copied])
        raise
    return copied


async def claim(
    request: Request,
    api: Api,
    parent: Parent,
    items: Sequence[AttachmentRequest],
    check: Callable[..., Any],
    *args: Any,
    field: str = "attachments",
) -> list[NewFile]:
    """``api.call(check, *args, names, keys)`` (the caller may write the parent; every
    name and key is acceptable), then copy each upload under ``{kind}-comments/``
    (``task-comments/``). Errors name ``{field}.N.key`` (``key`` when ``field`` is empty:
    a single attachment)."""
    if not items:
        return []
    await api.call(check, *args, [i.name for i in items], [i.key for i in items])
    prefix = parent.kind.replace("_", "-") + "-comments"
    uploads = [
        (f"{field}.{n}.key" if field else "key", item.name, item.key)
        for n, item in enumerate(items)
    ]
    return await copy_uploads(request, prefix, uploads)
