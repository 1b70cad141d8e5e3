"""``python -m ui`` as a real process: finds the facade by PULLPRINT_API_PORT, polls it, and quits
cleanly on Ctrl+C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from tests.ui.conftest import wait_until
from tests.ui.fake_facade import FakeFacade

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_ui_polls_the_facade_and_quits_on_ctrl_c(
    qapp: object, facade_server: FakeFacade, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "PULLPRINT_API_PORT": str(facade_server.port),
        "PULLPRINT_CONFIG": str(tmp_path / "none.toml"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ui"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(
            lambda: ("GET", "/config", None) in facade_server.calls or process.poll() is not None,
            "the tray read the status and the config",
        )
        assert process.poll() is None, process.communicate()[0]
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Traceback" not in output
