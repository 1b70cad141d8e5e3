"""A bad configuration stops start-up with one line naming the key and the file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support import ROOT


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


@pytest.mark.parametrize(
    "argv",
    [
        *([f"services.{name}"] for name in ("spooler", "sync", "delivery", "channel", "api")),
        ["cli", "jobs"],
        ["cli", "service"],
    ],
    ids=lambda argv: " ".join(argv[1:]) or argv[0],
)
def test_a_missing_named_config_stops_start_up_naming_the_file(tmp_path, argv):
    """Issue 17: `pullprint jobs` printed an empty table from a new database in the system's
    state directory. Now nothing starts, and nothing is created."""
    missing = tmp_path / "missing.toml"
    state = tmp_path / "state"  # where the defaults would have gone, were they used
    env = {"PATH": "/usr/bin:/bin", "PULLPRINT_CONFIG": str(missing),
           "PULLPRINT_STATE_DIR": str(state)}  # fmt: skip

    result = subprocess.run(
        [sys.executable, "-m", *argv], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip

    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"pullprint: config error: {missing} does not exist (named by PULLPRINT_CONFIG)\n"
    )
    assert not state.exists()


def test_a_root_without_an_installation_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cli", "status", "--root", str(tmp_path)],
        env={"PATH": "/usr/bin:/bin"}, cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip

    assert result.returncode == 2
    config = tmp_path / "etc" / "pullprint" / "config.toml"
    assert result.stderr == (
        f"pullprint: config error: {config} does not exist: no pullprint installed under "
        f"{tmp_path}\n"
    )
