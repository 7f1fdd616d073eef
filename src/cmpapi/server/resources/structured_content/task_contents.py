"""A task's structured contents (tag "Tasks"): addStructuredContentToTask,
getTaskStructuredContent, updateTaskStructuredContent, deleteTaskStructuredContent and
createTaskStructuredContentDraft.

A task's content is a ``Content`` with ``task_id`` set (the content service,
``contents.py``, validates and stores it) plus a ``TaskAsset`` row of type
``structured_content`` with the same id: listTaskAssets shows it among the task's assets
and the task asset events name it (``tasks/asset_events.py``: ``task_asset_added``,
``task_asset_modified``, ``task_asset_removed``, their ``asset.links.self`` pointing at
getTaskStructuredContent). The two rows are written in one transaction; the asset row's
title and ``modified_at`` follow the content.

Task bodies are flat (``fields``, ``title``, ``content_type_guid`` at the root), where the
content service names paths under ``content_body``: ``_rooted`` renames them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import utcnow
from cmpapi.server.db.repository import Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.structured_content import contents
from cmpapi.server.resources.structured_content.contents import ContentPatch, ContentView
from cmpapi.server.resources.structured_content.tables import Content, ContentType
from cmpapi.server.resources.tasks import asset_events as events
from cmpapi.server.resources.tasks.asset_service import writable_task
from cmpapi.server.resources.tasks.asset_tables import STRUCTURED_CONTENT, TaskAsset, precise_now
from cmpapi.server.resources.tasks.service import load_task
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.wire import (
    MISSING,
    TaskStructuredContentCreateRequest,
    TaskStructuredContentUpdateRequest,
)

MIME_TYPE = "application/json"  # what listTaskAssets shows as a structured content's type
ROOT = "content_body"  # where the content service names paths
# updateTaskStructuredContent's metadata keys (``fields`` and ``primary_locale`` apart)
_META = ("title", "expired", "expiry_datetime", "source", "source_id", "source_metadata")
# a new fields version shows in task_asset_modified as "versions", as a file draft does
VERSIONS = "versions"


@contextmanager
def _rooted(rename: Mapping[str, str] | None = None) -> Iterator[None]:
    """Errors the content service names ``content_body.<path>`` renamed ``<path>`` (or as
    ``rename`` maps a prefix: the draft's values)."""
    try:
        yield
    except Invalid as exc:
        if not exc.errors:
            raise
        raise Invalid(
            exc.message, {_renamed(k, rename): v for k, v in exc.errors.items()}
        ) from None


def _renamed(key: str, rename: Mapping[str, str] | None) -> str:
    for prefix, target in (rename or {}).items():
        if key == prefix or key.startswith(prefix + "."):
            return target + key[len(prefix) :]
    return key.removeprefix(ROOT + ".")


# -- loading -----------------------------------------------------------------------------


def task_content(session: Session, task: Task, content_id: str) -> ContentView:
    """The task's content ``content_id`` (404 when the task has no such content)."""
    found = Repository(Content, session, task.org_id).find(
        Content.id == content_id, Content.task_id == task.id
    )
    if found is None:
        raise NotFound("Structured content not found")
    return contents.view_of(session, found)


def _asset_row(session: Session, view: ContentView) -> TaskAsset:
    asset = session.get(TaskAsset, view.content.id)
    if asset is None:  # pragma: no cover - written together with the content
        raise NotFound("Structured content not found")
    return asset


def get_task_structured_content(
    session: Session, principal: Principal, task_id: str, content_id: str
) -> ContentView:
    """getTaskStructuredContent."""
    return task_content(session, load_task(session, principal, task_id, "read"), content_id)


# -- addStructuredContentToTask ----------------------------------------------------------


def _given(value: Any) -> Any:
    return None if value is MISSING else value


def _default_title(session: Session, org_id: str, type_id: str) -> str:
    """A content added without a title is named after its content type (an unknown type
    is refused by the content service, naming ``content_type_guid``)."""
    found = Repository(ContentType, session, org_id).find(ContentType.id == type_id)
    return found.name if found is not None else "Untitled"


def _new_content(
    session: Session, org_id: str, body: TaskStructuredContentCreateRequest, raw_fields: Any
) -> contents.NewContent:
    title = _given(body.title)
    return contents.NewContent(
        content_type_id=body.content_type_guid,
        title=_default_title(session, org_id, body.content_type_guid) if title is None else title,
        fields=raw_fields,
        root_content=True if body.root_content is MISSING else body.root_content,
        expired=bool(_given(body.expired)),
        expiry_datetime=_given(body.expiry_datetime),
        source=_given(body.source),
        source_id=_given(body.source_id),
        source_metadata=_given(body.source_metadata),
        template_guid=_given(body.template_guid),
        primary_locale=_given(body.primary_locale),
    )


def add_structured_content_to_task(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    body: TaskStructuredContentCreateRequest,
    raw_fields: Any,
    content_id: str | None = None,
) -> ContentView:
    """A new content of the task, validated against the latest version of its content
    type (``raw_fields``: the body's ``fields`` as sent); records task_asset_added.
    ``content_id``: its id (the demo's are stable)."""
    task = writable_task(session, principal, task_id)
    with _rooted():
        new = _new_content(session, task.org_id, body, raw_fields)
        view = contents.create_content(
            session, task.org_id, principal.user_id, new, content_id=content_id, task_id=task.id
        )
    now = precise_now()
    asset = TaskAsset(
        id=view.content.id,
        org_id=task.org_id,
        task_id=task.id,
        type=STRUCTURED_CONTENT,
        title=view.content.title,
        mime_type=MIME_TYPE,
        file_size=0,
        labels=[],
        draft_count=0,
        created_by=principal.user_id,
        created_at=now,
        modified_at=now,
    )
    session.add(asset)
    session.flush()
    events.record_asset_added(session, links, asset)
    session.commit()
    return view


# -- updateTaskStructuredContent ---------------------------------------------------------


def _patch(view: ContentView, body: TaskStructuredContentUpdateRequest, raw: Any) -> ContentPatch:
    """The body as a ``ContentPatch``: keys given (``null`` clears a nullable one). A new
    primary locale re-checks the stored fields (a non-internationalized field must hold
    its value in the primary locale)."""
    values: dict[str, Any] = {}
    for key in _META:
        value = getattr(body, key)
        if value is not MISSING:
            values[key] = value
    fields = raw
    locale = body.primary_locale
    if locale is not MISSING and locale != view.content.primary_locale:
        values["primary_locale"] = contents.check_locale(view.version, locale, "primary_locale")
        fields = {} if fields is None else fields
    return ContentPatch(values, fields)


def _changed(view: ContentView, patch: ContentPatch) -> list[str]:
    content = view.content
    return [key for key, value in patch.values.items() if getattr(content, key) != value]


def _apply(
    session: Session,
    links: Links,
    principal: Principal,
    view: ContentView,
    patch: ContentPatch,
    rename: Mapping[str, str] | None = None,
) -> ContentView:
    """Change the content; when anything changed, the asset row follows and
    task_asset_modified names what (``versions`` for a new fields version)."""
    changed = _changed(view, patch)
    with _rooted(rename):
        updated, new_version = contents.update_content(session, view, principal.user_id, patch)
    if new_version:
        changed.append(VERSIONS)
    if changed:
        asset = _asset_row(session, updated)
        asset.title = updated.content.title
        asset.modified_at = utcnow()
        session.flush()
        events.record_asset_modified(session, links, asset, changed)
    session.commit()
    return updated


def update_task_structured_content(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    content_id: str,
    body: TaskStructuredContentUpdateRequest,
    raw_fields: Any,
) -> ContentView:
    """Change the content's metadata and fields (``raw_fields``: the body's ``fields`` as
    sent, with the PATCH semantics of ``contents.merge_fields``)."""
    task = writable_task(session, principal, task_id)
    contents.lock(session, content_id)
    view = task_content(session, task, content_id)
    with _rooted():
        patch = _patch(view, body, raw_fields)
    return _apply(session, links, principal, view, patch)


# -- deleteTaskStructuredContent ---------------------------------------------------------


def delete_task_structured_content(
    session: Session, principal: Principal, links: Links, task_id: str, content_id: str
) -> None:
    """Remove the content (its fields versions and previews go with it) and its asset
    row; records task_asset_removed."""
    view = task_content(session, writable_task(session, principal, task_id), content_id)
    asset = _asset_row(session, view)
    events.record_asset_removed(session, links, asset)
    session.delete(asset)
    session.delete(view.content)
    session.commit()


# -- createTaskStructuredContentDraft ----------------------------------------------------


def _draft_fields(view: ContentView, body: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The draft's ``content_body`` (``{"locale", "field_values"}``, each value naming its
    field with ``key``) as a ``StructuredContentFields`` patch of that locale, and the
    error-path renames from the merged fields back to the body (docs/compat.md)."""
    keys = [d["core"]["key"] for d in view.version.field_definitions]
    locale, values = body.get("locale"), body.get("field_values")
    if not isinstance(values, list) or not values:
        raise Invalid("Invalid draft", {"content_body.field_values": "Give at least one value"})
    grouped: dict[str, list[tuple[int, Any]]] = {}
    errors: dict[str, str] = {}
    for n, value in enumerate(values):
        key = value.get("key") if isinstance(value, dict) else None
        if key is None and len(keys) == 1:
            key = keys[0]
        if not isinstance(key, str) or key not in keys:
            errors[f"content_body.field_values.{n}.key"] = f"Name the field, one of {keys}"
            continue
        grouped.setdefault(key, []).append((n, {k: v for k, v in value.items() if k != "key"}))
    if errors:
        raise Invalid("Invalid draft", errors)
    rename: dict[str, str] = {}
    for key, given in grouped.items():
        stored = [e["locale"] for e in view.fields_version.fields.get(key, [])]
        entry = f"{ROOT}.fields.{key}.{stored.index(locale) if locale in stored else len(stored)}"
        for j, (n, _) in enumerate(given):
            rename[f"{entry}.field_values.{j}"] = f"content_body.field_values.{n}"
        rename[f"{entry}.locale"] = "content_body.locale"
        rename[f"{entry}.field_values"] = rename[entry] = rename[f"{ROOT}.fields.{key}"] = (
            "content_body.field_values"
        )
    patch = {
        key: [{"locale": locale, "field_values": [v for _, v in given]}]
        for key, given in grouped.items()
    }
    return patch, rename


def create_task_structured_content_draft(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    content_id: str,
    raw_body: Any,
) -> ContentView:
    """A draft: a new fields version in which the values of one locale of the named
    fields are replaced (validated as an update is); records task_asset_modified
    (``versions``). ``raw_body`` is the request body as sent."""
    task = writable_task(session, principal, task_id)
    contents.lock(session, content_id)
    view = task_content(session, task, content_id)
    fields, rename = _draft_fields(view, raw_body["content_body"])
    return _apply(session, links, principal, view, ContentPatch({}, fields), rename)
