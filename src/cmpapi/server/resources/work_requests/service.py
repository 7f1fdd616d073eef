"""Work requests: listWorkRequests, createWorkRequest, getWorkRequest, updateWorkRequest,
updateWorkRequestFormField, createWorkRequestCreativeAsset, deleteWorkRequestCreativeAsset,
listWorkRequestApprovedAssets, listWorkRequestRelatedResources.

Rules (docs/compat.md, "Work requests"): anyone who may write work requests (members,
admins) creates and changes them, viewers read. A request is filled from an active
template applicable to work requests; its values are checked by the template field's
type (``values.py``). Status moves along ``TRANSITIONS``. Files are claimed by the routes
before a service runs (storage is async), and recorded here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import MISSING
from sqlalchemy import bindparam, case, exists, literal, or_, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id
from cmpapi.server.db.counters import next_number
from cmpapi.server.db.repository import Filters, OrderBy, Page, Repository, lookup
from cmpapi.server.errors import Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.identity.tables import Team, User
from cmpapi.server.resources.subresources.files import NewFile
from cmpapi.server.resources.tasks.asset_tables import TaskAsset
from cmpapi.server.resources.tasks.tables import Task
from cmpapi.server.resources.templates import service as templates
from cmpapi.server.resources.templates.tables import Template
from cmpapi.server.resources.work_requests import events, values
from cmpapi.server.resources.work_requests.tables import (
    WorkRequest,
    WorkRequestFile,
    WorkRequestRelatedResource,
    precise_now,
)
from cmpapi.server.storage.inspect import require_upload_key
from cmpapi.wire import (
    ListWorkRequestsParametersQuery,
    ListWorkRequestsParametersQueryStatus,
    WorkRequestCreateRequest,
    WorkRequestUpdateRequest,
)

# Status changes a work request allows (the same status again is no change).
TRANSITIONS: dict[str, frozenset[str]] = {
    "Submitted": frozenset({"Accepted", "Declined"}),
    "Accepted": frozenset({"Completed", "Declined", "Submitted"}),
    "Declined": frozenset({"Submitted", "Accepted"}),
    "Completed": frozenset({"Accepted"}),
}
PRIORITY_RANK = {"Low": 0, "Medium": 1, "High": 2}
STATUS_RANK = {"Submitted": 0, "Accepted": 1, "Completed": 2, "Declined": 3}
DUE_DATE = "due_date"  # the form field whose value is the request's due date
RESOURCE_TYPES = ("task", "campaign")


class WorkRequestsQuery(ListWorkRequestsParametersQuery):  # type: ignore[misc]
    """The spec types ``created_by`` and ``status`` as one string but documents them as
    repeatable (``status=Submitted&status=Declined``): lists here."""

    created_by: list[str] | MISSING = MISSING
    status: list[ListWorkRequestsParametersQueryStatus] | MISSING = MISSING


@dataclass(slots=True)
class WorkRequestView:
    """A work request with what its answer shows: its template, files, assignees. ``row``
    is a WorkRequest or a ``LIST_COLUMNS`` row; ``template`` and ``files`` are rows of
    ``TEMPLATE_COLUMNS`` / ``FILE_COLUMNS``."""

    row: Any
    template: Any
    files: dict[str, Any] = field(default_factory=dict)
    assignees: list[dict[str, Any]] = field(default_factory=list)


# What a view reads, as module-level columns and clauses (``lookup`` prepares them once).
LIST_COLUMNS = (
    WorkRequest.id,
    WorkRequest.number,
    WorkRequest.template_id,
    WorkRequest.status,
    WorkRequest.priority,
    WorkRequest.form_values,
    WorkRequest.assignees,
    WorkRequest.created_by,
    WorkRequest.created_at,
    WorkRequest.modified_at,
)
TEMPLATE_COLUMNS = (Template.id, Template.title, Template.form_fields)
FILE_COLUMNS = (
    WorkRequestFile.id,
    WorkRequestFile.work_request_id,
    WorkRequestFile.name,
    WorkRequestFile.storage_key,
    WorkRequestFile.mime_type,
)
_IN_A_FIELD = WorkRequestFile.field.is_not(None)
_USER_COLUMNS = (User.id, User.first_name, User.last_name, User.image_url)
_USER_OF_ORG = User.org_id == bindparam("org_id")
_TEAM_COLUMNS = (Team.id, Team.name)
_TEAM_OF_ORG = Team.org_id == bindparam("org_id")


def _views(session: Session, org_id: str, rows: Sequence[Any]) -> list[WorkRequestView]:
    """Views of ``rows`` (the organization's WorkRequests or ``LIST_COLUMNS`` rows),
    loading templates, files and assignees in one prepared read each."""
    if not rows:
        return []
    org = {"org_id": org_id}
    tpl = {
        t.id: t
        for t in lookup(session, TEMPLATE_COLUMNS, Template.id, [r.template_id for r in rows])
    }
    files: dict[str, dict[str, Any]] = {r.id: {} for r in rows}
    for f in lookup(session, FILE_COLUMNS, WorkRequestFile.work_request_id, files, _IN_A_FIELD):
        files[f.work_request_id][f.id] = f
    wanted = [a for r in rows for a in r.assignees]
    user_ids = [a["id"] for a in wanted if a["type"] == "user"]
    team_ids = [a["id"] for a in wanted if a["type"] == "team"]
    users = {
        u.id: u for u in lookup(session, _USER_COLUMNS, User.id, user_ids, _USER_OF_ORG, params=org)
    }
    teams = {
        t.id: t for t in lookup(session, _TEAM_COLUMNS, Team.id, team_ids, _TEAM_OF_ORG, params=org)
    }
    out = []
    for r in rows:
        people = []
        for a in r.assignees:
            if a["type"] == "user" and a["id"] in users:
                u = users[a["id"]]
                name = f"{u.first_name} {u.last_name}".strip()  # User.full_name
                people.append(
                    {"id": u.id, "type": "user", "full_name": name, "image_url": u.image_url}
                )
            elif a["type"] == "team" and a["id"] in teams:
                people.append(
                    {
                        "id": a["id"],
                        "type": "team",
                        "full_name": teams[a["id"]].name,
                        "image_url": None,
                    }
                )
        out.append(WorkRequestView(r, tpl[r.template_id], files[r.id], people))
    return out


def load_work_request(
    session: Session, principal: Principal, work_request_id: str, action: str
) -> WorkRequest:
    """The organization's work request (404) if the caller's role may ``read``/``write``."""
    require(principal, f"work_requests:{action}")
    return Repository(WorkRequest, session, principal.org_id).get(work_request_id)


_RANKED: dict[str, Any] = {
    "priority": case(PRIORITY_RANK, value=WorkRequest.priority),
    "status": case(STATUS_RANK, value=WorkRequest.status),
    "due_date": WorkRequest.due_date,
}


@functools.cache
def _order_of(key: str, ascending: bool) -> tuple[OrderBy, ...]:
    """The sort keys; ties (and requests without a due date, which come last) follow
    ``created_at`` in the same direction. One tuple per choice (``rows`` caches by it)."""
    newest: OrderBy = WorkRequest.created_at if ascending else WorkRequest.created_at.desc()
    column = _RANKED.get(key)
    if column is None:
        return (newest,)
    first = [WorkRequest.due_date.is_(None)] if key == "due_date" else []
    return (*first, column if ascending else column.desc(), newest)


def _order(params: WorkRequestsQuery) -> tuple[OrderBy, ...]:
    key = getattr(params.order_by, "value", "created_at")
    return _order_of(key, getattr(params.order_as, "value", "desc") == "asc")


# Module-level filters with named parameters (lists: expanding parameters).
_FILTERS = (
    ("created_by", WorkRequest.created_by.in_(bindparam("created_by", expanding=True))),
    ("status", WorkRequest.status.in_(bindparam("status", expanding=True))),
    ("template_ids", WorkRequest.template_id.in_(bindparam("template_ids", expanding=True))),
)
_CREATED_FROM = WorkRequest.created_at >= bindparam("created_from")
_CREATED_TO = WorkRequest.created_at <= bindparam("created_to")


def list_work_requests(
    session: Session, principal: Principal, params: WorkRequestsQuery
) -> Page[WorkRequestView]:
    """Newest first unless ``order_by``/``order_as`` say otherwise (default ``desc``);
    ``created_by``, ``status`` and ``template_ids`` take several values; the
    ``created_at`` bounds are inclusive."""
    require(principal, "work_requests:read")
    filters = Filters()
    for name, clause in _FILTERS:
        wanted = getattr(params, name)
        if isinstance(wanted, list) and wanted:
            filters.add(clause, **{name: [str(getattr(w, "value", w)) for w in wanted]})
    if isinstance(params.created_at__from, datetime):
        filters.add(_CREATED_FROM, created_from=params.created_at__from)
    if isinstance(params.created_at__to, datetime):
        filters.add(_CREATED_TO, created_to=params.created_at__to)
    page = Repository(WorkRequest, session, principal.org_id).rows(
        LIST_COLUMNS,
        *filters.where,
        order_by=_order(params),
        offset=params.offset,
        page_size=params.page_size,
        params=filters.values,
    )
    views = _views(session, principal.org_id, page.items)
    return Page(views, page.offset, page.page_size, page.has_next)


def get_work_request(
    session: Session, principal: Principal, work_request_id: str
) -> WorkRequestView:
    """One work request of the organization."""
    wr = load_work_request(session, principal, work_request_id, "read")
    return _views(session, wr.org_id, [wr])[0]


def check_upload_keys(
    session: Session,
    principal: Principal,
    work_request_id: str | None,
    keys: Sequence[tuple[str, str]],
) -> None:
    """Before any file is copied: the caller may write (the work request, when given,
    exists) and every ``(path, key)`` is an upload key of the organization (422 naming
    the path)."""
    if work_request_id is None:
        require(principal, "work_requests:write")
    else:
        load_work_request(session, principal, work_request_id, "write")
    for path, key in keys:
        try:
            require_upload_key(session, principal.org_id, key)
        except Invalid as exc:
            raise Invalid(exc.message, {path: exc.message}) from None


def _file_adder(session: Session, principal: Principal, wr: WorkRequest) -> values.AddFile:
    def add(ident: str, new: NewFile) -> str:
        row = WorkRequestFile(
            id=new_id(),
            org_id=wr.org_id,
            work_request_id=wr.id,
            field=ident,
            name=new.name,
            storage_key=new.key,
            mime_type=new.mime_type,
            size=new.size,
            created_by=principal.user_id,
            created_at=precise_now(),
        )
        session.add(row)
        return row.id

    return add


def _template(session: Session, org_id: str, template_id: str) -> Template:
    """The template to fill: active and applicable to work requests (422 otherwise)."""
    row = Repository(Template, session, org_id).find(Template.id == template_id)
    if row is None or not row.is_active or templates.WORK_REQUEST not in row.applicable_to:
        message = "No active work request template with this id"
        raise Invalid(message, {"template_id": message})
    return row


def _assignees(session: Session, org_id: str, ids: Iterable[str]) -> list[dict[str, str]]:
    """``[{"type", "id"}]`` for user or team ids of the organization (422 naming
    ``assignees.N``); repeated ids count once."""
    wanted = list(dict.fromkeys(ids))
    users = set(
        session.scalars(
            select(User.id).where(
                User.org_id == org_id, User.id.in_(wanted), User.is_active.is_(True)
            )
        )
    )
    teams = set(session.scalars(select(Team.id).where(Team.org_id == org_id, Team.id.in_(wanted))))
    out = []
    for n, ident in enumerate(wanted):
        if ident not in users and ident not in teams:
            raise Invalid("Unknown assignee", {f"assignees.{n}": "No user or team with this id"})
        out.append({"type": "user" if ident in users else "team", "id": ident})
    return out


def _due(form_values: Mapping[str, list[Any]]) -> datetime | None:
    stored = form_values.get(DUE_DATE) or []
    if not stored or not isinstance(stored[0], str):
        return None
    return datetime.fromisoformat(stored[0].replace("Z", "+00:00"))


def _fill(
    session: Session,
    principal: Principal,
    wr: WorkRequest,
    template: Template,
    items: Sequence[Any],
    files: Mapping[str, NewFile],
) -> dict[str, list[Any]]:
    """The form values of a create: every identifier known and given once, its type the
    template field's, its values valid, every required field given."""
    by_id = {f["identifier"]: f for f in templates.value_fields(template)}
    add = _file_adder(session, principal, wr)
    out: dict[str, list[Any]] = {}
    for n, item in enumerate(items):
        ident, type_ = item.identifier, item.type
        spec = by_id.get(ident)
        if spec is None:
            raise Invalid(
                f"Unknown form field {ident!r}",
                {f"form_fields.{n}.identifier": "Not a form field of the template"},
            )
        if ident in out:
            raise Invalid(
                f"Form field {ident!r} given twice",
                {f"form_fields.{n}.identifier": "Given more than once"},
            )
        if type_ != spec["type"]:
            raise Invalid(
                f"Form field {ident!r} is of type {spec['type']}",
                {f"form_fields.{n}.type": f"Expected {spec['type']}"},
            )
        raw = item.model_dump(mode="json")["values"]
        out[ident] = values.checked(spec, raw, f"form_fields.{n}.values", files, add)
    missing = [i for i, f in by_id.items() if f.get("is_required") and not out.get(i)]
    if missing:
        raise Invalid(
            f"Required form fields missing: {', '.join(missing)}",
            {f"form_fields.{i}": "Required" for i in missing},
        )
    return out


def create_work_request(
    session: Session,
    principal: Principal,
    links: Links,
    body: WorkRequestCreateRequest,
    files: Mapping[str, NewFile],
    id_: str | None = None,
) -> WorkRequestView:
    """Create a work request (status Submitted, priority Medium) from a template; the
    creator is the token's user. Records work_request_added. ``id_``: a stable id (demo
    data)."""
    require(principal, "work_requests:write")
    org = principal.org_id
    template = _template(session, org, body.template_id)
    assignees = _assignees(session, org, body.assignees) if isinstance(body.assignees, list) else []
    now = precise_now()
    wr = WorkRequest(
        id=id_ or new_id(),
        org_id=org,
        template_id=template.id,
        assignees=assignees,
        created_by=principal.user_id,
        created_at=now,
        modified_at=now,
        number=next_number(session, org, "work_request"),
        form_values={},
    )
    session.add(wr)
    session.flush()
    items = [f.root for f in body.form_fields]
    wr.form_values = _fill(session, principal, wr, template, items, files)
    wr.due_date = _due(wr.form_values)
    session.flush()
    events.record_added(session, links, wr)
    session.commit()
    return _views(session, wr.org_id, [wr])[0]


def update_work_request(
    session: Session,
    principal: Principal,
    links: Links,
    work_request_id: str,
    body: WorkRequestUpdateRequest,
) -> None:
    """Change the status (along ``TRANSITIONS``; 422 naming ``status`` otherwise), the
    priority, or the assignees (replaced; ``[]`` clears them). Records
    work_request_modified naming what changed; a request that changes nothing records
    nothing."""
    wr = load_work_request(session, principal, work_request_id, "write")
    changed: list[str] = []
    status = getattr(body.status, "value", None)
    if status is not None and status != wr.status:
        if status not in TRANSITIONS[wr.status]:
            allowed = ", ".join(sorted(TRANSITIONS[wr.status]))
            raise Invalid(
                f"A {wr.status} work request cannot become {status}",
                {"status": f"From {wr.status}: {allowed}"},
            )
        wr.status = status
        changed.append("status")
    priority = getattr(body.priority, "value", None)
    if priority is not None and priority != wr.priority:
        wr.priority = priority
        changed.append("priority")
    if isinstance(body.assignees, list):
        assignees = _assignees(session, wr.org_id, body.assignees)
        if assignees != wr.assignees:
            wr.assignees = assignees
            changed.append("assignees")
    if changed:
        wr.modified_at = precise_now()
        events.record_modified(session, links, wr, changed)
    session.commit()


def update_work_request_form_field(
    session: Session,
    principal: Principal,
    links: Links,
    work_request_id: str,
    identifier: str,
    type_: str,
    raw_values: list[Any],
    files: Mapping[str, NewFile],
) -> tuple[WorkRequestView, dict[str, Any], list[str]]:
    """Replace one form field's values (404 for an identifier the template has no value
    field for; 422 naming ``type`` or ``values.N``). Returns the view, the template field
    and the storage keys of the files the field no longer holds, for the caller to delete
    once the change is committed."""
    wr = load_work_request(session, principal, work_request_id, "write")
    template = session.get(Template, wr.template_id)
    spec = (
        next((f for f in templates.value_fields(template) if f["identifier"] == identifier), None)
        if template is not None
        else None
    )
    if template is None or spec is None:
        raise NotFound("Form field not found", {"form_field_identifier": "Not in the template"})
    if type_ != spec["type"]:
        raise Invalid(
            f"Form field {identifier!r} is of type {spec['type']}",
            {"type": f"Expected {spec['type']}"},
        )
    before = wr.form_values.get(identifier, [])
    new = values.checked(spec, raw_values, "values", files, _file_adder(session, principal, wr))
    gone: list[str] = []
    if new != before:
        gone = _forget_files(session, wr, identifier, new)
        wr.form_values = {**wr.form_values, identifier: new}
        wr.due_date = _due(wr.form_values)
        wr.modified_at = precise_now()
        events.record_modified(session, links, wr, ["form_fields"])
    session.flush()
    session.commit()
    return _views(session, wr.org_id, [wr])[0], spec, gone


def _forget_files(session: Session, wr: WorkRequest, identifier: str, kept: list[Any]) -> list[str]:
    """Delete the file rows of ``identifier`` that the new values no longer hold; their
    storage keys (the objects go only after the commit: the change may yet roll back)."""
    keep = {v if isinstance(v, str) else v.get("file_id") for v in kept}
    gone = []
    for row in session.scalars(
        select(WorkRequestFile).where(
            WorkRequestFile.work_request_id == wr.id, WorkRequestFile.field == identifier
        )
    ):
        if row.id not in keep and row not in session.new:
            gone.append(row.storage_key)
            session.delete(row)
    return gone


def create_work_request_creative_asset(
    session: Session, principal: Principal, work_request_id: str, new: NewFile
) -> WorkRequestFile:
    """Add a creative asset (a file claimed from an upload key) to a work request."""
    wr = load_work_request(session, principal, work_request_id, "write")
    name = new.name.strip()
    if not name or len(name) > values.MAX_NAME:
        raise Invalid("Invalid name", {"name": f"1 to {values.MAX_NAME} characters"})
    row = WorkRequestFile(
        id=new_id(),
        org_id=wr.org_id,
        work_request_id=wr.id,
        field=None,
        name=name,
        storage_key=new.key,
        mime_type=new.mime_type,
        size=new.size,
        created_by=principal.user_id,
        created_at=precise_now(),
    )
    session.add(row)
    session.commit()
    return row


def delete_work_request_creative_asset(
    session: Session, principal: Principal, work_request_id: str, creative_asset_id: str
) -> str:
    """Delete a creative asset of a work request (404 for an id that is not one of its
    creative assets); returns the storage key, for the caller to delete after commit."""
    wr = load_work_request(session, principal, work_request_id, "write")
    row = session.scalars(
        select(WorkRequestFile).where(
            WorkRequestFile.org_id == wr.org_id,
            WorkRequestFile.work_request_id == wr.id,
            WorkRequestFile.id == creative_asset_id,
            WorkRequestFile.field.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound("Creative asset not found")
    key = row.storage_key
    session.delete(row)
    session.commit()
    return key


def add_related_resource(
    session: Session,
    work_request: WorkRequest,
    kind: str,
    resource_id: str,
    relation_type: str = "started",
) -> WorkRequestRelatedResource:
    """Link a task or campaign (``kind``) to a work request, in the caller's transaction
    (added and flushed, not committed). createTaskFromWorkRequest and
    createCampaignFromWorkRequest call it with ``relation_type="started"``."""
    if kind not in RESOURCE_TYPES:
        raise ValueError(f"unknown related resource type {kind!r}")
    if relation_type not in ("started", "linked"):
        raise ValueError(f"unknown relation type {relation_type!r}")
    row = WorkRequestRelatedResource(
        id=new_id(),
        org_id=work_request.org_id,
        work_request_id=work_request.id,
        resource_type=kind,
        resource_id=resource_id,
        relation_type=relation_type,
        created_at=precise_now(),
    )
    session.add(row)
    session.flush()
    return row


# What a page of related resources reads, as module-level columns and clauses
# (``Repository.rows`` prepares them once; the work request goes in ``params``).
RELATED_COLUMNS = (
    WorkRequestRelatedResource.id,
    WorkRequestRelatedResource.resource_type,
    WorkRequestRelatedResource.resource_id,
    WorkRequestRelatedResource.relation_type,
    WorkRequestRelatedResource.created_at,
)
_RELATED_TO = WorkRequestRelatedResource.work_request_id == bindparam("work_request_id")
_STILL_THERE = or_(
    WorkRequestRelatedResource.resource_type != "task",
    exists().where(Task.id == WorkRequestRelatedResource.resource_id),
)  # a task deleted in the web app (ext/web_app.py) is no longer related
_RELATED_IN_ORDER = (WorkRequestRelatedResource.created_at,)


def list_work_request_related_resources(
    session: Session, principal: Principal, work_request_id: str, offset: int, page_size: int
) -> Page[Any]:
    """The tasks and campaigns of a work request, oldest first (rows of
    ``RELATED_COLUMNS``). The spec declares no 404 here: an unknown work request (or
    another organization's) lists nothing."""
    require(principal, "work_requests:read")
    return Repository(WorkRequestRelatedResource, session, principal.org_id).rows(
        RELATED_COLUMNS,
        _RELATED_TO,
        _STILL_THERE,
        order_by=_RELATED_IN_ORDER,
        offset=offset,
        page_size=page_size,
        params={"work_request_id": work_request_id},
    )


# What a page of approved assets reads: the assets of the work request's tasks, of the
# types listed (bound as constants, not an expanding list: the statement is prepared).
APPROVED_COLUMNS = (
    TaskAsset.id,
    TaskAsset.type,
    TaskAsset.title,
    TaskAsset.mime_type,
    TaskAsset.file_extension,
    TaskAsset.storage_key,
    TaskAsset.html_body,
)
_OF_ITS_TASKS = TaskAsset.task_id.in_(
    select(WorkRequestRelatedResource.resource_id).where(
        _RELATED_TO, WorkRequestRelatedResource.resource_type == "task"
    )
)
_APPROVED_TYPES = TaskAsset.type.in_(
    [literal(t) for t in ("article", "image", "video", "raw_file")]
)
_ADDED_IN_ORDER = (TaskAsset.created_at,)


def list_work_request_approved_assets(
    session: Session, principal: Principal, work_request_id: str, offset: int, page_size: int
) -> Page[Any]:
    """The assets of the tasks related to the work request, oldest first (cmpapi has no
    per-asset approval yet: docs/compat.md); rows of ``APPROVED_COLUMNS``."""
    wr = load_work_request(session, principal, work_request_id, "read")
    return Repository(TaskAsset, session, wr.org_id).rows(
        APPROVED_COLUMNS,
        _OF_ITS_TASKS,
        _APPROVED_TYPES,
        order_by=_ADDED_IN_ORDER,
        offset=offset,
        page_size=page_size,
        params={"work_request_id": wr.id},
    )
