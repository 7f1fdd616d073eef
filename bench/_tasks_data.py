"""Data for ``bench/tasks_bench.py``: a database with N tasks made from a workflow, and a
second organization whose fresh tasks the updateTaskSubStep runs complete.

``build`` migrates and seeds the demo organization like ``bench/run.py``, then
bulk-inserts the tasks with SQLAlchemy Core (``executemany`` in chunks, one transaction),
each with the steps and sub-steps ``createTask`` copies from the demo "Blog post"
workflow (3 steps, 4 sub-steps), in states that match the task's status.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CHUNK = 5_000
TOKEN_TTL = 7 * 24 * 3600
WORKFLOW = "Blog post"
# (stored status, share); 10 % of the In Progress tasks are overdue (wire status Overdue).
STATUSES = (
    ("Not Started", 0.15),
    ("In Progress", 0.65),
    ("Completed", 0.12),
    ("On Hold", 0.04),
    ("Archived", 0.04),
)
OVERDUE_SHARE = 0.10
UPDATE_ORG = "Bench Updates"


@dataclass
class TasksData:
    """What the benchmark needs to know about the generated data."""

    data_dir: Path
    database_url: str | None  # None: SQLite in data_dir
    db_path: Path | None  # the SQLite file
    admin_token: str  # demo admin: listTasks
    update_token: str  # admin of the update organization: updateTaskSubStep
    tasks: int
    in_progress: int  # wire status In Progress (not overdue)
    # updateTaskSubStep targets: per slice, the path of each task's open first sub-step.
    update_slices: list[list[str]] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    db_bytes: int = 0


def settings_for(data_dir: Path, database_url: str | None) -> Any:
    from cmpapi.server.settings import Settings

    return Settings(data_dir=data_dir, database_url=database_url)


def build(
    data_dir: Path, rows: int, slices: list[int], database_url: str | None = None, seed: int = 7
) -> TasksData:
    """The database with ``rows`` tasks in the demo organization, plus ``sum(slices)`` Not
    Started tasks in a second organization for the update runs (one slice per run)."""
    from sqlalchemy import delete, insert, select, text
    from sqlalchemy.orm import Session

    from cmpapi.server import demo
    from cmpapi.server.db.counters import Counter
    from cmpapi.server.db.engine import make_engine
    from cmpapi.server.db.migrate import upgrade
    from cmpapi.server.identity import service as identity
    from cmpapi.server.oauth import store as oauth
    from cmpapi.server.oauth.tables import OAuthApp
    from cmpapi.server.resources.tasks.tables import Task, TaskStep, TaskSubStep
    from cmpapi.server.resources.workflows import service as workflows
    from cmpapi.server.resources.workflows.tables import Workflow

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    engine = make_engine(settings_for(data_dir, database_url))
    admin_id = demo.demo_id("user:ada.admin")
    try:
        if engine.dialect.name == "postgresql":  # a reused database starts empty
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(engine)
        with Session(engine) as session:
            demo.seed(session)
            app = session.scalars(select(OAuthApp).where(OAuthApp.client_id == demo.CLIENT_ID))
            app = app.one()
            admin_token = str(
                oauth.issue_token(session, app, admin_id, kind="access", ttl_seconds=TOKEN_TTL).raw
            )
            workflow = session.scalars(
                select(Workflow).where(Workflow.org_id == demo.ORG_ID, Workflow.name == WORKFLOW)
            ).one()
            definition = workflow.steps
            upd_org = identity.create_organization(session, UPDATE_ORG)
            upd_admin = identity.create_user(
                session, upd_org.id, email="bench@updates.dev", name="Bench Admin", role="admin"
            )
            upd_app, _ = oauth.create_app(
                session, upd_org.id, name="Bench", redirect_uris=[], token_user_id=upd_admin.id
            )
            upd_flow = workflows.create_workflow(session, upd_org.id, WORKFLOW, definition)
            update_token = str(
                oauth.issue_token(
                    session, upd_app, upd_admin.id, kind="access", ttl_seconds=TOKEN_TTL
                ).raw
            )
            ids = (workflow.id, upd_flow.id, upd_org.id, upd_admin.id)
            # The demo seeds a few tasks of its own: the bench tasks are numbered after them.
            seeded = session.scalar(
                select(Counter.value).where(Counter.org_id == demo.ORG_ID, Counter.name == "task")
            )
            seeded = seeded or 0
            session.commit()
        workflow_id, upd_workflow_id, upd_org_id, upd_admin_id = ids
        timings["migrate_seed_tokens"] = time.perf_counter() - t0

        t1 = time.perf_counter()
        rng = random.Random(seed)
        now = datetime.now(UTC).replace(microsecond=0)
        demo_rows = _tasks(
            rows, rng, now, demo.ORG_ID, admin_id, workflow_id, definition, first_number=seeded + 1
        )
        n_updates = sum(slices)
        upd_rows = _tasks(
            n_updates,
            rng,
            now,
            upd_org_id,
            upd_admin_id,
            upd_workflow_id,
            definition,
            status="Not Started",
        )
        tables = (Task.__table__, TaskStep.__table__, TaskSubStep.__table__)
        counts = {"In Progress": 0}
        targets: list[str] = []
        with engine.begin() as conn:
            for source, is_demo in ((demo_rows, True), (upd_rows, False)):
                for chunk in _chunks(source, CHUNK):
                    batches: tuple[list[Row], list[Row], list[Row]] = ([], [], [])
                    for task, steps, subs in chunk:
                        batches[0].append(task)
                        batches[1].extend(steps)
                        batches[2].extend(subs)
                        if is_demo:
                            wire = _wire_status(task, now)
                            counts[wire] = counts.get(wire, 0) + 1
                        else:
                            first = subs[0]
                            targets.append(
                                f"/v3/tasks/{task['id']}/steps/{first['step_id']}"
                                f"/sub-steps/{first['id']}"
                            )
                    for table, batch in zip(tables, batches, strict=True):
                        _insert_many(conn, table, batch)
            conn.execute(
                delete(Counter).where(Counter.org_id == demo.ORG_ID, Counter.name == "task")
            )
            for org, count in ((demo.ORG_ID, seeded + rows), (upd_org_id, n_updates)):
                conn.execute(insert(Counter).values(org_id=org, name="task", value=count))
        timings["bulk_insert"] = time.perf_counter() - t1
        timings["total"] = time.perf_counter() - t0
    finally:
        engine.dispose()
    cut, update_slices = 0, []
    for size in slices:
        update_slices.append(targets[cut : cut + size])
        cut += size
    db_path = None if database_url else data_dir / "cmpapi.db"
    return TasksData(
        data_dir=data_dir,
        database_url=database_url,
        db_path=db_path,
        admin_token=admin_token,
        update_token=update_token,
        tasks=rows,
        in_progress=counts["In Progress"],
        update_slices=update_slices,
        timings_s={k: round(v, 2) for k, v in timings.items()},
        db_bytes=sum(p.stat().st_size for p in data_dir.glob("cmpapi.db*")),
    )


Row = dict[str, Any]


def _insert_many(conn: Any, table: Any, rows: list[Row]) -> None:
    """A plain DB-API ``executemany`` of ``rows`` (all with the same keys): SQLAlchemy's
    per-value type processing took most of the build time. Values are converted as the
    column types would: JSON as text, datetimes (SQLite) in SQLAlchemy's storage format."""
    from cmpapi.server.db.base import PortableJSON, UTCDateTime

    keys = list(rows[0])
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(keys)}) VALUES ({', '.join([mark] * len(keys))})"
    stamps: dict[datetime, str] = {}

    def stamp(v: datetime | None) -> str | None:
        if v is None:
            return None
        out = stamps.get(v)
        if out is None:
            out = stamps[v] = v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return out

    def convert(key: str) -> Any:
        kind = table.c[key].type
        if isinstance(kind, PortableJSON):
            return json.dumps
        return stamp if sqlite and isinstance(kind, UTCDateTime) else None

    plan = [(k, convert(k)) for k in keys]
    conn.exec_driver_sql(sql, [tuple(f(r[k]) if f else r[k] for k, f in plan) for r in rows])


def _wire_status(task: Row, now: datetime) -> str:
    late = task["overdue_at"] is not None and task["overdue_at"] < now
    if task["status"] in ("Not Started", "In Progress") and late:
        return "Overdue"
    return str(task["status"])


def _pick_status(rng: random.Random) -> str:
    roll, acc = rng.random(), 0.0
    for status, share in STATUSES:
        acc += share
        if roll < acc:
            return status
    return STATUSES[-1][0]


def _tasks(
    n: int,
    rng: random.Random,
    now: datetime,
    org: str,
    owner: str,
    workflow_id: str,
    definition: list[dict[str, Any]],
    status: str | None = None,
    first_number: int = 1,
) -> Iterator[tuple[Row, list[Row], list[Row]]]:
    """(task, steps, sub-steps) per task. Tasks were created over the past 60 days and
    last modified at a random later time, so ``modified_at`` order is not insertion
    order. Sub-step states follow the status: Not Started: the first sub-step is open;
    In Progress / On Hold / Archived: the first is completed and the second in progress;
    Completed: all completed."""
    span = 60 * 86_400
    for i in range(n):
        task_id = f"{rng.getrandbits(128):032x}"
        created = now - timedelta(seconds=span - i * span // max(n, 1))
        modified = min(now, created + timedelta(seconds=rng.randrange(0, 5 * 86_400)))
        st = status or _pick_status(rng)
        overdue_at = None
        if st in ("Not Started", "In Progress") and rng.random() < 0.7:
            late = st == "In Progress" and rng.random() < OVERDUE_SHARE / 0.7
            days = -rng.randrange(1, 10) if late else rng.randrange(1, 30)
            overdue_at = now + timedelta(days=days)
        task = {
            "id": task_id,
            "org_id": org,
            "number": first_number + i,
            "title": f"Bench task {i:06d}",
            "workflow_id": workflow_id,
            "campaign_id": None,
            "milestone_id": None,
            "owner_id": owner,
            "start_at": None,
            "due_at": overdue_at,
            "overdue_at": overdue_at,
            "status": st,
            "is_started": st != "Not Started",
            "is_completed": st == "Completed",
            "is_archived": st == "Archived",
            "is_on_hold": st == "On Hold",
            "labels": [],
            "created_by": owner,
            "created_at": created,
            "modified_at": modified,
        }
        steps, subs, k = [], [], 0
        for p, step_def in enumerate(definition):
            step_id = f"{rng.getrandbits(128):032x}"
            steps.append(
                {
                    "id": step_id,
                    "org_id": org,
                    "task_id": task_id,
                    "position": p,
                    "title": step_def["name"],
                    "description": step_def["description"],
                    "due_at": None,
                    "is_completed": st == "Completed",
                    "completed_at": modified if st == "Completed" else None,
                }
            )
            for m, d in enumerate(step_def["sub_steps"]):
                state = _state(st, k)
                first = (d["assignees"] or [{"type": "user", "id": None}])[0]
                subs.append(
                    {
                        "id": f"{rng.getrandbits(128):032x}",
                        "org_id": org,
                        "task_id": task_id,
                        "step_id": step_id,
                        "position": m,
                        "title": d["name"],
                        "description": d["description"],
                        "actions": d["actions"],
                        "state": state,
                        "assignee_type": first["type"],
                        "assignee_id": first["id"],
                        "is_external": d["is_external"],
                        "external_system": d["external_system"],
                        "is_user_interaction_allowed": d["is_user_interaction_allowed"],
                        "ext_identifier": None,
                        "ext_title": None,
                        "ext_status": None,
                        "ext_url": None,
                        "started_at": created if state != "waiting" else None,
                        "finished_at": modified if state == "completed" else None,
                        "modified_at": modified,
                    }
                )
                k += 1
        yield task, steps, subs


def _state(status: str, k: int) -> str:
    """The state of the ``k``-th sub-step (in workflow order) of a task in ``status``."""
    if status == "Completed":
        return "completed"
    if status == "Not Started":
        return "open" if k == 0 else "waiting"
    return ("completed", "in_progress")[k] if k < 2 else "waiting"


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --------------------------------------------------------------------------- SQL profile


@dataclass
class Statement:
    """One SQL statement a listTasks call ran, replayed on the same database."""

    sql: str
    params: Any
    mean_ms: float
    plan: list[str]
    runs: int = 0


def profile_list(data: TasksData, query: dict[str, Any], repeat: int = 5) -> list[Statement]:
    """Run ``service.list_tasks`` in-process for one case (the call the route makes,
    without HTTP and auth), capture its SQL, then replay each statement (fetching every
    row; ``repeat`` times unless it takes over 1 s) with its plan: SQLite ``EXPLAIN QUERY
    PLAN``, PostgreSQL ``EXPLAIN (ANALYZE, BUFFERS)``."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from cmpapi.server import demo
    from cmpapi.server.authz import Principal
    from cmpapi.server.db import prepared
    from cmpapi.server.db.engine import make_engine
    from cmpapi.server.resources.tasks import service
    from cmpapi.wire import ListTasksParametersQuery

    engine = make_engine(settings_for(data.data_dir, data.database_url))
    captured: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        captured.append((sql, params))

    # Prepared reads (``Repository.rows``) run on the DBAPI cursor, past the engine's events.
    run_prepared = prepared.Prepared.rows

    def capture_prepared(self: Any, conn: Any, params: Any) -> Any:
        args = self.args(params)
        captured.append((self.sql, tuple(args) if isinstance(args, list) else args))
        return run_prepared(self, conn, params)

    admin = demo.demo_id("user:ada.admin")
    principal = Principal(org_id=demo.ORG_ID, user_id=admin, role="admin", app_id="")
    params = ListTasksParametersQuery.model_validate(query)
    try:
        event.listen(engine, "before_cursor_execute", before)
        prepared.Prepared.rows = capture_prepared  # type: ignore[method-assign]
        with Session(engine) as session:
            service.list_tasks(session, principal, params)
        prepared.Prepared.rows = run_prepared  # type: ignore[method-assign]
        event.remove(engine, "before_cursor_execute", before)
        out = []
        with engine.connect() as conn:
            pg = engine.dialect.name == "postgresql"
            for sql, args in captured:
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if pg else "EXPLAIN QUERY PLAN "
                rows = conn.exec_driver_sql(prefix + sql, args).all()
                plan = [r[0] for r in rows] if pg else _indent(rows)
                runs, elapsed = 0, 0.0
                while runs < repeat and (runs == 0 or elapsed < 1.0):
                    started = time.perf_counter()
                    conn.exec_driver_sql(sql, args).all()
                    elapsed += time.perf_counter() - started
                    runs += 1
                out.append(Statement(sql, args, round(elapsed / runs * 1000, 3), plan, runs))
        return out
    finally:
        engine.dispose()


def _indent(rows: list[Any]) -> list[str]:
    """SQLite's plan rows as the sqlite3 shell indents them."""
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


def print_profile(name: str, statements: list[Statement]) -> None:
    print(f"\n[{name}] {len(statements)} statement(s)")
    for s in statements:
        print(f"  {s.mean_ms:9.3f} ms  {' '.join(s.sql.split())[:160]}")
        for line in s.plan:
            print(f"                 {line}")
