"""The reference for ``bench/tasks_bench.py``: bare Starlette serving listTasks and
updateTaskSubStep (``{"is_completed": true}``) from the same database as cmpapi, with as
little machinery as hand-written handlers need.

Per request it does the work cmpapi does, minus the framework layers:
- authenticates the bearer token like ``bench/reference_app.py`` (SHA-256 lookup joined
  to users and apps, expiry checked);
- listTasks: one page of the organization's tasks, ``modified_at`` then ``id`` descending,
  with cmpapi's status filter (Overdue split off Not Started / In Progress by
  ``overdue_at``), and the same JSON body (items, links, pagination keeping the filters);
- updateTaskSubStep: reads the task, its steps and sub-steps and the calling app's name,
  applies cmpapi's rules (state checks, deferred approvals), completes the sub-step and
  moves the task on (next sub-step, step, task), writes the changed rows and the
  ``workflow_sub_step_updated`` / ``external_sub_step_*`` / ``task_metadata_modified``
  outbox rows in one transaction, and answers the sub-step.

One connection, queried synchronously inside the async handlers: ``sqlite3`` with
cmpapi's pragmas (``BENCH_DB=<file>``) or ``psycopg`` (``BENCH_PG=<conninfo>``).

Run: ``BENCH_DB=/path/cmpapi.db uvicorn --app-dir bench --factory tasks_reference_app:make``.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TOKEN_SQL = """
SELECT t.org_id, t.expires_at, t.app_id
FROM oauth_tokens AS t
JOIN users AS u ON u.id = t.user_id
JOIN oauth_apps AS a ON a.id = t.app_id
WHERE t.token_hash = ? AND t.kind = 'access' AND t.revoked_at IS NULL
  AND u.is_active = ? AND a.is_active = ?
"""  # noqa: S105 - SQL text, not a password
LIST_COLUMNS = (
    "id, title, start_at, due_at, modified_at, number, campaign_id, workflow_id, "
    "milestone_id, is_completed, is_archived, status, overdue_at"
)
NOT_LATE = "NOT (overdue_at IS NOT NULL AND overdue_at < ?)"
LATE = "(overdue_at IS NOT NULL AND overdue_at < ?)"
STATUSES = ("Not Started", "In Progress", "Completed", "Overdue", "On Hold", "Archived")
FINISHED = ("completed", "skipped")
SUB_COLUMNS = (
    "id, step_id, position, title, state, assignee_type, assignee_id, is_external, "
    "external_system, is_user_interaction_allowed, started_at"
)


def _json(body: Any, status: int = 200) -> Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(raw, status_code=status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"message": message}, status)


class Db:
    """One connection; ``?`` placeholders on both backends; datetimes as each stores them."""

    def __init__(self) -> None:
        if os.environ.get("BENCH_PG"):
            import psycopg

            self.pg = True
            self.con: Any = psycopg.connect(os.environ["BENCH_PG"])
        else:
            import sqlite3

            self.pg = False
            self.con = sqlite3.connect(os.environ["BENCH_DB"], check_same_thread=False)
            for pragma in ("busy_timeout=10000", "synchronous=NORMAL", "foreign_keys=ON"):
                self.con.execute(f"PRAGMA {pragma}")
        self._sql: dict[str, str] = {}

    def sql(self, text: str) -> str:
        if not self.pg:
            return text
        cached = self._sql.get(text)
        if cached is None:
            cached = self._sql[text] = text.replace("?", "%s").replace("JSONVALUE", "%s::jsonb")
        return cached

    def all(self, text: str, *params: Any) -> list[Any]:
        return list(self.con.execute(self.sql(text), params).fetchall())

    def end_read(self) -> None:
        """End the read transaction psycopg opened (sqlite3 opens none for SELECTs)."""
        if self.pg:
            self.con.rollback()

    def run(self, text: str, *params: Any) -> None:
        self.con.execute(self.sql(text).replace("JSONVALUE", "?"), params)

    def time(self, value: datetime) -> Any:
        """A datetime as a bind parameter (SQLAlchemy's SQLite storage format)."""
        if self.pg:
            return value
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    def parse(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _stamp(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def make() -> Starlette:
    """The app (uvicorn ``--factory``)."""
    db = Db()

    def principal(request: Request) -> tuple[str, str] | None:
        scheme, _, raw = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        digest = hashlib.sha256(raw.strip().encode()).hexdigest()
        rows = db.all(TOKEN_SQL, digest, True, True)
        if not rows or db.parse(rows[0][1]) <= datetime.now(UTC):  # type: ignore[operator]
            return None
        return rows[0][0], rows[0][2]

    async def list_tasks(request: Request) -> Response:
        who = principal(request)
        if who is None:
            return _error(401, "Unauthorized")
        try:
            offset = int(request.query_params.get("offset", "0"))
            page_size = int(request.query_params.get("page_size", "10"))
        except ValueError:
            return _error(400, "Invalid query parameters")
        statuses = request.query_params.getlist("status")
        if offset < 0 or not 1 <= page_size <= 100 or any(s not in STATUSES for s in statuses):
            return _error(400, "Invalid query parameters")
        now = _now()
        where, params = ["org_id = ?"], [who[0]]
        clauses = []
        for status in dict.fromkeys(statuses):
            if status == "Overdue":
                clauses.append(f"(status IN (?, ?) AND {LATE})")
                params += ["Not Started", "In Progress", db.time(now)]
            elif status in ("Not Started", "In Progress"):
                clauses.append(f"(status = ? AND {NOT_LATE})")
                params += [status, db.time(now)]
            else:
                clauses.append("status = ?")
                params.append(status)
        if clauses:
            where.append("(" + " OR ".join(clauses) + ")")
        sql = (
            f"SELECT {LIST_COLUMNS} FROM tasks WHERE {' AND '.join(where)} "
            "ORDER BY modified_at DESC, id DESC LIMIT ? OFFSET ?"
        )
        rows = db.all(sql, *params, page_size + 1, offset)
        db.end_read()
        base = f"{request.url.scheme}://{request.headers.get('host', 'localhost')}"
        data = [_list_item(db, base, row, now) for row in rows[:page_size]]
        kept = [
            (k, v)
            for k, v in request.query_params.multi_items()
            if k not in ("offset", "page_size")
        ]

        def page(at: int) -> str:
            query = urlencode(
                [*kept, ("offset", str(at)), ("page_size", str(page_size))],
                quote_via=quote,
                safe="",
            )
            return f"{base}/v3/tasks?{query}"

        return _json(
            {
                "data": data,
                "pagination": {
                    "next": page(offset + page_size) if len(rows) > page_size else None,
                    "previous": page(max(offset - page_size, 0)) if offset > 0 else None,
                },
            }
        )

    async def update_sub_step(request: Request) -> Response:
        who = principal(request)
        if who is None:
            return _error(401, "Unauthorized")
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _error(400, "Invalid JSON")
        if body != {"is_completed": True}:
            return _error(422, "The reference only completes sub-steps")
        p = request.path_params
        base = f"{request.url.scheme}://{request.headers.get('host', 'localhost')}"
        try:
            result = _complete(db, who, base, p["task_id"], p["step_id"], p["sub_step_id"])
        except _Refused as refused:
            db.con.rollback()
            return _error(refused.status, refused.message)
        return _json(_sub_step_body(base, result))

    return Starlette(
        routes=[
            Route("/v3/tasks", list_tasks),
            Route(
                "/v3/tasks/{task_id}/steps/{step_id}/sub-steps/{sub_step_id}",
                update_sub_step,
                methods=["PATCH"],
            ),
        ]
    )


def _list_item(db: Db, base: str, row: Any, now: datetime) -> dict[str, Any]:
    (
        id_,
        title,
        start_at,
        due_at,
        modified_at,
        number,
        campaign_id,
        workflow_id,
        milestone_id,
        is_completed,
        is_archived,
        status,
        overdue_at,
    ) = row
    late = db.parse(overdue_at)
    if status in ("Not Started", "In Progress") and late is not None and late < now:
        status = "Overdue"
    api = f"{base}/v3"
    return {
        "id": id_,
        "title": title,
        "start_at": _stamp(db.parse(start_at)),
        "due_at": _stamp(db.parse(due_at)),
        "modified_at": _stamp(db.parse(modified_at)),
        "reference_id": str(number),
        "campaign_id": campaign_id,
        "workflow_id": workflow_id,
        "milestone_id": milestone_id,
        "is_completed": bool(is_completed),
        "is_archived": bool(is_archived),
        "status": status,
        "links": {
            "self": f"{api}/tasks/{id_}",
            "campaign": f"{api}/campaigns/{campaign_id}" if campaign_id else None,
            "workflow": f"{api}/workflows/{workflow_id}" if workflow_id else None,
            "milestone": f"{api}/milestones/{milestone_id}" if milestone_id else None,
            "web_urls": {"self": f"{base}/web/tasks/{id_}"},
        },
    }


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


def _complete(
    db: Db, who: tuple[str, str], base: str, task_id: str, step_id: str, sub_id: str
) -> Any:
    """cmpapi's ``Flow.finish`` + ``advance`` + ``refresh`` on plain rows, then the writes
    and the outbox rows, committed together. Returns (task_id, sub-step row)."""
    org_id, app_id = who
    tasks = db.all(
        "SELECT id, due_at, is_completed, is_archived, is_on_hold FROM tasks "
        "WHERE org_id = ? AND id = ?",
        org_id,
        task_id,
    )
    if not tasks:
        raise _Refused(404, "Resource not found")
    _, task_due, was_completed, archived, on_hold = tasks[0]
    steps = [
        list(s)
        for s in db.all(
            "SELECT id, due_at, is_completed FROM task_steps WHERE task_id = ? ORDER BY position",
            task_id,
        )
    ]
    order = {s[0]: n for n, s in enumerate(steps)}
    subs = [
        list(r)
        for r in db.all(f"SELECT {SUB_COLUMNS} FROM task_sub_steps WHERE task_id = ?", task_id)
    ]
    subs.sort(key=lambda r: (order[r[1]], r[2]))
    app = db.all("SELECT name FROM oauth_apps WHERE id = ?", app_id)
    app_name = app[0][0] if app else ""
    target = next((r for r in subs if r[0] == sub_id and r[1] == step_id), None)
    if step_id not in order or target is None:
        raise _Refused(404, "Resource not found")
    if archived or was_completed or on_hold:
        raise _Refused(422, "The task cannot change")
    if target[4] in FINISHED or target[4] == "waiting":
        raise _Refused(422, f"The sub-step is {target[4]}")
    system = target[8]
    if target[7] and not target[9] and (system or "").casefold() != app_name.casefold():
        raise _Refused(403, "This sub-step's approval is deferred to its external system")
    now = _now()
    events: list[tuple[str, Any]] = [("completed", target)]
    changed = {target[0]}
    target[4], target[10] = "completed", target[10] or db.time(now)
    task_completed = True
    for step in steps:  # advance
        if step[2]:
            continue
        pending = [r for r in subs if r[1] == step[0] and r[4] not in FINISHED]
        if not pending:
            step[2] = True
            db.run(
                "UPDATE task_steps SET is_completed = ?, completed_at = ? WHERE id = ?",
                True,
                db.time(now),
                step[0],
            )
            continue
        task_completed = False
        nxt = pending[0]
        if nxt[4] == "waiting":
            nxt[4] = "open"
            changed.add(nxt[0])
            if nxt[7]:
                nxt[4], nxt[10] = "in_progress", db.time(now)
                events.append(("started", nxt))
        break
    current = next((s for s in steps if not s[2]), None)
    dues = [db.parse(d) for d in (task_due, current[1] if current else None) if d is not None]
    overdue = None if task_completed else min(dues, default=None)  # type: ignore[type-var]
    status = "Completed" if task_completed else "In Progress"
    for r in subs:
        if r[0] in changed:
            finished = db.time(now) if r[4] == "completed" else None
            db.run(
                "UPDATE task_sub_steps SET state = ?, started_at = ?, finished_at = "
                "COALESCE(?, finished_at), modified_at = ? WHERE id = ?",
                r[4],
                r[10],
                finished,
                db.time(now),
                r[0],
            )
    db.run(
        "UPDATE tasks SET is_started = ?, is_completed = ?, overdue_at = ?, status = ?, "
        "modified_at = ? WHERE id = ?",
        True,
        task_completed,
        db.time(overdue) if overdue else None,
        status,
        db.time(now),
        task_id,
    )
    _events(db, base, org_id, task_id, events, app_name, task_completed and not was_completed)
    db.con.commit()
    return task_id, target


def _events(
    db: Db,
    base: str,
    org_id: str,
    task_id: str,
    events: list[tuple[str, Any]],
    app_name: str,
    completed: bool,
) -> None:
    """The outbox rows of cmpapi's ``record_transitions`` (the external events' payloads
    are shortened: a few dict entries more would not change the figures)."""
    sql = (
        "INSERT INTO outbox_events (id, org_id, event_name, data, created_at) "
        "VALUES (?, ?, ?, JSONVALUE, ?)"
    )
    at = datetime.now(UTC)
    task = {"id": task_id, "links": {"self": f"{base}/v3/tasks/{task_id}"}}
    for status, r in events:
        path = f"{base}/v3/tasks/{task_id}/steps/{r[1]}/sub-steps/{r[0]}"
        data = {
            "status": status,
            "task": task,
            "step": {"id": r[1]},
            "sub_step": {"id": r[0], "links": {"self": path}},
        }
        db.run(
            sql,
            uuid.uuid4().hex,
            org_id,
            "workflow_sub_step_updated",
            orjson.dumps(data).decode(),
            db.time(at),
        )
        if r[7]:
            ext = {
                "external_work": {"external_system": r[8] or app_name},
                "task": task,
                "sub_step": {"id": r[0]},
            }
            db.run(
                sql,
                uuid.uuid4().hex,
                org_id,
                f"external_sub_step_{status}",
                orjson.dumps(ext).decode(),
                db.time(at),
            )
    if completed:
        db.run(
            sql,
            uuid.uuid4().hex,
            org_id,
            "task_metadata_modified",
            orjson.dumps({"task": task}).decode(),
            db.time(at),
        )


def _sub_step_body(base: str, result: Any) -> dict[str, Any]:
    task_id, r = result
    api = f"{base}/v3"
    path = f"{api}/tasks/{task_id}/steps/{r[1]}/sub-steps/{r[0]}"
    kind = {"user": "users", "team": "teams"}[r[5]]
    return {
        "id": r[0],
        "title": r[3],
        "assignee_id": r[6],
        "assignee_type": r[5],
        "is_completed": r[4] == "completed",
        "is_in_progress": r[4] == "in_progress",
        "is_skipped": r[4] == "skipped",
        "is_external": bool(r[7]),
        "links": {
            "self": path,
            "task": f"{api}/tasks/{task_id}",
            "external_work": f"{path}/external-work" if r[7] else None,
            "assignee": f"{api}/{kind}/{r[6]}" if r[6] else None,
        },
    }
