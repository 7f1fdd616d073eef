"""Tasks benchmark: listTasks on 100,000 tasks and updateTaskSubStep throughput, each as a
ratio against a bare-Starlette reference doing the same work in the same run.

    .venv/bin/python bench/tasks_bench.py                      # SQLite, ~8 min
    .venv/bin/python bench/tasks_bench.py --analyze            # SQLite with statistics
    .venv/bin/python bench/tasks_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/cmpapi_bench_tasks
    .venv/bin/python bench/tasks_bench.py --rows 20000 --duration 5 --update-pool 10000

1. Data (``bench/_tasks_data.py``): a migrated, demo-seeded database plus ``--rows`` tasks
   of the demo "Blog post" workflow (with their steps and sub-steps) in the demo
   organization; 65 % In Progress (10 % of those overdue), 15 % Not Started, 12 %
   Completed, 4 % On Hold, 4 % Archived. A second organization holds fresh Not Started
   tasks for the update runs, one disjoint slice per run (a completed sub-step cannot be
   completed again). PostgreSQL: the database is created if needed, emptied, and
   ANALYZEd after the load (autovacuum would).
2. SQL profile: each listTasks case's ``service.list_tasks`` in-process; every statement
   replayed (mean ms) with its plan (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL
   ``EXPLAIN ANALYZE``).
3. Servers: cmpapi and ``bench/tasks_reference_app.py``, one uvicorn worker each with
   ``bench/run.py``'s flags, on the same database. Each case must first give the same
   answer on both (listTasks: the same body; updateTaskSubStep: the same body apart from
   the ids of the task it completed).
4. Load, per case: wrk warm-up on each target, then measured runs cmpapi, reference,
   reference, cmpapi (``bench/run.py``'s ABBA order), averaged per target. The update case
   sends ``PATCH {"is_completed": true}`` to the open first sub-step of a different task
   for each request (a wrk Lua script walks the slice's paths; a slice that runs out
   wraps around and the run fails on the 422s: raise ``--update-pool``).
5. Prints req/s, p50, p99 per target and the cmpapi/reference ratios; writes
   ``bench/results/tasks-<timestamp>.json``; removes the temp dir, also on error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _tasks_data as tasks
from run import (
    REFERENCE_LOOP,
    RESULTS_DIR,
    BenchError,
    Server,
    WrkResult,
    child_env,
    fetch,
    git_commit,
    mean,
    parse_wrk,
    start_server,
    versions,
    wait_ready,
)

BENCH_DIR = Path(__file__).resolve().parent
CMPAPI = ["--factory", "cmpapi.server.app:create_app"]
REFERENCE = ["--app-dir", str(BENCH_DIR), "--factory", "tasks_reference_app:make"]
WRK_TIMEOUT = 60  # s: one worker at -c32 queues slow requests past wrk's default 2 s
TARGETS = ("cmpapi", "reference")
ORDER = ("cmpapi", "reference", "reference", "cmpapi")
# The update slices, in the order the runs use them.
SLICES = (
    "warm cmpapi",
    "warm reference",
    "run 1",
    "run 2",
    "run 3",
    "run 4",
    "probe cmpapi",
    "probe reference",
)
LUA = """
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  local n, i = tonumber(args[2]), 0
  paths = {}
  for line in io.lines(args[1]) do
    if i % n == tid then paths[#paths + 1] = line end
    i = i + 1
  end
  idx = 0
  wrk.method = "PATCH"
  wrk.body = '{"is_completed": true}'
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  idx = idx + 1
  if idx > #paths then idx = 1 end
  return wrk.format(nil, paths[idx])
end
"""


@dataclass
class Case:
    name: str
    path: str  # list cases; the update case uses its slices
    items: int = 0
    query: dict[str, Any] = field(default_factory=dict)
    single_ms: dict[str, float] = field(default_factory=dict)
    runs: list[WrkResult] = field(default_factory=list)


def list_cases(data: tasks.TasksData, offset: int) -> list[Case]:
    status = "status=In%20Progress"
    offset = min(offset, data.in_progress - 10)
    return [
        Case("first page", "/v3/tasks?page_size=10", 10, {"page_size": 10}),
        Case(
            "status filter",
            f"/v3/tasks?{status}&page_size=10",
            10,
            {"page_size": 10, "status": ["In Progress"]},
        ),
        Case(
            f"status offset {offset}",
            f"/v3/tasks?{status}&page_size=10&offset={offset}",
            10,
            {"page_size": 10, "status": ["In Progress"], "offset": offset},
        ),
    ]


# --------------------------------------------------------------------------- checks


def same_list_answer(servers: dict[str, Server], case: Case, token: str) -> None:
    """Both answer 200 with the same body (base URL aside) and the expected item count;
    records the best unloaded latency of three requests per target."""
    bodies = {}
    for name, server in servers.items():
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            status, raw = fetch(server.base + case.path, token)
            best = min(best, (time.perf_counter() - started) * 1000)
            if status != 200:
                raise BenchError(f"{case.name}: {name} answered {status}: {raw[:300]!r}")
        case.single_ms[name] = round(best, 2)
        bodies[name] = json.loads(raw.decode().replace(server.base, "BASE"))
    if bodies["cmpapi"] != bodies["reference"]:
        raise BenchError(
            f"{case.name}: bodies differ:\n"
            + "\n".join(f"{n}: {json.dumps(b, sort_keys=True)[:800]}" for n, b in bodies.items())
        )
    if len(bodies["cmpapi"]["data"]) != case.items:
        raise BenchError(f"{case.name}: {len(bodies['cmpapi']['data'])} items, not {case.items}")


def patch(url: str, token: str) -> tuple[int, bytes, float]:
    req = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=b'{"is_completed": true}',
        method="PATCH",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback only
            return resp.status, resp.read(), (time.perf_counter() - started) * 1000
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), (time.perf_counter() - started) * 1000


def same_update_answer(servers: dict[str, Server], case: Case, data: tasks.TasksData) -> None:
    """PATCHes on three probe tasks per target (the best latency is kept): both 200 with
    the same body once the ids of the task, step and sub-step (and the base URL) are
    replaced."""
    bodies = {}
    for name, server in servers.items():
        best = float("inf")
        for path in data.update_slices[SLICES.index(f"probe {name}")]:  # best of 3 tasks
            status, raw, ms = patch(server.base + path, data.update_token)
            if status != 200:
                raise BenchError(f"update: {name} answered {status}: {raw[:300]!r}")
            best = min(best, ms)
        case.single_ms[name] = round(best, 2)
        text = raw.decode().replace(server.base, "BASE")
        for n, part in enumerate(path.split("/")[3::2]):  # task, step and sub-step ids
            text = text.replace(part, f"ID{n}")
        bodies[name] = json.loads(text)
    if bodies["cmpapi"] != bodies["reference"]:
        raise BenchError(
            "update: bodies differ:\n"
            + "\n".join(f"{n}: {json.dumps(b, sort_keys=True)}" for n, b in bodies.items())
        )
    if not bodies["cmpapi"]["is_completed"]:
        raise BenchError(f"update: the sub-step was not completed: {bodies['cmpapi']}")


# --------------------------------------------------------------------------- wrk


def run_wrk(
    url: str,
    token: str,
    args: Any,
    seconds: int,
    script: list[str] | None = None,
    connections: int | None = None,
) -> tuple[str, list[str]]:
    """wrk with ``--timeout`` (see WRK_TIMEOUT) and an optional Lua script + its args."""
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{connections or args.connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        f"{WRK_TIMEOUT}s",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    if script:
        cmd += ["-s", script[0]]
    cmd += [url, *(["--", *script[1:]] if script else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=False)
    out = proc.stdout
    problems = re.findall(r"(Non-2xx or 3xx responses:\s*\d+|Socket errors:.*)", out)
    if proc.returncode != 0 or problems:
        hint = " (update slice exhausted? raise --update-pool)" if script else ""
        raise BenchError(f"wrk against {url}: {problems or proc.stderr}{hint}\n{out}")
    shown = [
        c if not c.startswith("Authorization") else "Authorization: Bearer <token>" for c in cmd
    ]
    return out, shown


def update_script(tmp: Path, data: tasks.TasksData, slice_name: str, threads: int) -> list[str]:
    lua = tmp / "update.lua"
    if not lua.exists():
        lua.write_text(LUA)
    paths = tmp / f"paths-{slice_name.replace(' ', '-')}.txt"
    paths.write_text("\n".join(data.update_slices[SLICES.index(slice_name)]) + "\n")
    return [str(lua), str(paths), str(threads)]


def load(
    servers: dict[str, Server], case: Case, data: tasks.TasksData, args: Any, tmp: Path
) -> None:
    """Warm-ups, then the ABBA runs of one case."""
    update = case.path == ""
    token = data.update_token if update else data.admin_token

    def target(name: str, slice_name: str) -> tuple[str, list[str] | None]:
        server = servers[name]
        if not update:
            return server.base + case.path, None
        url = server.base + data.update_slices[0][0]  # wrk needs a URL; the script sets paths
        return url, update_script(tmp, data, slice_name, args.threads)

    for name in TARGETS if args.warmup > 0 else ():
        url, script = target(name, f"warm {name}")
        run_wrk(url, token, args, args.warmup, script, connections=32)
        wait_ready(servers[name], data.admin_token, timeout=600)
    for n, name in enumerate(ORDER, 1):
        time.sleep(args.pause)
        server = servers[name]
        if server.proc.poll() is not None:
            raise BenchError(f"{name} died:\n{server.log_tail()}")
        url, script = target(name, f"run {n}")
        out, cmd = run_wrk(url, token, args, args.duration, script)
        result = parse_wrk(name, out, cmd)
        case.runs.append(result)
        print(
            f"  {case.name:<22} {name:<10} {result.req_per_s:>9,.1f} req/s  "
            f"p50 {result.p50_ms:8.1f} ms  p99 {result.p99_ms:8.1f} ms"
        )
        # A single worker still finishes what wrk's closed connections queued.
        wait_ready(server, data.admin_token, timeout=600)
        server.check_log()


def summary(case: Case) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": case.path or "PATCH <open first sub-step>",
        "single_request_ms": case.single_ms,
    }
    for name in TARGETS:
        mine = [r for r in case.runs if r.target == name]
        if mine:
            out[name] = {
                "req_per_s": round(mean([r.req_per_s for r in mine]), 1),
                "p50_ms": round(mean([r.p50_ms for r in mine]), 2),
                "p99_ms": round(mean([r.p99_ms for r in mine]), 2),
            }
    if "cmpapi" in out and "reference" in out:
        c, r = out["cmpapi"], out["reference"]
        out["ratio"] = {
            "req_per_s": round(c["req_per_s"] / r["req_per_s"], 3),
            "p99": round(c["p99_ms"] / r["p99_ms"], 3),
        }
    return out


# --------------------------------------------------------------------------- main


def pg_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def ensure_pg_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database if it does not exist."""
    import psycopg

    base, name = pg_conninfo(url).rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as con:
        if con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            con.execute(f'CREATE DATABASE "{name}"')


def analyze(data: tasks.TasksData) -> float:
    """SQLite ANALYZE / PostgreSQL VACUUM ANALYZE; the seconds it took."""
    started = time.perf_counter()
    if data.database_url:
        import psycopg

        with psycopg.connect(pg_conninfo(data.database_url), autocommit=True) as con:
            con.execute("VACUUM ANALYZE")
    else:
        import sqlite3

        con = sqlite3.connect(data.db_path or "")
        con.execute("ANALYZE")
        con.commit()
        con.close()
    return round(time.perf_counter() - started, 2)


def print_table(cases: list[Case]) -> None:
    print(
        f"\n{'case':<22} {'cmpapi req/s':>13} {'ref req/s':>10} {'ratio':>6} "
        f"{'cmpapi p99':>11} {'ref p99':>9} {'1 req (c/r)':>16}"
    )
    for case in cases:
        s = summary(case)
        if "ratio" not in s:
            continue
        c, r = s["cmpapi"], s["reference"]
        one = f"{case.single_ms.get('cmpapi', 0):.1f}/{case.single_ms.get('reference', 0):.1f}ms"
        print(
            f"{case.name:<22} {c['req_per_s']:>13,.1f} {r['req_per_s']:>10,.1f} "
            f"{s['ratio']['req_per_s']:>6.2f} {c['p99_ms']:>9.1f}ms {r['p99_ms']:>7.1f}ms "
            f"{one:>16}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="tasks in the demo organization")
    ap.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    ap.add_argument("--connections", type=int, default=32, help="wrk -c of measured runs")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per target")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between wrk runs")
    ap.add_argument("--offset", type=int, default=50_000, help="offset of the deep-page case")
    ap.add_argument(
        "--update-pool",
        type=int,
        default=10_000,
        help="tasks per measured update run (each request completes one)",
    )
    ap.add_argument("--analyze", action="store_true", help="SQLite ANALYZE after the load")
    ap.add_argument("--skip-update", action="store_true", help="only the listTasks cases")
    args = ap.parse_args(argv)

    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        print(
            f"note: load average {load_before[0]:.2f} before the run: absolute figures will "
            "be low (read the ratios)"
        )
    tmp = Path(tempfile.mkdtemp(prefix="cmpapi-tasks-bench-"))
    servers: dict[str, Server] = {}
    try:
        pool = 0 if args.skip_update else args.update_pool
        sizes = [pool // 2, pool // 2, pool, pool, pool, pool, 3, 3] if pool else []
        if args.database_url:
            ensure_pg_database(args.database_url)
        data = tasks.build(tmp / "data", args.rows, sizes, args.database_url)
        backend = "postgresql" if args.database_url else "sqlite"
        print(
            f"data ({backend}): {args.rows:,} tasks (+{sum(sizes):,} update targets) in "
            f"{data.timings_s['total']} s {data.timings_s}; In Progress: {data.in_progress:,}"
        )
        if args.analyze or args.database_url:
            data.timings_s["analyze"] = analyze(data)
            print(f"ANALYZE: {data.timings_s['analyze']} s")
        cases = list_cases(data, args.offset)
        profiles = {}
        print("\nSQL per listTasks call (in-process, replayed):")
        for case in cases:
            profiles[case.name] = tasks.profile_list(data, case.query)
            tasks.print_profile(case.name, profiles[case.name])

        db_env = {"CMPAPI_DATABASE_URL": args.database_url} if args.database_url else {}
        ref_env = (
            {"BENCH_PG": pg_conninfo(args.database_url)}
            if args.database_url
            else {"BENCH_DB": str(data.db_path)}
        )
        servers["cmpapi"] = start_server(
            "cmpapi",
            CMPAPI,
            child_env(CMPAPI_DATA_DIR=str(data.data_dir), CMPAPI_WORKER_EMBEDDED="false", **db_env),
            tmp,
        )
        servers["reference"] = start_server(
            "reference", REFERENCE, child_env(**ref_env), tmp, REFERENCE_LOOP
        )
        for server in servers.values():
            wait_ready(server, data.admin_token)
            print(f"{server.name}: pid {server.proc.pid}, {server.base}")
        for case in cases:
            same_list_answer(servers, case, data.admin_token)
        if pool:
            update = Case("updateTaskSubStep", "")
            same_update_answer(servers, update, data)
            cases.append(update)
        print(
            "both targets give the same answers; single requests (ms): "
            + ", ".join(f"{c.name} {c.single_ms}" for c in cases)
        )

        print("\nruns:")
        for case in cases:
            load(servers, case, data, args, tmp)
        rss = {name: s.rss_mib() for name, s in servers.items()}
        print_table(cases)

        RESULTS_DIR.mkdir(exist_ok=True)
        out_file = RESULTS_DIR / f"tasks-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        record = {
            "started_at": started.isoformat(),
            "git_commit": git_commit(),
            "backend": backend,
            "nproc": os.cpu_count(),
            "versions": versions(),
            "args": vars(args),
            "data": {
                "rows": args.rows,
                "in_progress": data.in_progress,
                "update_slices": dict(zip(SLICES, sizes, strict=False)),
                "db_bytes": data.db_bytes,
                "timings_s": data.timings_s,
            },
            "cases": {c.name: summary(c) for c in cases},
            "runs": [asdict(r) | {"case": c.name} for c in cases for r in c.runs],
            "sql": {name: [asdict(s) for s in st] for name, st in profiles.items()},
            "rss_mib_after_load": rss,
            "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        }
        out_file.write_text(json.dumps(record, indent=2, default=str) + "\n")
        print(f"\nresults: {out_file.relative_to(BENCH_DIR.parent)}")
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        for server in servers.values():
            print(f"--- {server.name} log ---\n{server.log_tail()}", file=sys.stderr)
        return 1
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
