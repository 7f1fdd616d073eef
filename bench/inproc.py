"""CPU cost per request of GET /v3/userlist (or listTasks), in-process: no HTTP server.

    .venv/bin/python bench/inproc.py [--requests 3000] [--rows 200] [--profile out.prof]
    .venv/bin/python bench/inproc.py --path '/v3/tasks?status=In%20Progress&page_size=10'

Seeds the same data as ``bench/run.py`` (any other ``--path``: the data of
``bench/tasks_bench.py``, the demo seed and ``--rows`` tasks; listTasks is compared with
``bench/tasks_reference_app.py``, other operations have no reference),
then calls each ASGI app (cmpapi's create_app and the reference) directly, one request
after another on a uvloop loop, and prints per request: wall µs, CPU µs (all threads of
the process) and how many threadpool hops
(``anyio.to_thread.run_sync`` calls) the request made. Quicker and less noisy than the
wrk run, for checking an optimisation; the wrk ratio (``bench/run.py``) stays the figure
of record because it includes HTTP parsing and concurrency effects.

``--instructions`` counts CPU instructions per request instead (valgrind's callgrind, from
Debian's valgrind package): unlike times, the count does not move with the machine's load,
so it compares two versions on a shared box. Each app runs under valgrind twice (100 and
300 measured requests after a warm-up, with the start-up objects frozen out of the garbage
collector), and the difference divided by 200 is printed; the lower of two such pairs is
kept. ~4 minutes.

``--profile out.prof`` writes a cProfile of the cmpapi loop (event-loop thread only;
work done in threadpool hops shows up as waiting). Read it with
``python -m pstats out.prof`` or snakeviz.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio.to_thread
import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _tasks_data
from run import prepare_data

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
_hops = 0
_run_sync = anyio.to_thread.run_sync


async def _counting_run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
    global _hops
    _hops += 1
    return await _run_sync(func, *args, **kwargs)


anyio.to_thread.run_sync = _counting_run_sync  # type: ignore[assignment]


USERS = "/v3/userlist?page_size=10"


def is_tasks(path: str) -> bool:
    """The tasks data (demo seed + tasks) serves every path but userlist's."""
    return not path.startswith("/v3/userlist")


def has_reference(path: str) -> bool:
    return path.startswith(("/v3/userlist", "/v3/tasks?", "/v3/tasks/?")) or path == "/v3/tasks"


def scope(token: str, target: str = USERS) -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode())],
    }


async def call(app: ASGIApp, base: dict[str, Any]) -> Any:
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    await app(dict(base), receive, send)
    if out.get("status") != 200:
        raise RuntimeError(f"status {out.get('status')}: {out['body'][:300]!r}")
    return orjson.loads(out["body"])


async def measure(name: str, app: ASGIApp, base: dict[str, Any], n: int) -> Any:
    global _hops
    body = await call(app, base)
    _hops = 0
    await call(app, base)
    hops = _hops
    for _ in range(200):
        await call(app, base)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        await call(app, base)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    items = len(body.get("data", ())) if isinstance(body, dict) else "-"
    print(
        f"{name:<10} {wall / n * 1e6:8.0f} µs wall {cpu / n * 1e6:8.0f} µs CPU   hops {hops}"
        f"   items {items}"
    )
    return body


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--rows", type=int, default=None, help="users (200) or tasks (5,000)")
    ap.add_argument("--path", default=USERS, help="the GET request (userlist or /v3/tasks...)")
    ap.add_argument("--profile", type=Path, default=None, help="cProfile output of cmpapi")
    ap.add_argument("--db-inline", choices=("true", "false"), help="CMPAPI_DB_INLINE of cmpapi")
    ap.add_argument("--instructions", action="store_true", help="callgrind counts per request")
    ap.add_argument("--callgrind-child", nargs=2, metavar=("APP", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rows is None:
        args.rows = 5000 if is_tasks(args.path) else 200
    if args.instructions:
        return count_instructions(args.rows, args.path)

    tmp = Path(tempfile.mkdtemp(prefix="cmpapi-inproc-"))
    try:
        data_dir = tmp / "data"
        if is_tasks(args.path):
            token = _tasks_data.build(data_dir, args.rows, []).admin_token
        else:
            token = prepare_data(data_dir, args.rows)
        for key in [k for k in os.environ if k.startswith("CMPAPI_")]:
            del os.environ[key]
        os.environ["CMPAPI_DATA_DIR"] = str(data_dir)
        if args.db_inline:
            os.environ["CMPAPI_DB_INLINE"] = args.db_inline
        os.environ["BENCH_DB"] = str(data_dir / "cmpapi.db")
        import reference_app
        import tasks_reference_app

        from cmpapi.server.app import create_app

        reference = tasks_reference_app if is_tasks(args.path) else reference_app
        apps: dict[str, ASGIApp] = {"cmpapi": create_app()}
        if has_reference(args.path):
            apps["reference"] = reference.make()
        base = scope(token, args.path)

        if args.callgrind_child:
            name, n = args.callgrind_child
            asyncio.run(callgrind_child(apps[name], base, int(n)))
            return 0

        async def run_all() -> None:
            bodies = [await measure(n, a, base, args.requests) for n, a in apps.items()]
            if len(bodies) > 1 and bodies[0] != bodies[1]:
                raise RuntimeError("the two apps answer different bodies")

        async def profile_cmpapi() -> None:
            for _ in range(args.requests):
                await call(apps["cmpapi"], base)

        uvloop.install()
        asyncio.run(run_all())
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            asyncio.run(profile_cmpapi())
            prof.disable()
            prof.dump_stats(args.profile)
            print(f"profile: {args.profile}")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def callgrind_child(app: ASGIApp, base: dict[str, Any], n: int) -> None:
    """Under valgrind: warm up, then count only ``n`` requests (callgrind_control)."""
    for _ in range(50):
        await call(app, base)
    gc.collect()
    gc.freeze()  # a full collection of the start-up objects would land in one run only
    pid = str(os.getpid())
    subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
    for _ in range(n):
        await call(app, base)
    subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)


def count_instructions(rows: int, path: str) -> int:
    def collected(name: str, n: int) -> int:
        argv = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--callgrind-out-file=/dev/null",
        ]
        argv += [sys.executable, __file__, "--rows", str(rows), "--path", path]
        argv += ["--callgrind-child", name, str(n)]
        err = subprocess.run(argv, capture_output=True, text=True, check=True).stderr
        return int(re.findall(r"Collected : (\d+)", err)[-1])

    for name in ("cmpapi", "reference") if has_reference(path) else ("cmpapi",):
        per_request = min((collected(name, 300) - collected(name, 100)) // 200 for _ in range(2))
        print(f"{name:<10} {per_request:>10,} instructions per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
