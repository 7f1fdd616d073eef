"""Head-of-line blocking: do light requests wait behind a heavy listAssets?

One cmpapi process (one uvicorn worker) on a library of ``--rows`` assets. The light load
is wrk with ``--light`` connections alternating getUser and listUsers; the heavy load is a
second wrk with ``--heavy`` connections on the heaviest listAssets case (about 10 % of
the requests' connections). Each round measures the light load alone, then light and
heavy together (A B B A), and reports the light requests' p99 both ways: the target
(issue 13) is a ratio of at most 3.

    .venv/bin/python bench/hol.py                          # 100,000 assets, SQLite
    .venv/bin/python bench/hol.py --db-inline true         # database work on the loop
    .venv/bin/python bench/hol.py --rows 20000 --duration 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _library_data as library
import run

LUA = """
local paths = {"/v3/userlist?page_size=10", "/v3/users/%s"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% 2) + 1])
end
"""

HEAVY_CASES = {
    "search": "/v3/assets?page_size=10&search_text=zzzz",
    # trigrams every title has: the trigram index reads their whole lists
    "search-common": "/v3/assets?page_size=10&search_text=asset%200012",
    "member": "/v3/assets?page_size=10&offset=10000",
    "label-deep": None,  # built from the data (label filter at offset 10,000)
}


def heavy_path(data: library.LibraryData, case: str) -> tuple[str, str]:
    """(path, token) of the heavy case."""
    if case == "member":
        return "/v3/assets?page_size=10&offset=10000", data.member_token
    if case == "label-deep":
        from urllib.parse import quote

        label = quote(json.dumps({"group": data.group_id, "values": [data.value_id]}))
        return f"/v3/assets?page_size=10&offset=10000&label={label}", data.admin_token
    return str(HEAVY_CASES[case]), data.admin_token


def wrk(url: str, token: str, connections: int, seconds: int, script: Path | None) -> str:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "30s"]
    cmd += ["-s", str(script)] if script else []
    cmd += ["-H", f"Authorization: Bearer {token}", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 90, check=False)
    if proc.returncode != 0 or "Non-2xx" in proc.stdout or "Socket errors" in proc.stdout:
        raise run.BenchError(f"wrk against {url}: {proc.stderr}\n{proc.stdout}")
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--data-dir", type=Path, help="reuse a library_bench data dir (data.json)")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--light", type=int, default=29, help="connections of the light load")
    ap.add_argument("--heavy", type=int, default=3, help="connections of the heavy load")
    ap.add_argument("--case", choices=sorted(HEAVY_CASES), default="search-common")
    ap.add_argument("--db-inline", choices=("true", "false"), help="CMPAPI_DB_INLINE")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE for the server")
    args = ap.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="cmpapi-hol-"))
    server = None
    try:
        if args.data_dir:
            raw = json.loads((args.data_dir / "data.json").read_text())
            raw["data_dir"] = args.data_dir
            data = library.LibraryData(**raw)
        else:
            data = library.build(tmp / "data", args.rows)
        extra = {"CMPAPI_DATA_DIR": str(data.data_dir), "CMPAPI_WORKER_EMBEDDED": "false"}
        if args.db_inline:
            extra["CMPAPI_DB_INLINE"] = args.db_inline
        extra |= dict(item.split("=", 1) for item in args.set)
        app = ["--factory", "cmpapi.server.app:create_app"]
        server = run.start_server("cmpapi", app, run.child_env(**extra), tmp)
        run.wait_ready(server, data.admin_token)
        script = tmp / "light.lua"
        script.write_text(LUA % data.admin_id)
        light_url = server.base + "/v3/userlist?page_size=10"
        path, heavy_token = heavy_path(data, args.case)
        started = time.perf_counter()
        status, body = run.fetch(server.base + path, heavy_token)
        heavy_ms = (time.perf_counter() - started) * 1000
        if status != 200:
            raise run.BenchError(f"heavy case answered {status}: {body[:300]!r}")
        print(f"heavy case {args.case}: {path} ({heavy_ms:.0f} ms unloaded)")
        wrk(light_url, data.admin_token, args.light, 3, script)  # warm-up
        results: dict[str, list[run.WrkResult]] = {"alone": [], "with heavy": []}
        order = ["alone", "with heavy", "with heavy", "alone"] * args.rounds
        for mode in order:
            time.sleep(1)
            heavy = None
            if mode == "with heavy":
                cmd = ["wrk", "-t1", f"-c{args.heavy}", f"-d{args.duration + 2}s"]
                cmd += ["--timeout", "60s", "-H", f"Authorization: Bearer {heavy_token}"]
                cmd += [server.base + path]
                heavy = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
                time.sleep(1)
            out = wrk(light_url, data.admin_token, args.light, args.duration, script)
            result = run.parse_wrk(mode, out, [])
            heavy_rate = ""
            if heavy is not None:
                heavy_out, _ = heavy.communicate(timeout=120)
                heavy_rate = " ".join(
                    line.strip() for line in heavy_out.splitlines() if "Requests/sec" in line
                )
            results[mode].append(result)
            rates = f"  heavy {heavy_rate}" if heavy_rate else ""
            figures = f"p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms"
            print(f"  light {mode:<10} {result.req_per_s:8.1f} req/s  {figures}{rates}")
            run.wait_ready(server, data.admin_token, timeout=600)
        server.check_log()
        p99 = {mode: run.mean([r.p99_ms for r in rs]) for mode, rs in results.items()}
        ratio = p99["with heavy"] / p99["alone"]
        alone, loaded = p99["alone"], p99["with heavy"]
        print(f"light p99 alone {alone:.1f} ms, with heavy {loaded:.1f} ms: ratio {ratio:.2f}")
        out_dir = Path(__file__).resolve().parent / "results"
        out_dir.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        report: dict[str, Any] = {
            "args": {k: str(v) for k, v in vars(args).items()},
            "heavy_unloaded_ms": round(heavy_ms, 1),
            "p99_ms": p99,
            "ratio": round(ratio, 2),
            "runs": {m: [vars(r) for r in rs] for m, rs in results.items()},
            "commit": run.git_commit(),
        }
        (out_dir / f"hol-{stamp}.json").write_text(json.dumps(report, indent=2))
        return 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
