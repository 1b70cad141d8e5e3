"""``pullprint tray`` on a real X server with a real system tray: the icon docks and shows the
state of the service it talks to (issue 17: the xcb platform is what a desktop runs).

Everything is real: the installed console script (which execs ``python -m ui``), Qt's xcb
platform, Xvfb, trayer as the system tray, and for the idle icon a client installation with
every service running. The icon is found as a window trayer embedded into its panel, and its
state is read from its pixels: the badge colour of that state and of no other.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from support.ports import free_port
from support.waiting import wait_for
from tests.ui import x_server
from tests.ui.real_service import ALL_SERVICES, WAIT_MS, installation
from ui.icons import BADGE_COLOURS, TrayState
from ui.platform_check import check_xcb

PULLPRINT = Path(sys.executable).with_name("pullprint")
WAIT_S = WAIT_MS / 1000
# Pixels of the badge colour that make the badge visible: at the 22-24 px trayer gives an icon,
# the badge's plain inside is about 30 of them; the rest of its edge is blended.
BADGE_PIXELS = 10


@pytest.fixture(scope="module")
def tray_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A display with a system tray: (display, trayer's panel window)."""
    missing = x_server.missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: apt-get install xvfb trayer x11-utils)")
    problem = check_xcb(environ={"QT_QPA_PLATFORM": "xcb"})
    if problem:
        pytest.skip(problem)
    if not PULLPRINT.exists():
        pytest.skip(f"{PULLPRINT} is not installed (pip install -e .)")
    logs = tmp_path_factory.mktemp("x")
    with (
        x_server.xvfb(logs / "xvfb.log") as display,
        x_server.trayer(display, logs / "trayer.log") as panel,
    ):
        yield display, panel


class Tray:
    """A running ``pullprint tray`` on the tray host's display, stopped afterwards."""

    def __init__(self, display: str, panel: str, env: dict[str, str], log: Path) -> None:
        self.display, self.panel, self.log = display, panel, log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(PULLPRINT), "tray"],
                env=x_server.x_client_env(display, **env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def icons(self) -> list[str]:
        return x_server.docked_windows(self.display, self.panel, "pullprint")

    def wait_docked(self) -> str:
        """The icon's window once trayer has embedded it."""

        def docked() -> str | None:
            assert self.process.poll() is None, self.output()
            icons = self.icons()
            return icons[0] if len(icons) == 1 else None

        return wait_for(docked, WAIT_S, "the tray icon to dock into trayer")

    def wait_shows(self, icon: str, state: TrayState) -> None:
        def shows() -> bool:
            colours = x_server.window_colours(self.display, icon)
            others = [BADGE_COLOURS[s].name() for s in TrayState if s is not state]
            return colours[BADGE_COLOURS[state].name()] >= BADGE_PIXELS and not any(
                colours[c] for c in others
            )

        wait_for(shows, WAIT_S, f"the docked icon to show {state.name}\n{self.output()}")

    def quit(self) -> None:
        """Ctrl+C, as in a terminal: exits 0 and takes its icon out of the tray."""
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=WAIT_S) == 0, self.output()
        assert "Traceback" not in self.output()
        wait_for(lambda: not self.icons(), WAIT_S, "the icon to leave the tray")

    def stop(self) -> None:
        x_server.stop(self.process)


@pytest.fixture
def start_tray(tray_host: tuple[str, str], tmp_path: Path) -> Iterator[Callable[..., Tray]]:
    trays: list[Tray] = []

    def start(**env: str) -> Tray:
        # Per-user tray preferences go to the test's directory, not to this user's ~/.config.
        env.setdefault("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        tray = Tray(*tray_host, env, tmp_path / f"tray{len(trays)}.log")
        trays.append(tray)
        return tray

    yield start
    for tray in trays:
        tray.stop()


def test_pullprint_tray_docks_and_shows_idle_for_a_running_service(
    start_tray: Callable[..., Tray],
) -> None:
    with installation(*ALL_SERVICES) as inst:
        inst.wait_services_up()
        tray = start_tray(PULLPRINT_CONFIG=str(inst.client.config))
        icon = tray.wait_docked()
        assert x_server.xembed_mapped(tray.display, icon)
        tray.wait_shows(icon, TrayState.IDLE)
        tray.quit()


def test_pullprint_tray_docks_and_shows_error_with_no_service(
    start_tray: Callable[..., Tray], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"api_port = {free_port()}\n")  # nothing listens there
    tray = start_tray(PULLPRINT_CONFIG=str(config))
    icon = tray.wait_docked()
    tray.wait_shows(icon, TrayState.ERROR)
    tray.quit()
