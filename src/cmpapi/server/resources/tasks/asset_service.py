"""Task assets: addAssetToTask (a direct upload, or a fork of a library asset),
listTaskAssets, getTaskImage/Video/RawFile/Article, listTaskAssetDrafts, addDraftToTaskAsset,
listTaskAssetFields and updateTaskAssetFields.

Operations that take a file run in three steps, because copying bytes is storage work that
must not hold a database session: ``check_*`` (task, asset, key: refused before any copy),
the route copies the object (``library.files.claim`` / ``duplicate``), then the operation
itself writes every row and event in one transaction. When that fails the route deletes the
copy, so a refused request leaves neither rows nor objects behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.repository import Page, Repository
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.resources.fields import values
from cmpapi.server.resources.fields.values import FieldValues
from cmpapi.server.resources.labels.service import load_label_names, resource_labels
from cmpapi.server.resources.library import asset_fields as library_fields
from cmpapi.server.resources.library import assets as library
from cmpapi.server.resources.publishing import service as publishing
from cmpapi.server.resources.tasks import asset_events as events
from cmpapi.server.resources.tasks.asset_tables import (
    ARTICLE,
    FILE_TYPES,
    STRUCTURED_CONTENT,
    TaskAsset,
    TaskAssetDraft,
    TaskAssetUploadKey,
    precise_now,
)
from cmpapi.server.resources.tasks.service import load_task
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.server.storage.inspect import Kind, UploadedFile, require_upload_key
from cmpapi.wire import (
    ResourceLabelResponse,
    TaskAssetRequestForDirectUpload,
    TaskAssetRequestForLibrary,
)

OWNER = "task_asset"  # owner_type of task assets' field values
KEY_USED = "This upload key was already used for a task asset, draft or attachment"
OLDEST_FIRST = (TaskAsset.created_at,)


@dataclass(frozen=True, slots=True)
class TaskAssetView:
    """A task asset (a TaskAsset or a ``LIST_COLUMNS`` row) with its labels as the wire
    shows them."""

    row: Any
    labels: list[ResourceLabelResponse]


@dataclass(frozen=True, slots=True)
class LibrarySource:
    """What a fork copies from a library asset: read before its file is copied."""

    id: str
    type: str
    title: str
    html_body: str | None
    file: UploadedFile | None  # ``key``: the library asset's object
    label_ids: list[str]


# -- loading -----------------------------------------------------------------------------


def writable_task(session: Session, principal: Principal, task_id: str) -> Task:
    """The task, if the caller may change it and it is not archived."""
    task = load_task(session, principal, task_id, "write")
    if task.is_archived:
        raise Invalid("The task is archived", {"id": "Archived tasks cannot change"})
    return task


def load_asset(
    session: Session,
    principal: Principal,
    task_id: str,
    asset_id: str,
    action: str,
    type_: str | None = None,
) -> TaskAsset:
    """An asset of the task (404 when it is not, or not of ``type_``); ``action`` is
    ``read`` or ``write`` (writes also need a task that is not archived)."""
    if action == "write":
        task = writable_task(session, principal, task_id)
    else:
        task = load_task(session, principal, task_id, action)
    return asset_of(session, task, asset_id, type_)


def asset_of(session: Session, task: Task, asset_id: str, type_: str | None = None) -> TaskAsset:
    """An asset of ``task`` (404 when it is not, or not of ``type_``)."""
    asset = Repository(TaskAsset, session, task.org_id).find(
        TaskAsset.id == asset_id, TaskAsset.task_id == task.id
    )
    if asset is None or (type_ is not None and asset.type != type_):
        raise NotFound()
    return asset


def views(session: Session, assets: Sequence[Any], org_id: str = "") -> list[TaskAssetView]:
    """Attach label names to a page of assets (TaskAssets, or ``LIST_COLUMNS`` rows of the
    organization ``org_id``), in one query."""
    org_id = org_id or (assets[0].org_id if assets else "")
    names = load_label_names(session, org_id, (v for a in assets for v in a.labels or []))
    return [TaskAssetView(a, resource_labels(a.labels or [], names)) for a in assets]


# -- upload keys -------------------------------------------------------------------------


def check_key(session: Session, org_id: str, key: str, field: str = "key") -> None:
    """Invalid (naming ``field``) unless ``key`` was issued to the organization and no task
    asset, draft or attachment consumed it yet."""
    try:
        require_upload_key(session, org_id, key)
    except Invalid as exc:
        raise Invalid(exc.message, {field: exc.message}) from None
    if session.get(TaskAssetUploadKey, key) is not None:
        raise Invalid(KEY_USED, {field: KEY_USED})


def consume_key(session: Session, org_id: str, key: str, used_by: str, field: str = "key") -> None:
    """Record ``key`` as used, first thing in the transaction: a concurrent request that
    consumed it first makes this one fail here, before any other row is written."""
    check_key(session, org_id, key, field)
    session.add(TaskAssetUploadKey(key=key, org_id=org_id, used_by=used_by))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Invalid(KEY_USED, {field: KEY_USED}) from None


# -- addAssetToTask ----------------------------------------------------------------------


def check_direct_upload(session: Session, principal: Principal, task_id: str, key: str) -> None:
    """Before copying an upload: the task is writable and the key usable."""
    writable_task(session, principal, task_id)
    check_key(session, principal.org_id, key)


def _draft(asset: TaskAsset, number: int, title: str, file: UploadedFile, user: str) -> Any:
    return TaskAssetDraft(
        id=new_id(),
        org_id=asset.org_id,
        task_id=asset.task_id,
        asset_id=asset.id,
        draft_number=number,
        title=title,
        **file.columns(),
        created_by=user,
        created_at=utcnow(),
    )


def _new_asset(task: Task, principal: Principal, type_: str, title: str) -> TaskAsset:
    now = precise_now()
    return TaskAsset(
        id=new_id(),
        org_id=task.org_id,
        task_id=task.id,
        type=type_,
        title=title,
        mime_type="text/html",
        file_size=0,
        labels=[],
        draft_count=0,
        created_by=principal.user_id,
        created_at=now,
        modified_at=now,
    )


def _set_file(asset: TaskAsset, file: UploadedFile) -> None:
    """The asset's file, not its type (set when the asset is made)."""
    for column, value in file.columns().items():
        if column != "type":
            setattr(asset, column, value)


def add_asset_to_task(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    title: str,
    file: UploadedFile,
    key: str,
) -> TaskAssetView:
    """addAssetToTask with an upload: an image, video or raw file (from the bytes) whose
    draft 1 is the uploaded file (``file.key`` is the copy made for it)."""
    task = writable_task(session, principal, task_id)
    asset = _new_asset(task, principal, file.kind, title)
    consume_key(session, task.org_id, key, asset.id)
    _set_file(asset, file)
    asset.draft_count = 1
    session.add(asset)
    session.flush()
    session.add(_draft(asset, 1, title, file, principal.user_id))
    session.flush()
    events.record_asset_added(session, links, asset)
    view = views(session, [asset])[0]
    session.commit()
    return view


def fork_source(
    session: Session, principal: Principal, task_id: str, content_id: str, content_type: str
) -> LibrarySource:
    """Before copying a library asset's file: the task is writable and the caller may view
    the asset (403 otherwise, as the library answers); unknown ids or another type are 404
    naming ``content_id``. Structured content is not supported (422)."""
    writable_task(session, principal, task_id)
    if content_type not in (ARTICLE, *FILE_TYPES):
        raise Invalid(
            f"{content_type} cannot be forked into a task: cmpapi supports article, image, "
            "video and raw_file",
            {"content_type": "Not supported"},
        )
    try:
        view = library.get_asset(session, principal, content_type, content_id)
    except NotFound:
        message = f"No library {content_type.replace('_', ' ')} has this id"
        raise NotFound("Library asset not found", {"content_id": message}) from None
    row = view.row
    file = None
    if row.type != ARTICLE and row.storage_key:
        file = UploadedFile(
            key=row.storage_key,
            size=row.file_size,
            mime_type=row.mime_type,
            file_extension=row.file_extension,
            kind=cast(Kind, row.type),
            width=row.width,
            height=row.height,
        )
    labels = [v["id"] for label in view.labels for v in label["values"]]
    return LibrarySource(row.id, row.type, row.title, row.html_body, file, labels)


def fork_library_asset(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    source: LibrarySource,
    copied_key: str | None,
) -> TaskAssetView:
    """addAssetToTask from the library: a task asset holding a copy of the library asset's
    file (``copied_key``), title, labels and field values; the library asset is unchanged."""
    task = writable_task(session, principal, task_id)
    asset = _new_asset(task, principal, source.type, source.title)
    asset.library_asset_id, asset.labels = source.id, list(source.label_ids)
    if source.file is not None and copied_key is not None:
        file = replace(source.file, key=copied_key)
        _set_file(asset, file)
        asset.draft_count = 1
        session.add(asset)
        session.flush()
        session.add(_draft(asset, 1, source.title, file, principal.user_id))
    else:
        asset.html_body = source.html_body or ""
        session.add(asset)
    session.flush()
    copied = values.owner_field_values(session, task.org_id, library_fields.OWNER, source.id)
    values.replace_field_values(session, task.org_id, OWNER, asset.id, copied)
    events.record_asset_added(session, links, asset)
    view = views(session, [asset])[0]
    session.commit()
    return view


# -- reading -----------------------------------------------------------------------------


# What a page of assets reads, as module-level columns and clauses (``Repository.rows``
# prepares them once; the task goes in ``params``).
LIST_COLUMNS = (
    TaskAsset.id,
    TaskAsset.task_id,
    TaskAsset.type,
    TaskAsset.title,
    TaskAsset.mime_type,
    TaskAsset.file_extension,
    TaskAsset.storage_key,
    TaskAsset.html_body,
    TaskAsset.labels,
    TaskAsset.library_asset_id,
    TaskAsset.created_at,
    TaskAsset.modified_at,
)
_OF_TASK = TaskAsset.task_id == bindparam("task_id")


def list_task_assets(
    session: Session, principal: Principal, task_id: str, offset: int, size: int
) -> tuple[Page[Any], list[TaskAssetView]]:
    """The task's assets in the order they were added (rows of ``LIST_COLUMNS``)."""
    task = load_task(session, principal, task_id, "read")
    page = Repository(TaskAsset, session, principal.org_id).rows(
        LIST_COLUMNS,
        _OF_TASK,
        order_by=OLDEST_FIRST,
        offset=offset,
        page_size=size,
        params={"task_id": task.id},
    )
    return page, views(session, page.items, principal.org_id)


def get_task_asset(
    session: Session, principal: Principal, task_id: str, asset_id: str, type_: str
) -> TaskAssetView:
    """getTaskImage / getTaskVideo / getTaskRawFile / getTaskArticle."""
    return views(session, [load_asset(session, principal, task_id, asset_id, "read", type_)])[0]


def get_task_article(
    session: Session, principal: Principal, task_id: str, article_id: str
) -> tuple[TaskAssetView, str | None]:
    """getTaskArticle: the article and its public URL (where it is published, from the
    publishing metadata the integration posted; None until then)."""
    view = get_task_asset(session, principal, task_id, article_id, ARTICLE)
    return view, publishing.public_url(session, principal.org_id, article_id)


# -- drafts ------------------------------------------------------------------------------


def _with_drafts(asset: TaskAsset) -> TaskAsset:
    if asset.type not in FILE_TYPES:
        # A structured content's drafts are fields versions: createTaskStructuredContentDraft.
        kind = "A structured content" if asset.type == STRUCTURED_CONTENT else "An article"
        raise Invalid("Drafts exist only for images, videos and raw files", {"asset_id": kind})
    return asset


def check_new_draft(
    session: Session,
    principal: Principal,
    task_id: str,
    asset_id: str,
    body: TaskAssetRequestForDirectUpload | TaskAssetRequestForLibrary,
) -> TaskAssetRequestForDirectUpload:
    """Before copying an upload: the asset takes drafts, the request is an upload (a draft
    is not forked from the library) and its key is usable."""
    _with_drafts(load_asset(session, principal, task_id, asset_id, "write"))
    if not isinstance(body, TaskAssetRequestForDirectUpload):
        raise Invalid(
            "Drafts are added from uploads: give type direct_upload with a key and a title",
            {"type": "Only direct_upload makes drafts"},
        )
    check_key(session, principal.org_id, body.key)
    return body


def latest_draft(session: Session, asset: TaskAsset) -> TaskAssetDraft | None:
    """The asset's newest draft (None for articles)."""
    return session.scalar(
        select(TaskAssetDraft).where(
            TaskAssetDraft.asset_id == asset.id, TaskAssetDraft.draft_number == asset.draft_count
        )
    )


def add_draft_to_task_asset(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    asset_id: str,
    title: str,
    file: UploadedFile,
    key: str,
) -> tuple[TaskAsset, TaskAssetDraft]:
    """A new draft: the next number, the asset's file and title follow it. The file must
    be of the asset's type (an image asset stays an image: its URLs stay valid)."""
    asset = _with_drafts(load_asset(session, principal, task_id, asset_id, "write"))
    if file.kind != asset.type:
        message = f"The file is a {file.kind.replace('_', ' ')}; this asset is a {asset.type}"
        raise Invalid(message, {"key": message})
    consume_key(session, asset.org_id, key, asset.id)
    # Incremented in SQL: concurrent drafts of one asset serialize on the row.
    asset.draft_count = TaskAsset.draft_count + 1
    session.flush()
    draft = _draft(asset, asset.draft_count, title, file, principal.user_id)
    session.add(draft)
    changed = ["title", "versions"] if title != asset.title else ["versions"]
    asset.title = title
    _set_file(asset, file)
    asset.modified_at = utcnow()
    session.flush()
    events.record_draft_added(session, links, asset)
    events.record_asset_modified(session, links, asset, changed)
    session.commit()
    return asset, draft


# What a page of drafts reads (``Repository.rows`` prepares it once).
DRAFT_COLUMNS = (
    TaskAssetDraft.id,
    TaskAssetDraft.draft_number,
    TaskAssetDraft.type,
    TaskAssetDraft.title,
    TaskAssetDraft.mime_type,
    TaskAssetDraft.file_extension,
    TaskAssetDraft.storage_key,
    TaskAssetDraft.created_at,
)
_DRAFT_OF_ASSET = TaskAssetDraft.asset_id == bindparam("asset_id")
FIRST_DRAFT_FIRST = (TaskAssetDraft.draft_number,)


def list_task_asset_drafts(
    session: Session, principal: Principal, task_id: str, asset_id: str, offset: int, size: int
) -> tuple[TaskAsset, Page[Any]]:
    """The asset's drafts, draft 1 first (articles have none): rows of
    ``DRAFT_COLUMNS``."""
    asset = load_asset(session, principal, task_id, asset_id, "read")
    page = Repository(TaskAssetDraft, session, principal.org_id).rows(
        DRAFT_COLUMNS,
        _DRAFT_OF_ASSET,
        order_by=FIRST_DRAFT_FIRST,
        offset=offset,
        page_size=size,
        params={"asset_id": asset.id},
    )
    return asset, page


# -- fields ------------------------------------------------------------------------------


def list_task_asset_fields(
    session: Session, principal: Principal, task_id: str, asset_id: str, offset: int, size: int
) -> Page[FieldValues]:
    """The asset's field values (active fields), in the order they were set."""
    asset = load_asset(session, principal, task_id, asset_id, "read")
    return values.list_field_values(session, principal.org_id, OWNER, asset.id, offset, size)


def _snapshot(items: list[FieldValues]) -> list[tuple[str, list[Any]]]:
    return [(fv.field.id, list(fv.values)) for fv in items]


def update_task_asset_fields(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    asset_id: str,
    items: list[Any],
) -> None:
    """Replace the asset's field values, with the library's value rules; a change records
    task_asset_modified (``attributes_changed: ["fields"]``)."""
    asset = load_asset(session, principal, task_id, asset_id, "write")
    org = principal.org_id
    checked = values.validate_field_values(session, org, values.inputs_from_items(items))
    before = _snapshot(values.owner_field_values(session, org, OWNER, asset.id))
    values.replace_field_values(session, org, OWNER, asset.id, checked)
    if _snapshot(checked) != before:
        asset.modified_at = utcnow()
        events.record_asset_modified(session, links, asset, ["fields"])
    session.commit()
