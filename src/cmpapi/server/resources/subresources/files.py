"""Claiming comment and attachment files: each upload is copied to a storage key of the
sub-resource's own before the row is saved (as the library does for assets), because a
later upload to the same key must not change a posted comment or attachment. Storage is
async and the services are not, so this runs in the route, after a check that the caller
may write the parent and owns the keys; if saving then fails, ``files.or_remove`` deletes
the copies again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request

from cmpapi.server.db.base import new_id
from cmpapi.server.errors import Invalid
from cmpapi.server.http.deps import Api
from cmpapi.server.resources.library import files
from cmpapi.server.resources.subresources.comments import NewFile
from cmpapi.server.resources.subresources.parent import Parent
from cmpapi.server.storage.base import get_store
from cmpapi.server.storage.inspect import inspect_object
from cmpapi.wire import AttachmentRequest


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
    name and key is acceptable), then copy each upload to a key of its own. A failure
    part-way deletes the copies already made. Errors name ``{field}.N.key`` (``key`` when
    ``field`` is empty: a single attachment); the copies
    are stored under ``{kind}-comments/`` (``task-comments/``)."""
    if not items:
        return []
    await api.call(check, *args, [i.name for i in items], [i.key for i in items])
    store, claimed = get_store(request), []
    prefix = parent.kind.replace("_", "-") + "-comments"
    try:
        for n, item in enumerate(items):
            try:
                found = await inspect_object(store, item.key)
            except Invalid as exc:  # nothing was uploaded with this key
                where = f"{field}.{n}.key" if field else "key"
                raise Invalid(exc.message, {where: exc.message}) from None
            own = f"{prefix}/{new_id()}"
            await store.copy(item.key, own)
            claimed.append(NewFile(item.name, own, found.mime_type, found.size))
    except BaseException:
        await files.remove(request, [c.key for c in claimed])
        raise
    return claimed
