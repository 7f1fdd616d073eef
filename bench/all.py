"""List pages against data size: single-request latency of listAssets, listTasks,
listFolders, listWorkRequests and listCampaigns at 1k to 1M rows, SQLite and PostgreSQL.

    .venv/bin/python bench/all.py                                  # every size, both backends
    .venv/bin/python bench/all.py --sizes 1000,10000 --backends sqlite
    .venv/bin/python bench/all.py --only listTasks --repeat 25
    .venv/bin/python bench/all.py --rebuild                        # rebuild cached databases

1. Data (``_all_data``, ``_all_setup``, ``_all_rows``): per (backend, size), a database
   with ``size`` assets, tasks, campaigns and work requests (folders capped at 100,000)
   in an organization of their own, cached between runs (``--cache-dir``): SQLite files, and
   PostgreSQL databases ``cmpapi_bench_all_<size>`` (created and emptied by the script).
2. One cmpapi server (``bench/run.py``'s uvicorn flags, ``CMPAPI_WORKER_EMBEDDED=false``)
   per database. Per case: warm-up requests, then ``--repeat`` sequential requests over
   one kept-alive connection; median and p90 in ms. Every answer must be 200 with the
   expected item count, ``pagination.next`` and (listAssets) ``total_count``.
3. ``bench/results/all-<UTC>.json``, a markdown table (``.md``, also printed) with a
   growth column (time at the largest size / time at the smallest) and a PNG plot.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import _all_data as data
import _all_report as report
from run import RESULTS_DIR, BenchError, Server, child_env, git_commit, start_server, wait_ready

OFFSETS = (0, 10_000)
PAGE = 10
CMPAPI = ["--factory", "cmpapi.server.app:create_app"]


@dataclass(frozen=True)
class Case:
    """One list request; ``expect`` names the count of matching rows in ``Meta.expected``."""

    op: str
    name: str
    query: str  # path and filters, without paging
    expect: str
    member: bool = False
    total_count: bool = False  # the answer carries total_count (listAssets)


@dataclass
class Result:
    case: str  # "<op> <name> @<offset>"
    op: str
    offset: int
    expected_items: int
    status: str = "ok"  # ok | timeout | error: ...
    median_ms: float | None = None
    p90_ms: float | None = None
    samples: list[float] = field(default_factory=list)
    server_log: str = ""  # the server log's last lines when the case failed


def cases(meta: data.Meta) -> list[Case]:
    ids = meta.ids
    label = quote(json.dumps({"group": ids["label_group"], "values": [ids["label"]]}), safe="")
    fields = quote(
        base64.b64encode(
            json.dumps([{"id": ids["field"], "values": [ids["web"]]}]).encode()
        ).decode(),
        safe="",
    )
    assets = "/v3/assets"
    return [
        Case("listAssets", "no filter", assets, "assets", total_count=True),
        Case("listAssets", "type=image", f"{assets}?type=image", "image", total_count=True),
        Case("listAssets", "label", f"{assets}?label={label}", "label", total_count=True),
        Case("listAssets", "field value", f"{assets}?fields={fields}", "field", total_count=True),
        Case(
            "listAssets",
            "folder + subfolders",
            f"{assets}?folder_id={ids['filter_folder']}&include_subfolder_assets=true",
            "folder",
            total_count=True,
        ),
        Case(
            "listAssets", "search_text", f"{assets}?search_text=harbor", "search", total_count=True
        ),
        Case("listAssets", "member (ACL)", assets, "member", member=True, total_count=True),
        Case("listTasks", "no filter", "/v3/tasks", "tasks"),
        Case("listTasks", "status", "/v3/tasks?status=In%20Progress", "status"),
        Case("listTasks", "workflow", f"/v3/tasks?workflow={ids['workflow']}", "workflow"),
        Case("listTasks", "campaign", f"/v3/tasks?campaign={ids['campaign']}", "campaign"),
        Case("listTasks", "search_key", "/v3/tasks?search_key=harbor", "task_search"),
        Case("listFolders", "no filter", "/v3/folders", "folders"),
        Case("listWorkRequests", "no filter", "/v3/work-requests", "work_requests"),
        Case("listCampaigns", "no filter", "/v3/campaigns", "campaigns"),
    ]


def paged(query: str, offset: int) -> str:
    return f"{query}{'&' if '?' in query else '?'}offset={offset}&page_size={PAGE}"


def check(answer: Any, case: Case, total: int, offset: int) -> None:
    """200, the expected number of items, ``next`` iff more rows follow, total_count."""
    if answer.status_code != 200:
        raise BenchError(f"HTTP {answer.status_code}: {answer.text[:300]}")
    body = answer.json()
    items = max(0, min(PAGE, total - offset))
    if len(body["data"]) != items:
        raise BenchError(f"{len(body['data'])} items, expected {items}")
    if (body["pagination"]["next"] is not None) != (total > offset + PAGE):
        raise BenchError(f"pagination.next is {body['pagination']['next']!r} with {total} rows")
    if case.total_count and body.get("total_count") != total:
        raise BenchError(f"total_count {body.get('total_count')}, expected {total}")


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def measure(
    client: Any, url: str, token: str, check_answer: Any, args: argparse.Namespace
) -> tuple[list[float], str]:
    """Warm-ups, then timed requests; stops early past ``--budget`` s (3 samples at
    least). Returns the timed ms and a status."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    samples: list[float] = []
    spent, n = 0.0, 0
    while len(samples) < args.repeat:
        started = time.perf_counter()
        try:
            answer = client.get(url, headers=headers)
        except httpx.TimeoutException:
            return samples, f"timeout (> {args.timeout:.0f} s)"
        ms = (time.perf_counter() - started) * 1000
        spent += ms / 1000
        try:
            check_answer(answer)
        except BenchError as exc:
            return samples, f"error: {exc}"
        if n >= args.warmup or spent > args.budget / 4:  # a slow case skips its warm-ups
            samples.append(round(ms, 3))
        n += 1
        if spent > args.budget and len(samples) >= 3:
            break
    return samples, "ok"


def issue_tokens(built: data.Built) -> tuple[str, str]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from cmpapi.server.db.engine import make_engine
    from cmpapi.server.oauth import store
    from cmpapi.server.oauth.tables import OAuthApp
    from cmpapi.server.settings import Settings

    engine = make_engine(Settings(data_dir=built.data_dir, database_url=built.database_url))
    meta = built.meta
    try:
        with Session(engine) as session:
            app = session.scalars(select(OAuthApp).where(OAuthApp.id == meta.app_id)).one()
            tokens = [
                str(
                    store.issue_token(
                        session, app, user, kind="access", ttl_seconds=data.TOKEN_TTL
                    ).raw
                )
                for user in (meta.admin_id, meta.member_id)
            ]
            session.commit()
    finally:
        engine.dispose()
    return tokens[0], tokens[1]


def serve(built: data.Built, tmp: Path, token: str) -> Server:
    env = {"CMPAPI_DATA_DIR": str(built.data_dir), "CMPAPI_WORKER_EMBEDDED": "false"}
    if built.database_url:
        env["CMPAPI_DATABASE_URL"] = built.database_url
    server = start_server(
        f"cmpapi-{built.meta.backend}-{built.meta.size}", CMPAPI, child_env(**env), tmp
    )
    wait_ready(server, token, timeout=60)
    return server


def stop(server: Server) -> list[str]:
    """Stop the server; the tail of its log if it logged an error (a restarted server's
    log replaces it)."""
    server.stop()
    text = server.log.read_text(errors="replace") if server.log.exists() else ""
    return [server.log_tail(40)] if "Traceback" in text or "ERROR" in text else []


def run_size(built: data.Built, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every case on one database, through one server (restarted after a timeout)."""
    import httpx

    admin, member = issue_tokens(built)
    meta, results, log_errors = built.meta, [], []
    server = serve(built, tmp, admin)
    client = httpx.Client(timeout=args.timeout)
    try:
        for case in cases(meta):
            for offset in OFFSETS:
                label = f"{case.op} {case.name} @{offset}"
                if args.only and not any(o in label for o in args.only):
                    continue
                total = meta.expected[case.expect]
                result = Result(label, case.op, offset, max(0, min(PAGE, total - offset)))
                url = server.base + paged(case.query, offset)
                samples, result.status = measure(
                    client,
                    url,
                    member if case.member else admin,
                    lambda a, c=case, t=total, o=offset: check(a, c, t, o),
                    args,
                )
                if samples:
                    result.samples = samples
                    result.median_ms = round(statistics.median(samples), 2)
                    result.p90_ms = round(p90(samples), 2)
                print(f"  {label:<48} {report.cell(result):>22}  {result.status}", flush=True)
                if result.status != "ok":
                    result.server_log = server.log_tail(5)
                    print(f"    server log: {result.server_log}")
                results.append(result)
                if result.status.startswith("timeout"):  # the server is still on it
                    client.close()
                    log_errors += stop(server)
                    server = serve(built, tmp, admin)
                    client = httpx.Client(timeout=args.timeout)
    finally:
        client.close()
        log_errors += stop(server)
    return {"results": [asdict(r) for r in results], "log_errors": log_errors}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--repeat", type=int, default=15, help="timed requests per case")
    ap.add_argument("--warmup", type=int, default=3, help="untimed requests per case first")
    ap.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds per case after which it stops (with 3 samples at least)",
    )
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    ap.add_argument("--only", action="append", help="only cases whose label contains this")
    ap.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "cmpapi-bench-cache"
    )
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached databases")
    ap.add_argument(
        "--pg-prefix",
        default=data.PG_PREFIX,
        help="PostgreSQL databases are <prefix>_<size> (another prefix per worktree)",
    )
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)
    data.PG_PREFIX = args.pg_prefix
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    backends = [b.strip() for b in args.backends.split(",")]
    if set(backends) - {"sqlite", "postgresql"}:
        ap.error("--backends takes sqlite and/or postgresql")

    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    record: dict[str, Any] = {
        "started_at": started.isoformat(),
        "git_commit": git_commit(),
        "args": vars(args) | {"cache_dir": str(args.cache_dir)},
        "nproc": os.cpu_count(),
        "loadavg_before": os.getloadavg()[0],
        "alembic_head": data.alembic_head(),
        "runs": {},
    }
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="cmpapi-bench-all-"))
    try:
        for backend in backends:
            for size in sizes:
                print(f"\n[{backend} {size:,}] data ...", flush=True)
                built = data.ensure(backend, size, args.cache_dir, args.rebuild)
                how = "reused" if built.reused else f"built in {built.seconds:.1f} s"
                print(f"[{backend} {size:,}] {how} {built.meta.build_s}", flush=True)
                for warning in data.missing_writes(built.meta):
                    print(f"  WARNING: {warning}")
                try:
                    run = run_size(built, tmp, args)
                except BenchError as exc:  # the server did not start: report, go on
                    print(f"  FAILED: {exc}")
                    run = {"results": [], "log_errors": [str(exc)]}
                run |= {
                    "reused": built.reused,
                    "seconds": round(built.seconds, 2),
                    "meta": asdict(built.meta),
                    "missing_writes": data.missing_writes(built.meta),
                }
                record["runs"][f"{backend}/{size}"] = run
                for tail in run["log_errors"]:
                    print(f"  server logged errors:\n{tail}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record["loadavg_after"] = os.getloadavg()[0]
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"all-{stamp}"
    out.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    markdown = report.markdown(record, backends, sizes)
    out.with_suffix(".md").write_text(markdown)
    print("\n" + markdown)
    print(f"results: {out.with_suffix('.json')}, {out.with_suffix('.md')}")
    if not args.no_plot:
        print(report.plot(record, backends, sizes, out.with_suffix(".png")))
    failed = [r for run in record["runs"].values() for r in run["results"] if r["status"] != "ok"]
    broken = [k for k, run in record["runs"].items() if run["log_errors"]]
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main())
