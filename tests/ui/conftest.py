"""Fixtures for the tray tests: an offscreen QApplication, a fake facade, and a running tray.

Qt's offscreen platform renders widgets into memory, so these tests need no display; it must be
chosen before the QApplication exists, hence the environment variable at import time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

try:
    import PySide6  # noqa: F401

    HAVE_QT = True
except ImportError:
    HAVE_QT = False

NO_QT_REASON = "PySide6 is not installed (pip install PySide6-Essentials)"

from tests.ui.fake_facade import FakeFacade  # noqa: E402

# How long to wait for the tray to react before a test fails: generous, since it bounds a wait
# for a condition and is never a claim about speed.
WAIT_LIMIT_S = 15.0


def wait_until(condition: Callable[[], Any], what: str, limit_s: float = WAIT_LIMIT_S) -> None:
    """Run the Qt event loop until ``condition()`` is true; fail saying ``what`` never happened."""
    from PySide6.QtCore import QDeadlineTimer
    from PySide6.QtTest import QTest

    deadline = QDeadlineTimer(int(limit_s * 1000))
    while not condition():
        if deadline.hasExpired():
            raise AssertionError(f"timed out waiting until {what}")
        QTest.qWait(20)


@pytest.fixture(scope="session")
def qapp() -> Any:
    if not HAVE_QT:
        pytest.skip(NO_QT_REASON)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    return app


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Every test starts and ends in English, whatever the previous one switched to."""
    if HAVE_QT:
        from ui import i18n

        i18n.set_language("en")
    yield
    if HAVE_QT:
        from ui import i18n

        i18n.set_language("en")


@pytest.fixture
def facade_server(tmp_path: Path) -> Iterator[FakeFacade]:
    server = FakeFacade(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def facade(qapp: Any, facade_server: FakeFacade) -> Iterator[Any]:
    from ui.facade import Facade

    client = Facade(facade_server.url)
    yield client
    client.close()


@pytest.fixture
def tray(qapp: Any, facade: Any) -> Iterator[Any]:
    """A started tray polling the fake facade every 100 ms, after its first answer."""
    from ui.tray import TrayApp

    app = TrayApp(facade, poll_interval_ms=100)
    app.start()
    wait_until(lambda: app.polls > 0, "the first poll answered")
    yield app
    app.stop()
    # Let callbacks still in flight land before the tray's QObjects go away.
    wait_until(lambda: app.background.pending == 0, "background calls finished")
    for dialog in list(app.dialogs.values()):
        dialog.close()
    dispose(app.menu, app)


def dispose(*objects: Any) -> None:
    """Delete Qt objects now, in this order, instead of whenever the garbage collector meets them:
    left to the collector at interpreter exit, PySide6 can free them in an order that crashes."""
    from PySide6.QtCore import QCoreApplication, QEvent

    for obj in objects:
        obj.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
