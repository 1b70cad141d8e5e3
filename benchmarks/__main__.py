"""``make bench`` (``python -m benchmarks [ROW...] [--quick]``): the rows of DESIGN.md 10, each
ours against a baseline measured in the same run on this machine, printed as
``name ours baseline ratio`` (then the goal and whether it was met) and written as JSON to
``benchmarks/last-run.json`` for comparison over time.

``ratio`` is always ours / baseline; whether higher or lower is better depends on the row and
is in the JSON. A full run writes ``last-run.json``; a subset or ``--quick`` run (smaller
sizes, for development) writes only where ``--json`` says, so a quick try never replaces the
figures of a full run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks import capture, channels, direct, memory, recovery, small_jobs, sync
from benchmarks.common import Row
from support import ROOT

ROWS: dict[str, Callable[[Path, bool], list[Row]]] = {
    "capture": capture.run,
    "direct": direct.run,
    "latency": small_jobs.latency,
    "concurrency": small_jobs.concurrency,
    "memory": memory.run,
    "recovery": recovery.run,
    "sync": sync.run,
    "channels": channels.run,
}
LAST_RUN = ROOT / "benchmarks" / "last-run.json"


def machine() -> dict[str, object]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    disk = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", tempfile.gettempdir()],
        capture_output=True,
        text=True,
    ).stdout.split()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "disk": " ".join(disk),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True)
    return out.stdout.decode().strip()


def number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def goal(row: Row) -> str:
    if not row.goal:
        return ""
    verdict = {True: "met", False: "MISSED", None: "not measured"}[row.met]
    return f"{row.goal}: {verdict}"


def print_row(row: Row) -> None:
    print(
        f"{row.name:<30} {number(row.ours):>10} {number(row.baseline):>10} "
        f"{number(row.ratio):>7}  {goal(row)}"
        + (f"  ({row.note})" if row.ours is not None and row.baseline is None else ""),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("rows", nargs="*", metavar="ROW", help="any of: " + ", ".join(ROWS))
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    parser.add_argument("--json", type=Path, help="where to write the results")
    parser.add_argument(
        "--channels", type=int, metavar="N", help="endpoints of the channels row (1,000)"
    )
    args = parser.parse_args(argv)
    unknown = [r for r in args.rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; rows: {', '.join(ROWS)}")
    selected = [r for r in ROWS if r in args.rows] or list(ROWS)
    full = selected == list(ROWS) and not args.quick and not args.channels
    output = args.json or (LAST_RUN if full else None)

    started = time.time()
    info = machine()
    rows: list[Row] = []
    failed: dict[str, str] = {}
    print(f"{'name':<30} {'ours':>10} {'baseline':>10} {'ratio':>7}  goal", flush=True)
    for name in selected:
        with tempfile.TemporaryDirectory(prefix=f"pp-bench-{name}-") as tmp:
            try:
                if name == "channels" and args.channels:
                    new = channels.run(Path(tmp), args.quick, args.channels)
                else:
                    new = ROWS[name](Path(tmp), args.quick)
            except Exception:
                # One broken row must not hide the others; it is reported, never invented.
                failed[name] = traceback.format_exc()
                print(f"{name:<30} {'FAILED':>10}  (traceback at the end)", flush=True)
                continue
        for row in new:
            print_row(row)
        rows += new
    for name, trace in failed.items():
        print(f"\n--- {name} failed:\n{trace}", file=sys.stderr)
    if output is not None:
        result = {
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "commit": commit(),
            "seconds": round(time.time() - started),
            "quick": args.quick,
            "machine": info,
            "rows": [
                {
                    "name": r.name,
                    "ours": r.ours,
                    "baseline": r.baseline,
                    "ratio": r.ratio,
                    "better": r.better,
                    "goal": r.goal,
                    "met": r.met,
                    "note": r.note,
                    **r.extra,
                }
                for r in rows
            ],
            "failed": sorted(failed),
        }
        output.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
