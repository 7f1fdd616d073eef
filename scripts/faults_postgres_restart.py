#!/usr/bin/env python3
"""PostgreSQL restarted while `cmpapi serve` is under write load, several times over.

Starts a private PostgreSQL cluster (its own directory and port: the shared server is never
touched), `cmpapi serve` on it as a subprocess (API + embedded job worker), and client
threads creating milestones back to back. Every `--interval` seconds PostgreSQL is
restarted, alternately as a crash (`-m immediate`, recovery replays the WAL) and a clean
`-m fast` stop. Prints, per restart and in total: the answers (201/503/other), whether every
503 was the CMP shape with Retry-After, the slowest answer, how long until writes succeeded
again, and at the end whether every acknowledged (201) write is in the database and whether
the embedded worker caught up with the outbox.

    .venv/bin/python scripts/faults_postgres_restart.py [--restarts 6] [--threads 8]

Exit status 0 when no acknowledged write was lost and every failure was a well-formed 503.
The short version of this runs in the test suite: tests/faults/test_postgres_restart.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from tests.conftest import free_port  # noqa: E402
from tests.faults.load import WriteLoad, lost_writes, stored_count, summary  # noqa: E402
from tests.faults.pgcluster import PrivateCluster, unavailable_reason  # noqa: E402
from tests.support.world import build_world  # noqa: E402


def wait_healthy(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("cmpapi serve exited; see its log")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("cmpapi serve did not become healthy")


def undispatched(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            sql = "SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL"
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restarts", type=int, default=6)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--interval", type=float, default=4.0, help="seconds between restarts")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    reason = unavailable_reason()
    if reason:
        print(f"cannot run: {reason}")
        return 2
    work = Path(tempfile.mkdtemp(prefix="cmpapi-faults-"))
    cluster = PrivateCluster(free_port())
    server: subprocess.Popen[bytes] | None = None
    try:
        cluster.init()
        cluster.start()
        url = cluster.create_database("cmpapi")
        port = free_port()
        env = {
            **os.environ,
            "CMPAPI_DATA_DIR": str(work),
            "CMPAPI_DATABASE_URL": url,
            "CMPAPI_WORKER_POLL_INTERVAL": "0.2",
        }
        log = (work / "serve.log").open("wb")
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/cmpapi"), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, server)
        engine = create_engine(url)
        with Session(engine) as session:
            world = build_world(session)
        engine.dispose()

        load = WriteLoad(base, world.auth("member"), threads=args.threads, timeout=30)
        windows: list[tuple[str, float, float, float]] = []
        load.start()
        time.sleep(args.interval)
        for n in range(args.restarts):
            mode = "immediate" if n % 2 == 0 else "fast"
            fault_at = time.monotonic()
            took = cluster.restart(mode)
            windows.append((mode, fault_at, time.monotonic(), took))
            time.sleep(args.interval)
        replies = load.stop()
        if server.poll() is not None:
            print("cmpapi serve died during the run")
            return 1

        ok = True
        print(f"{len(replies)} requests, {args.threads} threads, {args.restarts} restarts")
        # Each restart owns the answers that came between the one before it and the next:
        # a request still running when the next restart hits belongs to that one.
        cuts = [0.0] + [w[1] - 0.01 for w in windows[1:]] + [float("inf")]
        for i, (mode, fault_at, back_at, took) in enumerate(windows):
            window = [r for r in replies if cuts[i] <= r.finished < cuts[i + 1]]
            result = summary(window, fault_at, back_at)
            ok &= not result["bad_503"] and not result["other_errors"] and not result["no_answer"]
            print(f"restart {i + 1} (-m {mode}, pg_ctl took {took:.2f} s):")
            print("   ", json.dumps(result))
        total = summary(replies, windows[0][1], windows[-1][2]) if windows else {}
        lost = lost_writes(url, replies)
        acknowledged = sum(1 for r in replies if r.status == 201)
        rows = stored_count(url)
        print(f"statuses: {total.get('statuses')}")
        print(f"acknowledged writes: {acknowledged}; rows in the database: {rows}")
        print(f"acknowledged writes lost: {len(lost)} {lost[:5]}")
        deadline = time.monotonic() + 30
        while (left := undispatched(url)) and time.monotonic() < deadline:
            time.sleep(0.5)
        print(f"outbox events the embedded worker has not dispatched 30 s later: {left}")
        warnings = (work / "serve.log").read_text(errors="replace").count(": 503 (")
        print(f"503s logged by the server: {warnings}")
        return 0 if ok and not lost and not left else 1
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        cluster.destroy()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
