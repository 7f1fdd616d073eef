"""Scale-out on PostgreSQL: one API process against `cmpapi serve --workers 2`, and one job
worker's webhook deliveries a second with the API idle against the API under load.

    .venv/bin/python bench/scaleout.py                      # ~6 min: both parts
    .venv/bin/python bench/scaleout.py --skip webhooks --rows 20000 --threads 1
    .venv/bin/python bench/scaleout.py --skip api --events 5000 --webhooks 4

1. Data: the scratch database (``--database-url``, default
   ``postgresql+psycopg://postgres@127.0.0.1:5432/cmpapi_bench_scaleout``) is dropped and
   created again, then filled like ``bench/library_bench.py`` does (``_library_data``: the
   demo organization, ``--rows`` assets, a 7-day admin token) plus ``--users`` users, and
   vacuumed and analyzed (as autovacuum would soon after such a load).
2. API (target: ``--workers 2`` serves >= 1.6x the requests of one process):
   ``cmpapi serve --no-embedded-worker`` twice, with ``--workers 1`` and ``--workers 2``,
   both running all along. Per case (listAssets first page, ``GET /v3/userlist``, 10 items,
   admin token): a wrk warm-up per server, then measured runs in the order 1, 2, 2, 1
   (ABBA), averaged per server. wrk runs on the same cores (``--threads 1`` by default).
   Each run records the CPU time per request of the server's processes, of the
   PostgreSQL backends of the database and of wrk, and the load average. From the single
   process's CPU split comes the **ceiling** of the ratio on this box: one process is held
   to one core by its GIL, two share the cores with PostgreSQL and wrk.
3. Webhooks: one ``cmpapi worker`` process delivers ``--events`` events x ``--webhooks``
   webhooks to a receiver that answers 200 at once (``bench/webhooks_bench.py``'s), in the
   order idle, loaded, loaded, idle. "Loaded": wrk drives listAssets on the
   ``--workers 2`` server all through the deliveries. The rate is deliveries seen by the
   receiver over the time from its first to its last (the worker's start-up left out).
4. Prints the figures and writes them to ``bench/results/scaleout-<timestamp>.json``.

Not part of the test suite; loopback traffic only. Any non-2xx answer, socket error or
traceback in a server's log fails the run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _library_data as library
import webhooks_bench as hooks
from library_bench import WRK_TIMEOUT, children
from library_bench import run_wrk as run_wrk_checked
from run import (
    RESULTS_DIR,
    BenchError,
    Server,
    WrkResult,
    child_env,
    fetch,
    free_port,
    git_commit,
    mean,
    parse_wrk,
    versions,
    wait_ready,
)
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session

from cmpapi.server.events.outbox import record_event
from cmpapi.server.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/cmpapi_bench_scaleout"
CASES = {
    "listAssets first page": "/v3/assets?page_size=10",
    "listUsers (userlist)": "/v3/userlist?page_size=10",
}
ABBA = (1, 2, 2, 1)
LOAD_CASE = "listAssets first page"  # what loads the API during the webhook runs


@dataclass
class Run:
    target: str
    result: WrkResult
    wrk_cpu_s: float
    loadavg: tuple[float, float]  # 1-minute load average before and after
    api_cpu_s: float = 0.0  # the server's processes
    db_cpu_s: float = 0.0  # the PostgreSQL backends connected to the bench database

    def per_request_ms(self) -> dict[str, float]:
        n = self.result.requests
        cpu = {"api": self.api_cpu_s, "db": self.db_cpu_s, "wrk": self.wrk_cpu_s}
        return {k: round(v / n * 1000, 3) for k, v in cpu.items()}


@dataclass
class Delivery:
    mode: str  # idle | loaded
    deliveries: int
    seconds: float
    worker_cpu_ms_per_delivery: float
    api: WrkResult | None = None  # wrk's figures during the deliveries (loaded)
    loadavg: tuple[float, float] = (0.0, 0.0)

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds


@dataclass
class Report:
    api: dict[str, list[Run]] = field(default_factory=dict)
    webhooks: list[Delivery] = field(default_factory=list)


# --------------------------------------------------------------------------- setup


def recreate_database(url: str) -> None:
    """Drop and create the scratch database named by ``url``."""
    from sqlalchemy import create_engine, make_url, text

    name = make_url(url).database
    if not name or not name.startswith("cmpapi_bench"):
        raise BenchError(f"refusing to drop {name!r}: the name must start with cmpapi_bench")
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def add_users(url: str, data_dir: Path, count: int) -> None:
    """``count`` users in the demo organization (as ``bench/run.py`` adds): listUsers pages."""
    from cmpapi.server import demo
    from cmpapi.server.db.engine import make_engine
    from cmpapi.server.identity.service import create_user

    engine = make_engine(Settings(data_dir=data_dir, database_url=url))
    try:
        with Session(engine) as session:
            for i in range(count):
                email, name = f"bench.user{i:05d}@bench.cmpapi.dev", f"Bench User{i:05d}"
                role = ("member", "viewer")[i % 2]
                create_user(session, demo.ORG_ID, email=email, name=name, role=role)
            session.commit()
    finally:
        engine.dispose()


def vacuum_analyze(url: str) -> None:
    """What autovacuum would do a minute or so after the bulk load: planner statistics (a
    fresh table's estimate of 8 rows made the first page a sort of all 20,000 assets, 7 ms
    instead of 0.05 ms) and the visibility map (index-only counts)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def serve(name: str, workers: int, env: dict[str, str], tmp: Path) -> Server:
    """`cmpapi serve --workers N --no-embedded-worker` on a free loopback port."""
    port = free_port()
    log = tmp / f"{name}.log"
    argv = [sys.executable, "-m", "cmpapi.cli.main", "serve", "--workers", str(workers)]
    argv += ["--no-embedded-worker", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    return Server(name, proc, port, log)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load1() -> float:
    return round(os.getloadavg()[0], 2)


# --------------------------------------------------------------------------- 2. API


def wrk_command(url: str, args: argparse.Namespace, seconds: int) -> list[str]:
    return [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        f"{WRK_TIMEOUT}s",
        "-H",
        "Authorization: Bearer <token>",
        url,
    ]


def cpu_snapshot(server: Server, url: str) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the server's processes and of the database's backends."""
    pids = {"api": [server.proc.pid, *children(server.proc.pid)], "db": backends(url)}
    out: dict[str, dict[int, float]] = {}
    for kind, found in pids.items():
        out[kind] = {}
        for pid in found:
            with contextlib.suppress(OSError):
                out[kind][pid] = process_cpu_s(pid)
    return out


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots (processes in both; new ones from zero)."""
    return round(sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items()), 2)


def backends(url: str) -> list[int]:
    """The pids of the PostgreSQL backends connected to the database of ``url``."""
    import psycopg

    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False)) as conn:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        rows = conn.execute(query, (target.database,)).fetchall()
    return [int(pid) for (pid,) in rows]


def measure(server: Server, path: str, token: str, args: argparse.Namespace) -> Run:
    url = server.base + path
    before, cpu, procs = load1(), children_cpu_s(), cpu_snapshot(server, args.database_url)
    out = run_wrk_checked(
        url, token, threads=args.threads, connections=args.connections, seconds=args.duration
    )
    cpu, spent = children_cpu_s() - cpu, cpu_snapshot(server, args.database_url)
    result = parse_wrk(server.name, out, wrk_command(url, args, args.duration))
    api, db = (cpu_spent(procs[k], spent[k]) for k in ("api", "db"))
    return Run(server.name, result, round(cpu, 2), (before, load1()), api, db)


def api_part(
    servers: dict[int, Server], token: str, args: argparse.Namespace
) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {}
    for case, path in CASES.items():
        print(f"\n{case}: {path}")
        for server in servers.values():
            status, raw = fetch(server.base + path, token)
            if status != 200 or len(json.loads(raw)["data"]) != 10:
                raise BenchError(f"{server.name} {path}: {status} {raw[:300]!r}")
            if args.warmup:
                run_wrk_checked(
                    server.base + path,
                    token,
                    threads=args.threads,
                    connections=args.connections,
                    seconds=args.warmup,
                )
        runs[case] = []
        for workers in ABBA:
            time.sleep(args.pause)
            run = measure(servers[workers], path, token, args)
            runs[case].append(run)
            r = run.result
            ms = run.per_request_ms()
            print(
                f"  {run.target:<10} {r.req_per_s:>9,.1f} req/s  p50 {r.p50_ms:7.1f} ms  "
                f"p99 {r.p99_ms:7.1f} ms  CPU/request: API {ms['api']:.2f} ms, PostgreSQL "
                f"{ms['db']:.2f} ms, wrk {ms['wrk']:.2f} ms  "
                f"load {run.loadavg[0]:.1f} -> {run.loadavg[1]:.1f}"
            )
        for server in servers.values():
            server.check_log()
    return runs


# --------------------------------------------------------------------------- 3. webhooks


def record_events(url: str, tmp: Path, args: argparse.Namespace, port: int) -> Engine:
    """Empty the webhook, outbox and job tables; a new organization whose webhooks point at
    the receiver; ``args.events`` events recorded in one transaction."""
    settings = Settings(
        data_dir=tmp,
        database_url=url,
        worker_embedded=False,
        webhook_allow_private_targets=True,
        webhook_allow_http_loopback=True,
    )
    engine = hooks.prepare(settings)
    org = hooks.organization(engine, settings, args.webhooks, port)
    with Session(engine) as session:
        for i in range(args.events):
            record_event(session, "asset_added", {"asset": {"id": f"a{i}"}}, org_id=org)
        session.commit()
    return engine


def start_load(server: Server, token: str, args: argparse.Namespace) -> subprocess.Popen[str]:
    """wrk on the API until ``stop_load``; the API is at full load when this returns."""
    url = server.base + CASES[LOAD_CASE]
    cmd = wrk_command(url, args, 600)
    cmd[cmd.index("Authorization: Bearer <token>")] = f"Authorization: Bearer {token}"
    wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(2)
    return wrk


def stop_load(wrk: subprocess.Popen[str]) -> WrkResult:
    wrk.send_signal(signal.SIGINT)  # wrk stops and prints its summary
    out, _ = wrk.communicate(timeout=60)
    if "Non-2xx" in out or "Socket errors" in out:
        raise BenchError(f"wrk during the deliveries:\n{out}")
    return parse_wrk("api", out, [])


def check(worker: subprocess.Popen[bytes], deadline: float, tmp: Path) -> None:
    code = worker.poll()
    if code is not None or time.monotonic() > deadline:
        what = f"exited with {code}" if code is not None else "stalled"
        raise BenchError(f"worker {what}:\n{(tmp / 'worker.log').read_text()}")


def time_deliveries(
    worker: subprocess.Popen[bytes], port: int, want: int, tmp: Path
) -> tuple[float, float]:
    """Seconds from the receiver's first request to its ``want``-th, and the worker's CPU
    seconds meanwhile (its start-up left out)."""
    base, deadline = hooks.received(port), time.monotonic() + 300
    while hooks.received(port) == base:
        check(worker, deadline, tmp)
        time.sleep(0.01)
    started, cpu = time.perf_counter(), process_cpu_s(worker.pid)
    while hooks.received(port) < base + want:
        check(worker, deadline, tmp)
        time.sleep(0.02)
    return time.perf_counter() - started, process_cpu_s(worker.pid) - cpu


def deliver(
    env: dict[str, str],
    tmp: Path,
    args: argparse.Namespace,
    port: int,
    load: tuple[Server, str] | None,
) -> Delivery:
    """One round: events recorded, wrk started (if loaded), then a worker; timed."""
    engine = record_events(args.database_url, tmp, args, port)
    want = args.events * args.webhooks
    wrk = start_load(*load, args) if load is not None else None
    load_before = load1()
    with (tmp / "worker.log").open("ab") as log:
        argv = [sys.executable, "-m", "cmpapi.cli.main", "worker"]
        worker = subprocess.Popen(argv, env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
    try:
        seconds, cpu = time_deliveries(worker, port, want, tmp)
        while hooks.count_succeeded(engine) < want:  # every result recorded, not only sent
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        engine.dispose()
        api = stop_load(wrk) if wrk is not None else None
    mode = "loaded" if load else "idle"
    cpu_ms = round(cpu / want * 1000, 3)
    return Delivery(mode, want, round(seconds, 3), cpu_ms, api, (load_before, load1()))


def webhook_part(
    env: dict[str, str], tmp: Path, args: argparse.Namespace, loaded: tuple[Server, str]
) -> list[Delivery]:
    receiver, port = hooks.start_receiver()
    results = []
    try:
        print(f"\nwebhooks: {args.events} events x {args.webhooks} webhooks, one `cmpapi worker`")
        for mode in ("idle", "loaded", "loaded", "idle"):
            time.sleep(args.pause)
            run = deliver(env, tmp, args, port, loaded if mode == "loaded" else None)
            results.append(run)
            api = (
                f"; API {run.api.req_per_s:,.0f} req/s, p99 {run.api.p99_ms:,.0f} ms"
                if run.api
                else ""
            )
            print(
                f"  {mode:<7} {run.rate:>7,.0f} deliveries/s ({run.seconds:.1f} s, "
                f"{run.worker_cpu_ms_per_delivery:.2f} ms worker CPU each{api}), "
                f"load {run.loadavg[0]:.1f} -> {run.loadavg[1]:.1f}"
            )
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
    return results


# --------------------------------------------------------------------------- report


def ceiling(one_process: list[Run]) -> float:
    """The ratio 2 API processes could reach on this box's cores, from the CPU each request
    of the single process took: one process is held to one core by its GIL (its API CPU per
    request), N processes share every core with PostgreSQL and wrk (their sum)."""
    cores = os.cpu_count() or 1
    ms = {k: mean([r.per_request_ms()[k] for r in one_process]) for k in ("api", "db", "wrk")}
    total = ms["api"] + ms["db"] + ms["wrk"]
    single = min(1 / ms["api"], cores / total)
    both = min(2 / ms["api"], cores / total)
    return round(both / single, 2)


def summarise(report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {"api": {}, "webhooks": {}}
    for case, runs in report.api.items():
        per = {w: [r for r in runs if r.target == f"workers={w}"] for w in (1, 2)}
        rps = {w: mean([r.result.req_per_s for r in rs]) for w, rs in per.items()}
        out["api"][case] = {
            f"workers={w}": {
                "req_per_s": round(rps[w], 1),
                "p50_ms": round(mean([r.result.p50_ms for r in rs]), 1),
                "p99_ms": round(mean([r.result.p99_ms for r in rs]), 1),
                **{
                    f"cpu_ms_per_request_{k}": round(mean([r.per_request_ms()[k] for r in rs]), 3)
                    for k in ("api", "db", "wrk")
                },
            }
            for w, rs in per.items()
        } | {"ratio": round(rps[2] / rps[1], 2), "ceiling": ceiling(per[1])}
    for mode in ("idle", "loaded"):
        mine = [d for d in report.webhooks if d.mode == mode]
        if mine:
            out["webhooks"][mode] = round(mean([d.rate for d in mine]), 1)
    if len(out["webhooks"]) == 2:
        out["webhooks"]["ratio"] = round(out["webhooks"]["loaded"] / out["webhooks"]["idle"], 2)
    return out


def print_summary(summary: dict[str, Any]) -> None:
    print(f"\n{'case':<24} {'1 process':>11} {'--workers 2':>12} {'ratio':>7}   (req/s, mean of 2)")
    for case, s in summary["api"].items():
        print(
            f"{case:<24} {s['workers=1']['req_per_s']:>11,.1f} "
            f"{s['workers=2']['req_per_s']:>12,.1f} {s['ratio']:>6.2f}x   (target >= 1.6x; "
            f"CPU ceiling on {os.cpu_count()} cores {s['ceiling']:.2f}x)"
        )
    hooks = summary["webhooks"]
    if "ratio" in hooks:
        print(
            f"webhook deliveries/s, one worker: idle {hooks['idle']:,.0f}, API loaded "
            f"{hooks['loaded']:,.0f} ({hooks['ratio']:.2f}x)"
        )


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=DEFAULT_URL, help="scratch DB: dropped, created")
    ap.add_argument("--rows", type=int, default=20_000, help="library assets")
    ap.add_argument("--users", type=int, default=200, help="users added to the demo ones")
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    ap.add_argument("--connections", type=int, default=32, help="wrk -c")
    ap.add_argument("--threads", type=int, default=1, help="wrk -t (it shares the 2 cores)")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server/case")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between runs")
    ap.add_argument("--events", type=int, default=5000, help="events (webhook part)")
    ap.add_argument("--webhooks", type=int, default=4, help="webhooks (webhook part)")
    ap.add_argument("--skip", choices=("api", "webhooks"), help="leave one part out")
    args = ap.parse_args(argv)

    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    load_before = load1()
    if load_before > 0.5 * (os.cpu_count() or 1):
        print(f"note: load average {load_before:.2f} before the run: figures will be low")
    tmp = Path(tempfile.mkdtemp(prefix="cmpapi-scaleout-"))
    servers: dict[int, Server] = {}
    report = Report()
    try:
        recreate_database(args.database_url)
        data = library.build(tmp / "data", args.rows, database_url=args.database_url)
        add_users(args.database_url, data.data_dir, args.users)
        vacuum_analyze(args.database_url)
        print(
            f"data: {data.assets:,} assets, {args.users} more users on PostgreSQL "
            f"({data.timings_s['total']} s for the assets)"
        )
        env = child_env(
            CMPAPI_DATA_DIR=str(data.data_dir),
            CMPAPI_DATABASE_URL=args.database_url,
            CMPAPI_WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
            CMPAPI_WEBHOOK_ALLOW_HTTP_LOOPBACK="true",
            CMPAPI_WORKER_PROCESSES="1",
        )
        for workers in (1, 2):
            servers[workers] = serve(f"workers={workers}", workers, env, tmp)
        for server in servers.values():
            wait_ready(server, data.admin_token, timeout=120)
        if args.skip != "api":
            report.api = api_part(servers, data.admin_token, args)
        if args.skip != "webhooks":
            report.webhooks = webhook_part(env, tmp, args, (servers[2], data.admin_token))
        for server in servers.values():
            server.check_log()
        summary = summarise(report)
        print_summary(summary)
        RESULTS_DIR.mkdir(exist_ok=True)
        out_file = RESULTS_DIR / f"scaleout-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        record = {
            "started_at": started.isoformat(),
            "git_commit": git_commit(),
            "nproc": os.cpu_count(),
            "versions": versions(),
            "args": vars(args),
            "data": {"assets": data.assets, "timings_s": data.timings_s},
            "summary": summary,
            "api_runs": {c: [asdict(r) for r in runs] for c, runs in report.api.items()},
            "webhook_runs": [asdict(d) | {"rate": round(d.rate, 1)} for d in report.webhooks],
            "loadavg_1m_before_after": [load_before, load1()],
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
