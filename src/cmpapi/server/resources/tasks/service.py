"""Tasks and their workflow: createTask, getTask, listTasks, updateTask, updateTaskStep,
getTaskSubStep, updateTaskSubStep, get/updateTaskSubStepExternalWork.

Service functions are named after the operations and take ``(session, principal, ...)``;
each commits its change together with its webhook events. Other task modules (assets,
comments, fields) load tasks with ``load_task`` / ``load_flow``.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import MISSING
from sqlalchemy import ColumnElement, and_, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from cmpapi.server.authz import Principal, require
from cmpapi.server.db.base import new_id, utcnow
from cmpapi.server.db.counters import made, next_number
from cmpapi.server.db.repository import Filters, Page, Repository
from cmpapi.server.db.search import SEEK, WALK, sorted_matches, title_match
from cmpapi.server.errors import Forbidden, Invalid, NotFound
from cmpapi.server.http.links import Links
from cmpapi.server.identity.tables import Team, User
from cmpapi.server.oauth.tables import OAuthApp
from cmpapi.server.resources.campaigns.service import require_campaign
from cmpapi.server.resources.labels.service import (
    load_label_names,
    validate_resource_labels,
)
from cmpapi.server.resources.publishing import loop as publishing
from cmpapi.server.resources.subresources.tables import Brief, Comment
from cmpapi.server.resources.tasks import events
from cmpapi.server.resources.tasks.engine import Actor, Flow, Transition
from cmpapi.server.resources.tasks.tables import (
    IN_PROGRESS,
    NOT_STARTED,
    OVERDUE,
    WAITING,
    Task,
    TaskStep,
    TaskSubStep,
)
from cmpapi.server.resources.tasks.views import TaskView
from cmpapi.server.resources.workflows.tables import Workflow
from cmpapi.wire import (
    ListTasksParametersQuery,
    ListTasksParametersQueryStatus,
    TaskCreateRequest,
    TaskExternalWorkRequest,
    TaskSubStepRequest,
    TaskUpdateRequest,
)

KIND = "task"  # owner_type of the task's shared sub-resources (parent.TASK)
NEWEST_FIRST = (Task.modified_at.desc(),)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def load_task(session: Session, principal: Principal, task_id: str, action: str) -> Task:
    """The organization's task (404) if the caller's role may ``read``/``write`` tasks."""
    require(principal, f"tasks:{action}")
    return Repository(Task, session, principal.org_id).get(task_id)


def load_flow(session: Session, task: Task) -> Flow:
    """The task with its steps and sub-steps (two queries)."""
    steps = session.scalars(select(TaskStep).where(TaskStep.task_id == task.id)).all()
    subs = session.scalars(select(TaskSubStep).where(TaskSubStep.task_id == task.id)).all()
    return Flow(task, steps, subs)


def _view(session: Session, flow: Flow) -> TaskView:
    task = flow.task
    has_brief = session.get(Brief, (KIND, task.id)) is not None
    return TaskView(flow, load_label_names(session, task.org_id, task.labels), utcnow(), has_brief)


def _actor(session: Session, principal: Principal) -> Actor:
    name = session.scalar(select(OAuthApp.name).where(OAuthApp.id == principal.app_id))
    return Actor(app_name=name or "")


def _check_user(session: Session, org_id: str, user_id: str, field: str) -> None:
    if Repository(User, session, org_id).find(User.id == user_id, User.is_active.is_(True)) is None:
        raise Invalid("Unknown user", {field: "No active user of the organization has this id"})


def _check_dates(start_at: datetime | None, due_at: datetime | None) -> None:
    if start_at and due_at and due_at < start_at:
        raise Invalid("The due date is before the start date", {"due_at": "Before start_at"})


def _days_after(start: datetime, days: int) -> datetime:
    try:
        return start + timedelta(days=days)
    except OverflowError:  # past the year 9999: the latest time the input bounds allow
        return LATEST


def _instantiate(session: Session, task: Task, workflow: Workflow, now: datetime) -> Flow:
    """Copy the workflow's steps into the task; step due dates follow the durations."""
    steps, subs = [], []
    due = task.start_at or now
    for n, step_def in enumerate(workflow.steps):
        duration = step_def.get("duration")
        due = _days_after(due, duration) if duration else due
        step = TaskStep(
            id=new_id(),
            org_id=task.org_id,
            task_id=task.id,
            position=n,
            title=step_def["name"],
            description=step_def["description"],
            due_at=due if duration else None,
        )
        steps.append(step)
        for m, d in enumerate(step_def["sub_steps"]):
            first = (d["assignees"] or [{"type": "user", "id": None}])[0]
            subs.append(
                TaskSubStep(
                    id=new_id(),
                    org_id=task.org_id,
                    task_id=task.id,
                    step_id=step.id,
                    position=m,
                    title=d["name"],
                    description=d["description"],
                    actions=d["actions"],
                    state=WAITING,
                    assignee_type=first["type"],
                    assignee_id=first["id"],
                    is_external=d["is_external"],
                    external_system=d["external_system"],
                    is_user_interaction_allowed=d["is_user_interaction_allowed"],
                    modified_at=now,
                )
            )
    session.add_all([*steps, *subs])
    return Flow(task, steps, subs)


def create_task(
    session: Session,
    principal: Principal,
    links: Links,
    body: TaskCreateRequest,
    id_: str | None = None,
) -> TaskView:
    """Create a task; with a workflow, its steps are copied and the first sub-step opens.
    ``id_``: a chosen id (the demo seed's stable ones)."""
    require(principal, "tasks:write")
    org = principal.org_id
    if not body.title.strip():
        raise Invalid("A task needs a title", {"title": "Blank"})
    campaign = (
        require_campaign(session, org, body.campaign_id)
        if isinstance(body.campaign_id, str)
        else None
    )
    owner = body.owner_id if isinstance(body.owner_id, str) else principal.user_id
    _check_user(session, org, owner, "owner_id")
    start_at = body.start_at if isinstance(body.start_at, datetime) else None
    due_at = body.due_at if isinstance(body.due_at, datetime) else None
    _check_dates(start_at, due_at)
    workflow = None
    if isinstance(body.workflow_id, str):
        workflow = Repository(Workflow, session, org).find(Workflow.id == body.workflow_id)
        if workflow is None or not workflow.is_active:
            raise NotFound("Workflow not found")
    now = utcnow()
    task = Task(
        id=id_ or new_id(),
        org_id=org,
        number=next_number(session, org, "task"),
        title=body.title.strip(),
        workflow_id=workflow.id if workflow else None,
        campaign_id=campaign.id if campaign else None,
        owner_id=owner,
        start_at=start_at,
        due_at=due_at,
        created_by=principal.user_id,
        created_at=now,
        modified_at=now,
        labels=[],
    )
    session.add(task)
    session.flush()
    flow = _instantiate(session, task, workflow, now) if workflow else Flow(task, [], [])
    transitions = flow.advance(now)
    session.flush()
    events.record_task_event(session, links, "task_added", task)
    events.record_transitions(session, links, transitions, "")
    session.commit()
    return _view(session, flow)


def get_task(session: Session, principal: Principal, task_id: str) -> TaskView:
    """A task with its steps and sub-steps."""
    return _view(session, load_flow(session, load_task(session, principal, task_id, "read")))


# Module-level clauses with named parameters: ``Repository.rows`` caches its statements
# by the identity of their parts, and runs them prepared.
_LATE = and_(Task.overdue_at.is_not(None), Task.overdue_at < bindparam("now"))
_STATUS_CLAUSES: dict[str, ColumnElement[bool]] = {
    OVERDUE: and_(Task.status.in_((NOT_STARTED, IN_PROGRESS)), _LATE),
    NOT_STARTED: and_(Task.status == NOT_STARTED, ~_LATE),
    IN_PROGRESS: and_(Task.status == IN_PROGRESS, ~_LATE),
}
_STATUS_ORDER = tuple(s.value for s in ListTasksParametersQueryStatus)
_BY_COLUMN = {
    "campaign": Task.campaign_id == bindparam("campaign"),
    "workflow": Task.workflow_id == bindparam("workflow"),
    "milestone": Task.milestone_id == bindparam("milestone"),
}
_STARTING_AFTER = Task.start_at >= bindparam("start_date")
_DUE_BEFORE = Task.due_at <= bindparam("due_date")
LIST_COLUMNS = (
    Task.id,
    Task.title,
    Task.start_at,
    Task.due_at,
    Task.modified_at,
    Task.number,
    Task.campaign_id,
    Task.workflow_id,
    Task.milestone_id,
    Task.is_completed,
    Task.is_archived,
    Task.status,
    Task.overdue_at,
)


@functools.cache
def _status_filter(statuses: frozenset[str]) -> ColumnElement[bool]:
    """Stored statuses, with Overdue split off Not Started / In Progress by ``overdue_at``
    (the ``now`` parameter). One clause per set of statuses (at most 63)."""
    return or_(
        *(
            _STATUS_CLAUSES.get(status, Task.status == status)
            for status in _STATUS_ORDER
            if status in statuses
        )
    )


def _date(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("Invalid date", {field: "Expected an ISO 8601 date or date-time"}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)


def list_tasks(
    session: Session, principal: Principal, params: ListTasksParametersQuery
) -> tuple[Page[Any], datetime]:
    """Tasks, most recently changed first, filtered as the spec's parameters say:
    ``start_date``: starting on or after; ``due_date``: due on or before. Rows of
    ``LIST_COLUMNS``."""
    require(principal, "tasks:read")
    now = utcnow()
    filters = Filters()
    search = None
    if isinstance(params.search_key, str) and params.search_key.strip():
        # Built per request (on SQLite it holds the matching rowids): not cached.
        search = title_match(session, Task.title, params.search_key.strip())
        filters.add(search.condition)
    for name, clause in _BY_COLUMN.items():
        value = getattr(params, name)
        if isinstance(value, str):
            filters.add(clause, **{name: value})
    if isinstance(params.start_date, str):
        filters.add(_STARTING_AFTER, start_date=_date(params.start_date, "start_date"))
    if isinstance(params.due_date, str):
        filters.add(_DUE_BEFORE, due_date=_date(params.due_date, "due_date"))
    if isinstance(params.status, list) and params.status:
        filters.add(_status_filter(frozenset(str(s.value) for s in params.status)), now=now)
    depth = params.offset + params.page_size
    # A search reads its matches sorted when that costs less than walking the page order
    # (a rarer word, or a deep page: 100,000 tasks, a 5 % word at offset 10,000 walked
    # 48 ms); the tasks ever made bound the organization's (``next_number``'s sequence).
    tasks = made(session, principal.org_id, "task")
    plan = search.plan(session, tasks, depth) if search is not None else WALK
    if plan == SEEK:
        page = sorted_matches(
            session,
            LIST_COLUMNS,
            Task,
            principal.org_id,
            filters.where,
            params.offset,
            params.page_size,
            filters.values,
        )
        return page, now
    page = Repository(Task, session, principal.org_id).rows(
        LIST_COLUMNS,
        *(search.walking(filters.where, plan) if search is not None else filters.where),
        order_by=NEWEST_FIRST,
        offset=params.offset,
        page_size=params.page_size,
        params=filters.values,
        cache=search is None,
    )
    return page, now


def update_task(
    session: Session, principal: Principal, links: Links, task_id: str, body: TaskUpdateRequest
) -> TaskView:
    """Change a task's title, dates, owner, labels or workflow (the workflow only before
    any sub-step was acted on: its steps are replaced)."""
    task = load_task(session, principal, task_id, "write")
    values: dict[str, Any] = body.model_dump(exclude_unset=True)
    if not values:
        return get_task(session, principal, task_id)
    if task.is_archived:
        raise Invalid("The task is archived", {"id": "Archived tasks cannot change"})
    if "title" in values and not values["title"].strip():
        raise Invalid("A task needs a title", {"title": "Blank"})
    if "campaign_id" in values:
        require_campaign(session, task.org_id, values["campaign_id"])
    if "owner_id" in values:
        _check_user(session, task.org_id, values["owner_id"], "owner_id")
    if "labels" in values:
        checked = validate_resource_labels(session, task.org_id, values["labels"] or [])
        values["labels"] = [v.id for c in checked for v in c.values]
    _check_dates(values.get("start_at", task.start_at), values.get("due_at", task.due_at))
    now = utcnow()
    flow = load_flow(session, task)
    new_workflow = values.pop("workflow_id", task.workflow_id)
    for key, value in values.items():
        setattr(task, key, value.strip() if key == "title" else value)
    transitions: list[Transition] = []
    if new_workflow != task.workflow_id:
        flow, transitions = _replace_workflow(session, flow, new_workflow, now)
    flow.refresh(now)
    session.flush()
    events.record_task_event(session, links, "task_metadata_modified", task)
    events.record_transitions(session, links, transitions, "")
    session.commit()
    return _view(session, flow)


def _replace_workflow(
    session: Session, flow: Flow, workflow_id: str, now: datetime
) -> tuple[Flow, list[Transition]]:
    task = flow.task
    # Sub-step comments (and their files) would go with the old sub-steps: refuse instead.
    discussed = session.scalar(
        select(func.count()).where(
            Comment.owner_type == KIND, Comment.owner_id == task.id, Comment.scope_id.is_not(None)
        )
    )
    if task.is_started or task.is_completed or discussed:
        raise Invalid(
            "The workflow of a task cannot change once work or discussion started",
            {"workflow_id": "The task has started"},
        )
    workflow = Repository(Workflow, session, task.org_id).find(Workflow.id == workflow_id)
    if workflow is None or not workflow.is_active:
        raise NotFound("Workflow not found")
    for table in (TaskSubStep, TaskStep):  # not started yet: nothing to keep
        session.execute(delete(table).where(table.task_id == task.id))
    task.workflow_id = workflow.id
    new = _instantiate(session, task, workflow, now)
    return new, new.advance(now)


def update_task_step(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    step_id: str,
    due_at: datetime | None,
) -> tuple[Flow, TaskStep]:
    """Set a step's due date (``None``: no change)."""
    flow = load_flow(session, load_task(session, principal, task_id, "write"))
    step = flow.step(step_id)
    if due_at is None:
        return flow, step
    transitions = flow.set_step_due(step, due_at, utcnow())
    events.record_transitions(session, links, transitions, "")
    session.commit()
    return flow, step


def get_task_sub_step(
    session: Session, principal: Principal, task_id: str, step_id: str, sub_step_id: str
) -> TaskSubStep:
    """One sub-step of a task step."""
    flow = load_flow(session, load_task(session, principal, task_id, "read"))
    return flow.sub_step(step_id, sub_step_id)


def _one_change(body: TaskSubStepRequest) -> str:
    """The request's one change: ``start``, ``complete``, ``skip`` or ``assign``."""
    given = body.model_dump(exclude_unset=True)
    changes = [
        c
        for c, keys in (
            ("start", ("is_in_progress",)),
            ("complete", ("is_completed",)),
            ("skip", ("is_skipped",)),
            ("assign", ("assignee_id", "assignee_type")),
        )
        if any(k in given for k in keys)
    ]
    if len(changes) != 1:
        raise Invalid(
            "Give exactly one of is_in_progress, is_completed, is_skipped or an assignee",
            {"body": "Exactly one change per request"},
        )
    return changes[0]


def update_task_sub_step(
    session: Session,
    principal: Principal,
    links: Links,
    task_id: str,
    step_id: str,
    sub_step_id: str,
    body: TaskSubStepRequest,
) -> TaskSubStep:
    """Start, complete or skip a sub-step, or change its assignee; the task moves on."""
    flow = load_flow(session, load_task(session, principal, task_id, "write"))
    ss = flow.sub_step(step_id, sub_step_id)
    change, now = _one_change(body), utcnow()
    actor = _actor(session, principal)
    was_completed = flow.task.is_completed
    was_published = publishing.publish_step_done(flow)
    if change == "assign":
        kind, assignee = _assignee(session, principal.org_id, body)
        transitions = flow.assign(ss, kind, assignee, now)
    elif change == "start":
        transitions = flow.start(ss, actor, now)
    else:
        transitions = flow.finish(ss, actor, now, skip=change == "skip")
    flow.refresh(now)
    session.flush()
    events.record_transitions(session, links, transitions, actor.app_name)
    if flow.task.is_completed != was_completed:
        events.record_task_event(session, links, "task_metadata_modified", flow.task)
    if not was_published and publishing.publish_step_done(flow):  # the publishing loop
        publishing.publish_intended(session, links, flow.task, principal.user_id)
    session.commit()
    return ss


def _assignee(session: Session, org_id: str, body: TaskSubStepRequest) -> tuple[str, str | None]:
    kind = body.assignee_type.value if not isinstance(body.assignee_type, type(MISSING)) else "user"
    assignee = body.assignee_id if isinstance(body.assignee_id, str) else None
    if assignee is None:
        return kind, None
    model: Any = User if kind == "user" else Team
    if Repository(model, session, org_id).find(model.id == assignee) is None:
        raise Invalid(f"Unknown {kind}", {"assignee_id": f"No {kind} of the organization"})
    return kind, assignee


# -- external work -----------------------------------------------------------------------


def _external(
    session: Session,
    principal: Principal,
    task_id: str,
    step_id: str,
    sub_step_id: str,
    action: str,
) -> TaskSubStep:
    flow = load_flow(session, load_task(session, principal, task_id, action))
    ss = flow.sub_step(step_id, sub_step_id)
    if not ss.is_external:
        raise NotFound("The sub-step is not external: it has no external work")
    return ss


def get_task_sub_step_external_work(
    session: Session, principal: Principal, task_id: str, step_id: str, sub_step_id: str
) -> tuple[TaskSubStep, str]:
    """The ticket linked to an external sub-step and the external system's name (the
    sub-step's, else the calling app's)."""
    ss = _external(session, principal, task_id, step_id, sub_step_id, "read")
    return ss, ss.external_system or _actor(session, principal).app_name


def update_task_sub_step_external_work(
    session: Session,
    principal: Principal,
    task_id: str,
    step_id: str,
    sub_step_id: str,
    body: TaskExternalWorkRequest,
) -> tuple[TaskSubStep, str]:
    """Link or update the ticket of an external sub-step. The first app to link a sub-step
    that names no external system becomes its system; other apps are refused (403)."""
    ss = _external(session, principal, task_id, step_id, sub_step_id, "write")
    actor = _actor(session, principal)
    if ss.external_system is None:
        ss.external_system = actor.app_name
    elif ss.external_system.casefold() != actor.app_name.casefold():
        raise Forbidden(f"This sub-step's external work belongs to {ss.external_system}")
    values = body.model_dump(exclude_unset=True)
    url = values.get("url")
    if url is not None and not url.lower().startswith("https://"):
        raise Invalid("The external work URL must use HTTPS", {"url": "Must start with https://"})
    for key, value in values.items():
        setattr(ss, f"ext_{key}", value)
    ss.modified_at = utcnow()
    session.commit()
    return ss, ss.external_system


def set_task_flag(
    session: Session, links: Links, org_id: str, task_id: str, flag: str, value: bool
) -> Task:
    """Put a task on hold / archive it (or undo): the states the API has no operation for
    (CLI). Records task_metadata_modified when ``is_archived`` changes."""
    if flag not in ("is_on_hold", "is_archived"):
        raise ValueError(flag)
    task = Repository(Task, session, org_id).get(task_id)
    if getattr(task, flag) != value:
        setattr(task, flag, value)
        load_flow(session, task).refresh(utcnow())
        session.flush()
        if flag == "is_archived":
            events.record_task_event(session, links, "task_metadata_modified", task)
    session.commit()
    return task
