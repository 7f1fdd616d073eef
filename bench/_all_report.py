"""``bench/all.py``'s markdown table and plot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

SHORT = "†"  # the offset is at or past the end: a short or empty page


def cell(result: Any) -> str:
    """``median (p90)`` ms, marked when the page is short; the status when it failed."""
    get: Callable[[str], Any] = (
        result.get if isinstance(result, dict) else lambda k: getattr(result, k)
    )
    if get("median_ms") is None:
        return "FAILED"
    mark = SHORT if get("expected_items") < 10 else ""
    failed = "" if get("status") == "ok" else " FAILED"
    return f"{get('median_ms'):.1f} ({get('p90_ms'):.1f}){mark}{failed}"


def _size(n: int) -> str:
    return (
        f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)
    )


def _by_case(record: dict[str, Any], backend: str, sizes: list[int]) -> dict[str, dict[int, Any]]:
    table: dict[str, dict[int, Any]] = {}
    for size in sizes:
        run = record["runs"].get(f"{backend}/{size}")
        for result in run["results"] if run else ():
            table.setdefault(result["case"], {})[size] = result
    return table


def markdown(record: dict[str, Any], backends: list[str], sizes: list[int]) -> str:
    """One table per backend: case x size (median (p90) ms) and the growth column."""
    lines = [f"# bench/all.py, {record['started_at'][:19]}Z, commit {record['git_commit']}", ""]
    lines.append(
        f"Single requests, page_size 10, median (p90) ms of up to "
        f"{record['args']['repeat']} sequential requests after "
        f"{record['args']['warmup']} warm-ups. {SHORT}: the offset is at or past the "
        "end of the result (short or empty page). growth: median at the largest size "
        "/ median at the smallest (target 1: at most 2x, bold above). Load average "
        f"{record['loadavg_before']:.1f} before, {record['loadavg_after']:.1f} after "
        f"({record['nproc']} CPUs)."
    )
    for backend in backends:
        table = _by_case(record, backend, sizes)
        lo, hi = sizes[0], sizes[-1]
        head = [_size(s) for s in sizes]
        lines += [
            "",
            f"## {backend}",
            "",
            f"| case | {' | '.join(head)} | growth {_size(hi)}/{_size(lo)} |",
            f"| --- | {' | '.join('---:' for _ in sizes)} | ---: |",
        ]
        for case, by_size in table.items():
            cells = [cell(by_size[s]) if s in by_size else "" for s in sizes]
            first, last = by_size.get(lo), by_size.get(hi)
            growth = ""
            if first and last and first["median_ms"] and last["median_ms"]:
                ratio = last["median_ms"] / first["median_ms"]
                growth = f"**{ratio:.1f}x**" if ratio > 2 else f"{ratio:.1f}x"
            lines.append(f"| {case} | {' | '.join(cells)} | {growth} |")
    lines += [
        "",
        "## Data",
        "",
        "| backend | size | build | seconds |",
        "| --- | ---: | --- | ---: |",
    ]
    for key, run in record["runs"].items():
        backend, size = key.split("/")
        how = (
            "reused"
            if run["reused"]
            else ", ".join(f"{k} {v:.1f} s" for k, v in run["meta"]["build_s"].items())
        )
        lines.append(f"| {backend} | {int(size):,} | {how} | {run['seconds']:.1f} |")
        for warning in run["missing_writes"]:
            lines.append(f"| | | WARNING: {warning} | |")
    failures = [
        (k, r) for k, run in record["runs"].items() for r in run["results"] if r["status"] != "ok"
    ]
    if failures:
        lines += ["", "## Failures", ""]
        lines += [f"- {k}: {r['case']}: {r['status']}" for k, r in failures]
    logged = [k for k, run in record["runs"].items() if run["log_errors"]]
    if logged:
        lines += ["", "## Server errors (tails in the JSON: runs.<key>.log_errors)", ""]
        lines += [f"- {k}" for k in logged]
    return "\n".join(lines) + "\n"


def plot(record: dict[str, Any], backends: list[str], sizes: list[int], path: Path) -> str:
    """One subplot per operation (rows) and backend (columns): median ms per case against
    rows (log), ms on a log axis when they span more than a decade. matplotlib is not a
    project dependency (the ``bench`` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return (
            "no plot: matplotlib is missing (.venv/bin/pip install matplotlib, "
            "or pip install -e '.[bench]')"
        )
    ops = list(dict.fromkeys(r["op"] for run in record["runs"].values() for r in run["results"]))
    if not ops:
        return "no plot: no results"
    fig, axes = plt.subplots(
        len(ops), len(backends), figsize=(6.5 * len(backends), 3.6 * len(ops)), squeeze=False
    )
    for col, backend in enumerate(backends):
        table = _by_case(record, backend, sizes)
        for row, op in enumerate(ops):
            ax = axes[row][col]
            colors: dict[str, Any] = {}
            for case, by_size in table.items():
                if not case.startswith(op + " "):
                    continue
                name, offset = case.removeprefix(op + " ").rsplit(" @", 1)
                xs = [s for s in sizes if s in by_size and by_size[s]["median_ms"]]
                line = ax.plot(
                    xs,
                    [by_size[s]["median_ms"] for s in xs],
                    linestyle="-" if offset == "0" else "--",
                    color=colors.get(name),
                    label=f"{name} @{offset}",
                )
                colors[name] = line[0].get_color()
                for s in xs:  # hollow markers: short or empty pages
                    short = by_size[s]["expected_items"] < 10
                    ax.plot(
                        [s],
                        [by_size[s]["median_ms"]],
                        marker="o",
                        color=colors[name],
                        markerfacecolor="none" if short else colors[name],
                    )
            ax.set_xscale("log")
            low, high = ax.get_ylim()
            if high > 10 * max(low, 1e-3):  # over a decade: log, else linear from 0
                ax.set_yscale("log")
                ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
                ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            else:
                ax.set_ylim(0, high * 1.05)
            ax.set_title(f"{op}, {backend}")
            ax.set_xlabel("rows")
            ax.set_ylabel("ms, median")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(
                fontsize=7, title="dashed: offset 10,000; hollow: short page", title_fontsize=7
            )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return f"plot: {path}"
