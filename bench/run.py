"""Throughput of cmpapi's GET /v3/userlist against a bare-Starlette reference, same run.

    .venv/bin/python bench/run.py [--duration 10] [--connections 32] [--rows 200]

1. Builds a temporary data dir: migrated SQLite DB, demo data plus ``--rows`` extra users,
   and a long-lived access token for the demo admin (issued via ``oauth.store``).
2. Starts cmpapi (``cmpapi.server.app:create_app``) and ``bench/reference_app.py`` with
   uvicorn, ONE worker each, httptools, no access log, on free loopback ports (cmpapi on
   the event loop ``cmpapi serve`` uses, asyncio's; the reference on uvloop),
   both reading the same SQLite file; checks that both answer 200 with the same body.
3. wrk: a warm-up per target, then measured runs in the order cmpapi, reference,
   reference, cmpapi (drift cancels out); the two runs per target are averaged.
   Any non-2xx/3xx response or socket error fails the run.
4. Prints req/s, p50, p99 per target and the cmpapi/reference ratios; writes the
   figures as JSON to ``bench/results/<timestamp>.json``.
5. Stops both servers and removes the temp dir, also on error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from cmpapi.cli.server_commands import EVENT_LOOP

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
PATH = "/v3/userlist?page_size=10"
ORDER = ("cmpapi", "reference", "reference", "cmpapi")
UVICORN_FLAGS = [
    "--host",
    "127.0.0.1",
    "--workers",
    "1",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
]
# cmpapi runs on the loop `cmpapi serve` uses; the reference on its fastest, uvloop.
CMPAPI_LOOP = EVENT_LOOP
REFERENCE_LOOP = "uvloop"


class BenchError(RuntimeError):
    """Anything that makes the figures meaningless (bad setup, errors under load)."""


# --------------------------------------------------------------------------- data


def prepare_data(data_dir: Path, extra_rows: int) -> str:
    """Migrate and seed a SQLite DB in ``data_dir``; return a raw access token."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from cmpapi.server import demo
    from cmpapi.server.db.engine import make_engine
    from cmpapi.server.db.migrate import upgrade
    from cmpapi.server.identity.service import create_user
    from cmpapi.server.oauth import store
    from cmpapi.server.oauth.tables import OAuthApp
    from cmpapi.server.settings import Settings

    engine = make_engine(Settings(data_dir=data_dir, database_url=None))
    try:
        upgrade(engine)
        with Session(engine) as session:
            demo.seed(session)
            for i in range(extra_rows):
                create_user(
                    session,
                    demo.ORG_ID,
                    email=f"bench.user{i:05d}@bench.cmpapi.dev",
                    name=f"Bench User{i:05d}",
                    role=("member", "viewer")[i % 2],
                )
            app = session.scalars(select(OAuthApp).where(OAuthApp.client_id == demo.CLIENT_ID))
            issued = store.issue_token(
                session,
                app.one(),
                demo.demo_id("user:ada.admin"),
                kind="access",
                ttl_seconds=7 * 24 * 3600,
            )
            session.commit()
            return str(issued.raw)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base + PATH

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def check_log(self) -> None:
        """Fail on anything the server logged under load (log level is ``warning``)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        if "Traceback" in text or "ERROR" in text:
            raise BenchError(f"{self.name} logged errors under load:\n{self.log_tail(40)}")

    def rss_mib(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def child_env(**extra: str) -> dict[str, str]:
    """The environment without any CMPAPI_* setting of the caller, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMPAPI_")}
    env.update(extra)
    return env


def start_server(
    name: str, app_args: list[str], env: dict[str, str], tmp: Path, loop: str = CMPAPI_LOOP
) -> Server:
    port = free_port()
    log = tmp / f"{name}.log"
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        *app_args,
        "--port",
        str(port),
        "--loop",
        loop,
        *UVICORN_FLAGS,
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    return Server(name, proc, port, log)


def fetch(url: str, token: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback only
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(server: Server, token: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(f"{server.name} exited at startup:\n{server.log_tail()}")
        try:
            fetch(server.url, token)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise BenchError(f"{server.name} did not answer within {timeout:.0f} s:\n{server.log_tail()}")


def check_same_answer(servers: dict[str, Server], token: str) -> int:
    """Both answer 200 with the same body (base URL aside); returns the item count."""
    bodies: dict[str, Any] = {}
    for name, server in servers.items():
        status, raw = fetch(server.url, token)
        if status != 200:
            raise BenchError(f"{name} answered {status}: {raw[:300]!r}")
        bodies[name] = json.loads(raw.decode().replace(server.base, "BASE"))
    counts = {name: len(body["data"]) for name, body in bodies.items()}
    if len(set(counts.values())) != 1:
        raise BenchError(f"different item counts: {counts}")
    if bodies["cmpapi"] != bodies["reference"]:
        raise BenchError(
            "bodies differ:\n"
            + "\n".join(f"{n}: {json.dumps(b, sort_keys=True)[:600]}" for n, b in bodies.items())
        )
    return next(iter(counts.values()))


# --------------------------------------------------------------------------- wrk

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_LATENCY = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)


@dataclass
class WrkResult:
    target: str
    req_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    command: list[str] = field(default_factory=list)


def run_wrk(
    url: str, token: str, *, threads: int, connections: int, seconds: int, latency: bool
) -> str:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    cmd += ["--latency"] if latency else []
    cmd += ["-H", f"Authorization: Bearer {token}", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stderr or proc.stdout}")
    out = proc.stdout
    errors = []
    if m := re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out):
        errors.append(f"{m.group(1)} non-2xx/3xx responses")
    if m := re.search(r"Socket errors:\s*(.*)", out):
        errors.append(f"socket errors: {m.group(1).strip()}")
    if errors:
        raise BenchError(f"wrk against {url} reported {'; '.join(errors)}:\n{out}")
    return out


def parse_wrk(target: str, out: str, command: list[str]) -> WrkResult:
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    lat = {pct: float(v) * _UNITS_MS[unit] for pct, v, unit in _LATENCY.findall(out)}
    if not rps or not total or "50" not in lat or "99" not in lat:
        raise BenchError(f"cannot parse wrk output:\n{out}")
    if int(total.group(1)) == 0:
        raise BenchError(f"no request completed (server stalled?):\n{out}")
    return WrkResult(
        target, float(rps.group(1)), lat["50"], lat["99"], int(total.group(1)), command
    )


# --------------------------------------------------------------------------- report


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in (
        "cmpapi",
        "uvicorn",
        "uvloop",
        "httptools",
        "starlette",
        "fastapi",
        "pydantic",
        "sqlalchemy",
        "orjson",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "-"
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    out["wrk"] = (wrk.stdout or wrk.stderr).split("\n", 1)[0].strip()
    return out


def git_commit() -> str | None:
    proc = subprocess.run(
        ["git", "-C", str(BENCH_DIR), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or None


def summarise(runs: list[WrkResult]) -> dict[str, dict[str, float]]:
    summary = {}
    for target in ("cmpapi", "reference"):
        mine = [r for r in runs if r.target == target]
        summary[target] = {
            "req_per_s": round(mean([r.req_per_s for r in mine]), 1),
            "p50_ms": round(mean([r.p50_ms for r in mine]), 3),
            "p99_ms": round(mean([r.p99_ms for r in mine]), 3),
        }
    return summary


def print_report(runs: list[WrkResult], summary: dict[str, dict[str, float]]) -> dict[str, float]:
    print(f"\n{'run':<4} {'target':<10} {'req/s':>10} {'p50':>9} {'p99':>9}")
    for i, r in enumerate(runs, 1):
        print(f"{i:<4} {r.target:<10} {r.req_per_s:>10,.0f} {r.p50_ms:>7.2f}ms {r.p99_ms:>7.2f}ms")
    print(f"\n{'target':<15} {'req/s':>10} {'p50':>9} {'p99':>9}   (mean of the two runs)")
    for target, s in summary.items():
        print(f"{target:<15} {s['req_per_s']:>10,.0f} {s['p50_ms']:>7.2f}ms {s['p99_ms']:>7.2f}ms")
    ratios = {
        "req_per_s": round(summary["cmpapi"]["req_per_s"] / summary["reference"]["req_per_s"], 3),
        "p99": round(summary["cmpapi"]["p99_ms"] / summary["reference"]["p99_ms"], 3),
    }
    print(f"\nratio (cmpapi/reference) req/s: {ratios['req_per_s']:.2f}   (target >= 0.50)")
    print(f"ratio (cmpapi/reference) p99:   {ratios['p99']:.2f}   (lower is better)")
    return ratios


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    ap.add_argument("--connections", type=int, default=32, help="wrk -c of measured runs")
    ap.add_argument("--threads", type=int, default=2, help="wrk -t")
    ap.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per target")
    ap.add_argument("--rows", type=int, default=200, help="extra users besides the demo's")
    ap.add_argument("--db-inline", choices=("true", "false"), help="CMPAPI_DB_INLINE of cmpapi")
    ap.add_argument("--pause", type=float, default=1.0, help="seconds between wrk runs")
    ap.add_argument(
        "--min-ratio",
        type=float,
        default=None,
        help="exit 1 if cmpapi/reference req/s is below this",
    )
    args = ap.parse_args(argv)

    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    try:
        import cmpapi  # noqa: F401
    except ImportError:
        print(
            "cmpapi is not importable: run with the project venv (.venv/bin/python)",
            file=sys.stderr,
        )
        return 2

    started = datetime.now(UTC)
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        print(
            f"note: load average {load_before[0]:.2f} before the run: other work shares the "
            "CPU, absolute figures will be low (the ratio is the figure to read)"
        )
    tmp = Path(tempfile.mkdtemp(prefix="cmpapi-bench-"))
    servers: dict[str, Server] = {}
    try:
        data_dir = tmp / "data"
        t0 = time.monotonic()
        token = prepare_data(data_dir, args.rows)
        print(
            f"data: {data_dir / 'cmpapi.db'} ({args.rows} extra users, "
            f"{time.monotonic() - t0:.1f} s)"
        )

        servers["cmpapi"] = start_server(
            "cmpapi",
            ["--factory", "cmpapi.server.app:create_app"],
            child_env(
                CMPAPI_DATA_DIR=str(data_dir),
                **({"CMPAPI_DB_INLINE": args.db_inline} if args.db_inline else {}),
            ),
            tmp,
        )
        servers["reference"] = start_server(
            "reference",
            ["--app-dir", str(BENCH_DIR), "--factory", "reference_app:make"],
            child_env(BENCH_DB=str(data_dir / "cmpapi.db")),
            tmp,
            REFERENCE_LOOP,
        )
        for server in servers.values():
            wait_ready(server, token)
            print(f"{server.name}: pid {server.proc.pid}, {server.url}")
        items = check_same_answer(servers, token)
        print(f"both answer 200 with the same {items}-item page")

        for name in ("cmpapi", "reference") if args.warmup > 0 else ():
            run_wrk(
                servers[name].url,
                token,
                threads=args.threads,
                connections=32,
                seconds=args.warmup,
                latency=False,
            )
        runs: list[WrkResult] = []
        for name in ORDER:
            time.sleep(args.pause)
            server = servers[name]
            if server.proc.poll() is not None:
                raise BenchError(f"{name} died:\n{server.log_tail()}")
            server.check_log()
            cmd = [
                "wrk",
                f"-t{args.threads}",
                f"-c{args.connections}",
                f"-d{args.duration}s",
                "--latency",
                "-H",
                "Authorization: Bearer <token>",
                server.url,
            ]
            out = run_wrk(
                server.url,
                token,
                threads=args.threads,
                connections=args.connections,
                seconds=args.duration,
                latency=True,
            )
            result = parse_wrk(name, out, cmd)
            runs.append(result)
            print(f"  {name:<10} {result.req_per_s:>10,.0f} req/s  p99 {result.p99_ms:.2f} ms")
        for server in servers.values():
            server.check_log()
        rss = {name: s.rss_mib() for name, s in servers.items()}
        load_after = os.getloadavg()

        summary = summarise(runs)
        ratios = print_report(runs, summary)
        RESULTS_DIR.mkdir(exist_ok=True)
        out_file = RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
        record = {
            "started_at": started.isoformat(),
            "git_commit": git_commit(),
            "nproc": os.cpu_count(),
            "versions": versions(),
            "args": vars(args),
            "path": PATH,
            "items_per_page": items,
            "runs": [asdict(r) for r in runs],
            "summary": summary,
            "ratio": ratios,
            "rss_mib_after_load": rss,
            "loadavg_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        }
        out_file.write_text(json.dumps(record, indent=2) + "\n")
        print(f"results: {out_file.relative_to(BENCH_DIR.parent)}")
        if args.min_ratio is not None and ratios["req_per_s"] < args.min_ratio:
            print(f"FAIL: req/s ratio {ratios['req_per_s']:.2f} < {args.min_ratio}")
            return 1
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
