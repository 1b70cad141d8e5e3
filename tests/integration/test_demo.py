"""``make demo`` keeps working: it is the first thing a newcomer runs."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT


def test_demo_prints_and_shows_identical_bytes_then_stops_everything():
    result = subprocess.run(
        [sys.executable, "-m", "services.core.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "identical" in result.stdout
    assert "Stopping everything the demo started" in result.stdout
