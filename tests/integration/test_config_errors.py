"""A bad configuration stops start-up with one line naming the key and the file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT


@pytest.mark.parametrize(
    ("line", "key"),
    [('mode = "cloudy"', "mode"), ('spooler_port = "abc"', "spooler_port")],
)
@pytest.mark.parametrize("service", ["spooler", "delivery", "api"])
def test_bad_config_stops_start_up_naming_key_and_file(tmp_path, line, key, service):
    config = tmp_path / "config.toml"
    config.write_text(line + "\n")
    env = {"PATH": "/usr/bin:/bin", "PULLPRINT_CONFIG": str(config)}

    result = subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"'{key}'" in lines[0] and str(config) in lines[0]
    assert "Traceback" not in result.stderr
