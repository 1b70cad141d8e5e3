"""The channels benchmark row (issue 22, finding 6), run as `make bench` runs it but on a tiny
fleet: it prints each figure with its baseline and the goal beside it, for one server process
and for two behind HAProxy (or says why those were not measured), names the database, and
records the same in its JSON. Nothing here asserts a speed; the figures at
1,000 and 10,000 channels are `make bench`'s."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import ROOT

COUNT = 20
# Figure -> the goal printed beside it ("" for figures without a goal of their own).
FIGURES = {
    "rss_mb_per_idle": "< 0.1 MB",
    "idle_cpu_pct": "",
    "db_xact_per_s": "",
    "db_writes_per_hb": "no DB write per heartbeat",
    "release_p50_ms": "",
    "release_p99_ms": "< 200 ms",
    "restart_back_s": "< 30 s",
}
VERDICTS = (": met", ": MISSED", ": not measured")


def test_channels_row_prints_every_figure_beside_its_goal(tmp_path: Path) -> None:
    written = tmp_path / "run.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "channels", "--quick", "--channels", str(COUNT),
         "--json", str(written)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    lines = result.stdout.splitlines()
    heading = next(line for line in lines if line.startswith("channels: "))
    assert f"{COUNT} endpoints on " in heading
    database = "PostgreSQL" if "PostgreSQL" in heading else "SQLite"
    rows = {row["name"]: row for row in json.loads(written.read_text())["rows"]}
    configurations = {f"channels_{COUNT}": 1}
    pair = next(line for line in lines if line.startswith(f"channels_{COUNT}x2: "))
    if "not measured: " not in pair:  # else it says why (no PostgreSQL, no HAProxy)
        configurations[f"channels_{COUNT}x2"] = 2
    for prefix, processes in configurations.items():
        for figure, goal in FIGURES.items():
            name = f"{prefix}_{figure}"
            line = next(line for line in lines if line.startswith(name + " "))
            assert goal in line and (not goal or any(v in line for v in VERDICTS)), line
            assert rows[name]["processes"] == processes and rows[name]["channels"] == COUNT
            assert database in rows[name]["database"]
            measured = database == "PostgreSQL" or not figure.startswith("db_")
            assert isinstance(rows[name]["ours"], float) == measured, (line, rows[name])
            assert "n/a" not in line.split()[1] or not measured, line
