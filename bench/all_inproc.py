"""``all.py``'s list cases in-process, for a loaded box: the minimum of many requests.

    .venv/bin/python bench/all_inproc.py --sizes 1000,100000 --only listAssets

Same databases (``_all_data.ensure``: cached, built when missing) and the same cases and
checks as ``bench/all.py``, but each request goes through the ASGI app in this process
(Starlette's TestClient) instead of a uvicorn server over TCP. Printed per case and size:
the minimum and the median of ``--repeat`` timed requests (ms), and the growth of the
minimum from the smallest size to the largest. On a box shared with other jobs the
median moves with their load; the minimum much less: it is the figure to compare two
versions with when the box is not quiet (``all.py`` stays the figure of record).

To compare with another version of the code, run that version's checkout of this script
(its own alembic head gets its own cached SQLite databases) with another ``--pg-prefix``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _all_data as data
import all as bench_all


def run(built: data.Built, args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    from starlette.testclient import TestClient

    from cmpapi.server.app import create_app
    from cmpapi.server.settings import Settings

    admin, member = bench_all.issue_tokens(built)
    settings = Settings(
        data_dir=built.data_dir, database_url=built.database_url, worker_embedded=False
    )
    out: dict[str, tuple[float, float]] = {}
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        for case in bench_all.cases(built.meta):
            for offset in bench_all.OFFSETS:
                label = f"{case.op} {case.name} @{offset}"
                if args.only and not any(o in label for o in args.only):
                    continue
                total = built.meta.expected[case.expect]
                headers = {"Authorization": f"Bearer {member if case.member else admin}"}
                url = bench_all.paged(case.query, offset)
                samples: list[float] = []
                for n in range(args.warmup + args.repeat):
                    started = time.perf_counter()
                    answer = client.get(url, headers=headers)
                    ms = (time.perf_counter() - started) * 1000
                    bench_all.check(answer, case, total, offset)
                    if n >= args.warmup:
                        samples.append(ms)
                out[label] = (min(samples), statistics.median(samples))
                print(f"  {label:<48} {out[label][0]:8.1f} {out[label][1]:8.1f}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,100000")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--only", action="append")
    ap.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "cmpapi-bench-cache"
    )
    ap.add_argument("--pg-prefix", default=data.PG_PREFIX)
    args = ap.parse_args(argv)
    data.PG_PREFIX = args.pg_prefix
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[int, tuple[float, float]]] = {}
    for backend in args.backends.split(","):
        for size in sizes:
            print(f"\n[{backend} {size:,}]", flush=True)
            built = data.ensure(backend, size, args.cache_dir, rebuild=False)
            for label, figures in run(built, args).items():
                results.setdefault(f"{backend} {label}", {})[size] = figures
    print(f"\nhead {data.alembic_head()}; min / median ms; growth of the min")
    print(f"| case | {' | '.join(f'{s:,}' for s in sizes)} | growth |")
    print(f"| --- | {' | '.join('---:' for _ in sizes)} | ---: |")
    for label, by_size in results.items():
        cells = [
            f"{by_size[s][0]:.1f} / {by_size[s][1]:.1f}" if s in by_size else "-" for s in sizes
        ]
        growth = by_size[sizes[-1]][0] / by_size[sizes[0]][0] if len(by_size) == len(sizes) else 0
        print(f"| {label} | {' | '.join(cells)} | {growth:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
