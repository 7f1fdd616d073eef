"""Periodic database upkeep, run by the job worker.

SQLite plans queries from table statistics that only ``ANALYZE`` collects; without them,
listAssets at 100,000 assets picked a full index scan for the ACL subqueries (2.2 s a page
before, 353 ms after ANALYZE; bench/README.md). PostgreSQL's autovacuum analyzes by itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from cmpapi.server.db.base import new_id
from cmpapi.server.jobs import JobContext, job_handler
from cmpapi.server.jobs.queue import enqueue_once

ANALYZE = "db.analyze"


def schedule_analyze(engine: Engine) -> None:
    """Queue one statistics refresh (``cmpapi serve`` does at every start, after migrating)."""
    enqueue_once(engine, ANALYZE, f"start:{new_id()}")


@job_handler(ANALYZE, timeout=600, concurrency=1)
def analyze(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Refresh SQLite's planner statistics (sampled: ``analysis_limit`` keeps it quick)."""
    with ctx.resources.engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            return
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
