"""Screenshots of the tray menu and every dialog, rendered offscreen with ``QWidget.grab()``.

They land in ``$PULLPRINT_SCREENSHOTS_DIR`` when set (``make screenshots`` points it at
``docs/screenshots``), else in the test's temporary directory; either way the test checks that
each image has a sensible size and is not one flat colour, i.e. that something was drawn.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from tests.ui.conftest import wait_until
from tests.ui.fake_facade import FakeFacade
from ui.icons import TrayState, state_pixmap
from ui.tray import TrayApp


@pytest.fixture
def shots_dir(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("PULLPRINT_SCREENSHOTS_DIR") or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def save(widget: QWidget, path: Path) -> Path:
    widget.adjustSize()
    # Let the layout settle first: a table places its cell widgets (My jobs' Cancel) only then.
    QApplication.processEvents()
    assert widget.grab().save(str(path)), f"could not write {path}"
    return path


def assert_drawn(path: Path) -> None:
    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not an image"
    assert image.width() >= 100 and image.height() >= 50, f"{path} is {image.size()}"
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)
    }
    assert len(colours) > 2, f"{path} is blank"


def test_menu_and_dialogs_render(tray: TrayApp, facade_server: FakeFacade, shots_dir: Path) -> None:
    facade_server.config["login_type"] = "custom"  # so the menu shows every item
    wait_until(lambda: tray.login_action.isVisible(), "the menu shows every item")
    shots = [save(tray.menu, shots_dir / "tray-menu.png")]
    add_sample_jobs(facade_server)
    jobs = tray.open_dialog("jobs")
    jobs.table.selectRow(1)  # the stopped job, whose details say why
    shots.append(save(jobs, shots_dir / "dialog-jobs.png"))
    for name in ("configuration", "login", "support", "about"):
        shots.append(save(tray.open_dialog(name), shots_dir / f"dialog-{name}.png"))
    tray.language_actions["de"].trigger()
    shots.append(save(tray.menu, shots_dir / "tray-menu-de.png"))
    shots.append(save_icons(shots_dir / "tray-icons.png"))
    for path in shots:
        assert_drawn(path)


def add_sample_jobs(facade: FakeFacade) -> None:
    """A morning's jobs in the states people meet: printed, canceled, waiting, held."""
    start = time.time() - 3 * 3600
    facade.add_job(
        name="Quarterly report.pdf",
        state="completed",
        state_reasons=["job-completed-successfully"],
        route="direct",
        printer="floor2",
        size=1_843_200,
        created_at=start,
        completed_at=start + 40,
    )
    facade.add_job(
        name="Boarding pass.pdf",
        state="canceled",
        state_reasons=["job-canceled-by-user"],
        state_message="canceled by tester",
        size=96_512,
        created_at=start + 1800,
        completed_at=start + 1900,
    )
    facade.add_job(
        name="Invoice 2026-114.pdf",
        state="processing-stopped",
        state_reasons=["service-off-line"],
        state_message="no gateway reachable: print.example.org:7300: connection refused",
        route="gateway",
        size=240_100,
        created_at=start + 7200,
    )
    facade.add_job(name="Slides.pdf", size=5_210_000, created_at=start + 9000)


def save_icons(path: Path) -> Path:
    """The four icon states side by side, at the size of a large tray."""
    strip = QPixmap(4 * 72, 72)
    strip.fill(QColor("white"))
    painter = QPainter(strip)
    for index, state in enumerate(TrayState):
        painter.drawPixmap(index * 72 + 4, 4, state_pixmap(state, 64))
    painter.end()
    assert strip.save(str(path))
    return path
