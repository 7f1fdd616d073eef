"""Time to ready of `cmpapi serve --demo` on an existing data directory (issue 15).

    .venv/bin/python bench/startup.py [--runs 7] [--instructions]

Makes a temp data dir with one `cmpapi serve --demo` (the first start migrates and seeds),
stops it, then starts `serve --demo` on that dir ``--runs`` times, each time measuring the
wall milliseconds from spawn to the first 200 on ``GET /readyz`` and, after a SIGTERM, the
child's CPU milliseconds (user + system, start-up and shut-down). Prints every run, then
min / median. The server is the venv's ``cmpapi`` entry point, as ``scripts/demo`` starts it
(sources compiled to bytecode first, like ``scripts/demo`` does).

``--instructions`` also runs the start ``--runs`` times under valgrind's callgrind (Debian's
valgrind package; ``perf stat`` has no hardware counters on the VM) and prints the
instructions executed from spawn to exit (SIGTERM sent at the first 200). Unlike times,
the count does not move with the box's load. ~1 min per run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CMPAPI = Path(sys.executable).parent / "cmpapi"
READY_TIMEOUT_S = 120.0
POLL_S = 0.002


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env() -> dict[str, str]:
    """The shell's environment without CMPAPI_* (the run must not depend on it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CMPAPI_")}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def ready(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def start(data_dir: Path, prefix: list[str], log: Path) -> tuple[float, float, Path]:
    """One start: (wall ms to the first 200 on /readyz, child CPU ms, log file)."""
    port = free_port()
    argv = [*prefix, str(CMPAPI), "serve", "--demo", "--data-dir", str(data_dir)]
    argv += ["--port", str(port)]
    with log.open("w") as out:
        t0 = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=clean_env())
        while not ready(port):
            if child.poll() is not None:
                raise SystemExit(f"server exited ({child.returncode}); see {log}")
            if time.perf_counter() - t0 > READY_TIMEOUT_S * (20 if prefix else 1):
                child.kill()
                raise SystemExit(f"not ready in time; see {log}")
            time.sleep(POLL_S)
        wall_ms = (time.perf_counter() - t0) * 1000
        child.send_signal(signal.SIGTERM)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    cpu_ms = (usage.ru_utime + usage.ru_stime) * 1000
    return wall_ms, cpu_ms, log


def summary(name: str, values: list[float], unit: str) -> str:
    return f"{name}: min {min(values):,.0f} {unit}, median {statistics.median(values):,.0f} {unit}"


def instructions(data_dir: Path, work: Path, runs: int) -> list[float]:
    counts = []
    for i in range(runs):
        out = work / f"callgrind.{i}.out"
        prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        start(data_dir, prefix, work / f"valgrind.{i}.log")
        match = re.search(r"^summary:\s+(\d+)", out.read_text(), re.M)
        if match is None:
            raise SystemExit(f"no summary line in {out}")
        counts.append(float(match.group(1)))
        print(f"  valgrind run {i + 1}: {counts[-1] / 1e6:,.0f} M instructions", flush=True)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args()
    if not CMPAPI.exists():
        raise SystemExit(f"{CMPAPI} missing: run with the project venv's python")
    # The sources the entry point imports (another checkout's venv measures that checkout).
    import cmpapi

    src = Path(cmpapi.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
    print(f"server: {CMPAPI} ({src})")
    work = Path(tempfile.mkdtemp(prefix="cmpapi-startup-"))
    try:
        data_dir = work / "data"
        wall, cpu, _ = start(data_dir, [], work / "seed.log")
        print(f"first start (migrate + seed): {wall:,.0f} ms wall, {cpu:,.0f} ms CPU")
        walls, cpus = [], []
        for i in range(args.runs):
            wall, cpu, _ = start(data_dir, [], work / f"run.{i}.log")
            walls.append(wall)
            cpus.append(cpu)
            print(f"  run {i + 1}: {wall:,.0f} ms to ready, {cpu:,.0f} ms CPU", flush=True)
        print(summary("wall to ready", walls, "ms"))
        print(summary("CPU (child, to exit)", cpus, "ms"))
        if args.instructions:
            if shutil.which("valgrind") is None:
                raise SystemExit("valgrind missing (apt-get install valgrind)")
            counts = instructions(data_dir, work, args.runs)
            print(summary("instructions (to exit)", [c / 1e6 for c in counts], "M"))
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
