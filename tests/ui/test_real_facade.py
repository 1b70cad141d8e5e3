"""The tray against the real facade process (``python -m services.api``), no other services.

With the other services down the facade still answers, so this proves the parts that only the
real peer can: the session's token file and the caller check by the kernel's socket owner, the
status shape, and the language stored by ``PUT /language``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from support.ports import free_port
from tests.ui.conftest import dispose, wait_until
from ui.facade import Facade
from ui.icons import TrayState
from ui.tray import TrayApp

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def real_facade(tmp_path: Path) -> Iterator[Facade]:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path}/state"\nrun_dir = "{tmp_path}/run"\n'
        f'log_dir = "{tmp_path}/log"\napi_port = {port}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULLPRINT_")}
    env["PULLPRINT_CONFIG"] = str(config)
    log = (tmp_path / "api.out").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.api"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    client = Facade(f"http://127.0.0.1:{port}")
    try:
        wait_until(lambda: client.status().ok or process.poll() is not None, "the facade answers")
        if process.poll() is not None:
            pytest.fail(f"the facade exited: {(tmp_path / 'api.out').read_text()}")
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_tray_shows_the_services_that_are_down_and_switches_language(
    qapp: object, real_facade: Facade
) -> None:
    tray = TrayApp(real_facade, poll_interval_ms=200)
    tray.start()
    try:
        wait_until(lambda: tray.polls > 0, "the first poll answered")
        assert tray.status.state is TrayState.ERROR
        assert tray.status.reason.startswith("Not running: ")
        assert "spooler" in tray.status.reason
        tray.language_actions["de"].trigger()
        wait_until(
            lambda: real_facade.language().data == {"language": "de"},
            "the facade stored the language",
        )
        assert tray.last_message == ""  # no failure reported
        assert tray.quit_action.text() == "Beenden"
    finally:
        tray.stop()
        wait_until(lambda: tray.background.pending == 0, "background calls finished")
        dispose(tray.menu, tray)
