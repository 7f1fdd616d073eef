"""Library benchmark: listAssets on a large library, and large uploads.

    .venv/bin/python bench/library_bench.py [--rows 100000] [--duration 10] [--skip-upload]
    .venv/bin/python bench/library_bench.py --analyze        # with SQLite statistics

1. Data: a temp data dir with a migrated, demo-seeded SQLite DB plus ``--rows`` assets
   (``bench/_library_data.py``): 10 % carry one label value, all spread over 5 folders, one
   small real object in the local store shared by every asset. Access tokens for the demo
   admin and for a member with view access to one folder only.
2. SQL profile: each case's ``assets.list_assets`` call in-process, every statement it
   runs replayed with sqlite3 (mean ms) with its ``EXPLAIN QUERY PLAN``.
3. listAssets under load: cmpapi with one uvicorn worker (``bench/run.py``'s flags,
   ``CMPAPI_WORKER_EMBEDDED=false``); each case must first answer 200 with the expected
   item and total counts. wrk warm-up per case, then measured runs in mirrored order
   (A B C D D C B A), two per case, averaged. A case whose single request takes longer
   than the probe timeout is not loaded (reported as such; the server is restarted).
4. Uploads (unless ``--skip-upload``): cmpapi with its embedded job worker. A 1 GiB
   multipart upload as a client does it (64 MiB parts, 4 PUTs in flight, bodies streamed
   from a generator), completion polled until assembled; then a 256 MiB presigned POST
   (multipart/form-data, streamed). MB/s (10^6 B/s) and the server's VmHWM.
5. Prints the figures, writes them to ``bench/results/library-<timestamp>.json`` and
   removes the temp dir, also on error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import _library_data as library
from run import (
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
APP = ["--factory", "cmpapi.server.app:create_app"]
MiB = 1024 * 1024
PROBE_TIMEOUT = 5.0  # bench/run.py's fetch timeout: slower cases are not loaded
WRK_TIMEOUT = 60  # s; a single worker at -c32 queues requests well past wrk's default 2 s


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    name: str
    path: str
    member: bool
    query: dict[str, Any]  # the same request as a ListAssetsParametersQuery (SQL profile)
    items: int
    total: int
    single_ms: list[float] = field(default_factory=list)
    skipped: str | None = None
    runs: list[WrkResult] = field(default_factory=list)

    def token(self, data: library.LibraryData) -> str:
        return data.member_token if self.member else data.admin_token


def make_cases(data: library.LibraryData, page: int, offset: int) -> list[Case]:
    label = {"group": data.group_id, "values": [data.value_id]}  # one JSON object per label=
    encoded = quote(json.dumps(label, separators=(",", ":")), safe="")
    base = f"/v3/assets?page_size={page}"
    offset = min(offset, data.assets // 2)

    def items(total: int, skip: int = 0) -> int:
        return max(0, min(page, total - skip))

    return [
        Case("first page", base, False, {"page_size": page}, items(data.assets), data.assets),
        Case(
            "label filter",
            f"{base}&label={encoded}",
            False,
            {"page_size": page, "label": [label]},
            items(data.labelled),
            data.labelled,
        ),
        Case(
            f"offset {offset}",
            f"{base}&offset={offset}",
            False,
            {"page_size": page, "offset": offset},
            items(data.assets, offset),
            data.assets,
        ),
        Case(
            "member (ACL)",
            base,
            True,
            {"page_size": page},
            items(data.member_visible),
            data.member_visible,
        ),
    ]


def probe(server: Server, case: Case, token: str, tries: int = 3) -> None:
    """Check status, item count and total_count; keep the unloaded latencies. Raises
    TimeoutError when the server does not answer within ``PROBE_TIMEOUT``."""
    for _ in range(tries):
        started = time.perf_counter()
        try:
            status, raw = fetch(server.base + case.path, token)
        except (TimeoutError, urllib.error.URLError) as exc:
            if isinstance(exc, TimeoutError) or isinstance(exc.reason, TimeoutError):
                raise TimeoutError from exc
            raise
        case.single_ms.append(round((time.perf_counter() - started) * 1000, 2))
        if status != 200:
            raise BenchError(f"{case.name}: {status} {raw[:300]!r}")
        body = json.loads(raw)
        got = (len(body["data"]), body["total_count"])
        if got != (case.items, case.total):
            raise BenchError(
                f"{case.name}: (items, total_count) {got}, expected {(case.items, case.total)}"
            )


# --------------------------------------------------------------------------- wrk


def run_wrk(url: str, token: str, *, threads: int, connections: int, seconds: int) -> str:
    """``run.run_wrk`` plus ``--timeout``: with one worker and 32 connections, requests of
    50-100 ms wait 2-4 s in the queue, past wrk's default timeout of 2 s."""
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        f"{WRK_TIMEOUT}s",
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=False)
    out = proc.stdout
    problems = re.findall(r"(Non-2xx or 3xx responses:\s*\d+|Socket errors:.*)", out)
    if proc.returncode != 0 or problems:
        raise BenchError(f"wrk against {url}: {problems or proc.stderr}\n{out}")
    return out


def idle(server: Server, token: str) -> None:
    """Wait until queued requests of closed wrk connections are done (the server finishes
    them: database work runs inline on SQLite), so runs do not overlap."""
    wait_ready(server, token, timeout=600)


def load(server: Server, cases: list[Case], data: library.LibraryData, args: Any) -> None:
    loaded = [c for c in cases if c.skipped is None]
    for case in loaded if args.warmup > 0 else ():
        run_wrk(
            server.base + case.path,
            case.token(data),
            threads=args.threads,
            connections=32,
            seconds=args.warmup,
        )
        idle(server, data.admin_token)
    for case in [*loaded, *reversed(loaded)]:
        time.sleep(args.pause)
        if server.proc.poll() is not None:
            raise BenchError(f"cmpapi died:\n{server.log_tail()}")
        server.check_log()
        cmd = [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--latency",
            "--timeout",
            f"{WRK_TIMEOUT}s",
            "-H",
            "Authorization: Bearer <token>",
            server.base + case.path,
        ]
        out = run_wrk(
            server.base + case.path,
            case.token(data),
            threads=args.threads,
            connections=args.connections,
            seconds=args.duration,
        )
        result = parse_wrk(case.name, out, cmd)
        case.runs.append(result)
        print(
            f"  {case.name:<16} {result.req_per_s:>9,.1f} req/s  p50 {result.p50_ms:8.1f} ms"
            f"  p99 {result.p99_ms:8.1f} ms"
        )
        idle(server, data.admin_token)
    server.check_log()


def summary(case: Case) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": case.path,
        "member": case.member,
        "items": case.items,
        "total_count": case.total,
        "single_request_ms": case.single_ms,
    }
    if case.skipped:
        out["skipped"] = case.skipped
    if case.runs:
        out |= {
            "req_per_s": round(mean([r.req_per_s for r in case.runs]), 1),
            "p50_ms": round(mean([r.p50_ms for r in case.runs]), 2),
            "p99_ms": round(mean([r.p99_ms for r in case.runs]), 2),
        }
    return out


# --------------------------------------------------------------------------- SQL profile


def kind(sql: str) -> str:
    head = " ".join(sql.split())
    if head.startswith("SELECT count(*)"):
        return "count"
    if "FROM library_assets" in head and "LIMIT" in head:
        return "page"
    table = re.search(r"FROM (\w+)", head)
    return f"views: {table.group(1) if table else '?'}"


def print_profile(name: str, statements: list[library.Statement]) -> None:
    timed = [s.mean_ms for s in statements if s.mean_ms is not None]
    interrupted = any(s.mean_ms is None for s in statements)
    total = f"{sum(timed):.1f} ms" + (" + interrupted statement" if interrupted else "")
    print(f"\n[{name}] {len(statements)} statements, {total}")
    for s in statements:
        ms = f"{s.mean_ms:9.3f} ms" if s.mean_ms is not None else "  > budget  "
        print(f"  {ms}  {kind(s.sql)}")
        if kind(s.sql) in ("page", "count"):
            for line in s.plan:
                print(f"                 {line}")


# --------------------------------------------------------------------------- uploads

_BLOCK = os.urandom(MiB)


async def generated(size: int) -> AsyncIterator[bytes]:
    """``size`` bytes in 1 MiB chunks (one random block repeated: nothing held whole)."""
    left = size
    while left > 0:
        chunk = _BLOCK if left >= MiB else _BLOCK[:left]
        left -= len(chunk)
        yield chunk


def proc_status(pid: int) -> dict[str, float]:
    """VmHWM and VmRSS of a process, MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in ("VmHWM", "VmRSS"):
            out[key] = round(int(line.split()[1]) / 1024, 1)
    return out


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found + [g for c in found for g in children(c)]


async def multipart_upload(
    base: str, token: str, size: int, part: int, parallel: int, server: Server
) -> dict[str, Any]:
    import httpx

    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=httpx.Timeout(300.0)) as client:
        started = time.perf_counter()
        resp = await client.post(
            f"{base}/v3/multipart-uploads",
            headers=auth,
            json={"file_size": size, "part_size": part},
        )
        if resp.status_code != 201:
            raise BenchError(f"createMultipartUpload: {resp.status_code} {resp.text[:300]}")
        created = resp.json()
        urls = created["upload_part_urls"]
        sizes = [min(part, size - i * part) for i in range(len(urls))]
        slots = asyncio.Semaphore(parallel)

        async def put(url: str, n: int) -> None:
            async with slots:
                headers = {"Content-Length": str(n), "Content-Type": "application/octet-stream"}
                r = await client.put(url, content=generated(n), headers=headers)
                if r.status_code != 200:
                    raise BenchError(f"part PUT: {r.status_code} {r.text[:300]}")

        parts_started = time.perf_counter()
        await asyncio.gather(*(put(u, n) for u, n in zip(urls, sizes, strict=True)))
        parts_s = time.perf_counter() - parts_started
        after_parts = proc_status(server.proc.pid)

        complete_started = time.perf_counter()
        resp = await client.post(created["links"]["complete"], headers=auth)
        if resp.status_code != 202:
            raise BenchError(f"completeMultipartUpload: {resp.status_code} {resp.text[:300]}")
        done = resp.json()
        status = ""
        while status != "UPLOAD_COMPLETION_SUCCEEDED":
            if time.perf_counter() - complete_started > 900:
                raise BenchError(f"not assembled after 900 s (status {status})")
            await asyncio.sleep(0.1)
            r = await client.get(done["links"]["status"], headers=auth)
            status = r.json()["status"]
            if status == "UPLOAD_COMPLETION_FAILED":
                raise BenchError(f"assembly failed: {r.text[:300]}")
        assembled_s = time.perf_counter() - complete_started
        total_s = time.perf_counter() - started
    return {
        "file_size": size,
        "part_size": part,
        "parts": len(urls),
        "parallel": parallel,
        "key": done["key"],
        "parts_s": round(parts_s, 2),
        "parts_mb_per_s": round(size / parts_s / 1e6, 1),
        "complete_to_assembled_s": round(assembled_s, 2),
        "total_s": round(total_s, 2),
        "server_after_parts": after_parts,
    }


async def post_upload(base: str, token: str, size: int) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(timeout=httpx.Timeout(300.0)) as client:
        resp = await client.get(
            f"{base}/v3/upload-url", headers={"Authorization": f"Bearer {token}"}
        )
        if resp.status_code != 200:
            raise BenchError(f"getUploadUrl: {resp.status_code} {resp.text[:300]}")
        form = resp.json()
        boundary = f"cmpapi-bench-{os.urandom(8).hex()}"
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in form["upload_meta_fields"].items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="bench.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        tail = f"\r\n--{boundary}--\r\n".encode()

        async def body() -> AsyncIterator[bytes]:
            yield head.encode()
            async for chunk in generated(size):
                yield chunk
            yield tail

        length = len(head.encode()) + size + len(tail)
        started = time.perf_counter()
        resp = await client.post(
            form["url"],
            content=body(),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(length),
            },
        )
        elapsed = time.perf_counter() - started
        if resp.status_code != 204:
            raise BenchError(f"presigned POST: {resp.status_code} {resp.text[:300]}")
    return {
        "file_size": size,
        "key": form["upload_meta_fields"]["key"],
        "seconds": round(elapsed, 2),
        "mb_per_s": round(size / elapsed / 1e6, 1),
    }


def upload_bench(data: library.LibraryData, tmp: Path, args: Any) -> dict[str, Any]:
    size, post_size = args.upload_mib * MiB, args.post_mib * MiB
    free = shutil.disk_usage(tmp).free
    needed = 2 * size + post_size + 512 * MiB  # parts + assembled copy + POST + slack
    if free < needed:
        raise BenchError(f"{tmp}: {free / 2**30:.1f} GiB free, uploads need {needed / 2**30:.1f}")
    env = child_env(CMPAPI_DATA_DIR=str(data.data_dir), CMPAPI_WORKER_EMBEDDED="true")
    server = start_server("cmpapi-upload", APP, env, tmp)
    try:
        wait_ready(server, data.admin_token)
        pid = server.proc.pid
        before = proc_status(pid)
        print(f"\ncmpapi (embedded worker): pid {pid}, {server.base}; before: {before}")
        objects = data.data_dir / "objects"
        upload = multipart_upload(
            server.base, data.admin_token, size, args.part_mib * MiB, args.parallel, server
        )
        multi = asyncio.run(upload)
        multi["server_after_assembly"] = proc_status(pid)
        on_disk = (objects / multi["key"]).stat().st_size
        if on_disk != size:
            raise BenchError(f"assembled object has {on_disk} bytes, expected {size}")
        (objects / multi["key"]).unlink()
        print(
            f"multipart {args.upload_mib} MiB: parts {multi['parts_s']} s "
            f"= {multi['parts_mb_per_s']} MB/s; complete -> assembled "
            f"{multi['complete_to_assembled_s']} s; total {multi['total_s']} s"
        )
        print(
            f"  server after parts: {multi['server_after_parts']}, "
            f"after assembly: {multi['server_after_assembly']}"
        )
        post = asyncio.run(post_upload(server.base, data.admin_token, post_size))
        post["server_after"] = proc_status(pid)
        on_disk = (objects / post["key"]).stat().st_size
        if on_disk != post_size:
            raise BenchError(f"POSTed object has {on_disk} bytes, expected {post_size}")
        (objects / post["key"]).unlink()
        print(
            f"presigned POST {args.post_mib} MiB: {post['seconds']} s = {post['mb_per_s']} MB/s;"
            f" server after: {post['server_after']}"
        )
        server.check_log()
        kids = {c: proc_status(c) for c in children(pid)}
        return {
            "server_before": before,
            "multipart": multi,
            "post": post,
            "server_children": kids,
            "client": proc_status(os.getpid()),
        }
    finally:
        server.stop()


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="assets to generate")
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    ap.add_argument("--connections", type=int, default=32, help="wrk -c of measured runs")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per case")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between wrk runs")
    ap.add_argument("--offset", type=int, default=50_000, help="offset of the deep-page case")
    ap.add_argument(
        "--analyze",
        action="store_true",
        help="run SQLite ANALYZE on the DB first (cmpapi itself never does)",
    )
    ap.add_argument(
        "--sql-budget",
        type=float,
        default=10.0,
        help="seconds before a profiled SQL statement is interrupted",
    )
    ap.add_argument("--skip-upload", action="store_true", help="only the listAssets part")
    ap.add_argument("--upload-mib", type=int, default=1024, help="multipart upload size")
    ap.add_argument("--part-mib", type=int, default=64, help="multipart part size")
    ap.add_argument("--parallel", type=int, default=4, help="part PUTs in flight")
    ap.add_argument("--post-mib", type=int, default=256, help="presigned POST upload size")
    args = ap.parse_args(argv)

    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        print(f"note: load average {load_before[0]:.2f} before the run: figures will be low")
    tmp = Path(tempfile.mkdtemp(prefix="cmpapi-library-bench-"))
    server: Server | None = None
    try:
        data = library.build(tmp / "data", args.rows)
        print(
            f"data: {args.rows:,} assets in {data.timings_s['total']} s "
            f"({data.timings_s}); DB {data.db_bytes / MiB:.0f} MiB"
        )
        if args.analyze:
            data.timings_s["analyze"] = library.analyze(data)
            print(f"ANALYZE: {data.timings_s['analyze']} s")
        cases = make_cases(data, 10, args.offset)

        print(
            "\nSQL per listAssets call (in-process, replayed with sqlite3; plans of page and "
            "count queries):"
        )
        profiles = {}
        for case in cases:
            profiles[case.name] = library.profile_list(
                data, member=case.member, query=case.query, budget_s=args.sql_budget
            )
            print_profile(case.name, profiles[case.name])

        env = child_env(CMPAPI_DATA_DIR=str(data.data_dir), CMPAPI_WORKER_EMBEDDED="false")
        server = start_server("cmpapi", APP, env, tmp)
        wait_ready(server, data.admin_token)
        print(f"\ncmpapi: pid {server.proc.pid}, {server.base}")
        for case in cases:
            try:
                probe(server, case, case.token(data))
                single = min(case.single_ms)
                print(
                    f"  {case.name:<16} 200, {case.items} items, total_count {case.total:,}; "
                    f"single request {single:.1f} ms"
                )
                if single / 1000 * args.connections > args.duration / 2:
                    case.skipped = (
                        f"not loaded: {args.connections} requests in flight of "
                        f"{single:.0f} ms each queue longer than half a "
                        f"{args.duration} s run"
                    )
                    print(f"  {'':<16} {case.skipped}")
            except TimeoutError:
                case.skipped = f"no answer within {PROBE_TIMEOUT:.0f} s: not loaded"
                print(f"  {case.name:<16} {case.skipped}; restarting cmpapi")
                server.stop()
                server = start_server("cmpapi", APP, env, tmp)
                wait_ready(server, data.admin_token)
        load(server, cases, data, args)
        rss = server.rss_mib()
        server.stop()

        print(
            f"\n{'case':<16} {'req/s':>9} {'p50':>10} {'p99':>10} {'1 request':>10}  "
            "(mean of 2 runs; 1 request = unloaded, best of 3)"
        )
        for case in cases:
            s = summary(case)
            if case.skipped:
                single = f"{min(case.single_ms):.1f}ms" if case.single_ms else "-"
                print(
                    f"{case.name:<16} {'-':>9} {'-':>10} {'-':>10} {single:>10}  ({case.skipped})"
                )
                continue
            print(
                f"{case.name:<16} {s['req_per_s']:>9,.1f} {s['p50_ms']:>8.1f}ms "
                f"{s['p99_ms']:>8.1f}ms {min(case.single_ms):>8.1f}ms"
            )

        uploads = None if args.skip_upload else upload_bench(data, tmp, args)
        RESULTS_DIR.mkdir(exist_ok=True)
        out_file = RESULTS_DIR / f"library-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        record = {
            "started_at": started.isoformat(),
            "git_commit": git_commit(),
            "nproc": os.cpu_count(),
            "versions": versions(),
            "args": vars(args),
            "data": {
                "rows": args.rows,
                "assets": data.assets,
                "labelled": data.labelled,
                "member_visible": data.member_visible,
                "db_bytes": data.db_bytes,
                "timings_s": data.timings_s,
            },
            "cases": {c.name: summary(c) for c in cases},
            "runs": [asdict(r) for c in cases for r in c.runs],
            "sql": {name: [asdict(s) for s in st] for name, st in profiles.items()},
            "rss_mib_after_load": rss,
            "uploads": uploads,
            "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        }
        out_file.write_text(json.dumps(record, indent=2, default=str) + "\n")
        print(f"\nresults: {out_file.relative_to(BENCH_DIR.parent)}")
        return 0
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        if server is not None:
            print(f"--- {server.name} log ---\n{server.log_tail()}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
