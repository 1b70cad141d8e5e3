"""The tray's "Login as different user" against a real facade, a real server and a
real printer (issue 9): the login is checked by the server, the OS user then prints as the
server user, and that user's release at the printer brings the job out.

The tray's own process is this test process (an offscreen QApplication); everything it talks
to runs as the installation's processes.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed (pip install pytest-qt)")

from PySide6.QtWidgets import QDialog

from protocol.states import JobState
from services.core.ipp import Operation, Status
from support.client import Client
from support.server import add_printer_and_port
from support.waiting import wait_for
from tests.ui.real_service import WAIT_MS, close_tray
from ui.dialogs.login import LoginDialog
from ui.facade import Facade
from ui.tray import TrayApp


@pytest.fixture
def tray(qapp: Any, qtbot: Any, online_client: Any, cloud: Any) -> Iterator[tuple[TrayApp, Client]]:
    """A custom-login client of ``cloud`` with its facade, and a tray polling that facade."""
    with cloud.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": "alice", "password": "pw-alice"})
    client = online_client([], login_type="custom")
    client.start("api")
    facade = Facade(f"http://127.0.0.1:{client.api_port}")
    app = TrayApp(facade, poll_interval_ms=200)
    app.start()
    try:
        qtbot.waitUntil(lambda: app.config.get("login_type") == "custom", timeout=WAIT_MS)
        yield app, client
    finally:
        close_tray(qtbot, app, facade)


def open_login(qtbot: Any, app: TrayApp) -> LoginDialog:
    app.login_action.trigger()
    qtbot.waitUntil(lambda: isinstance(app.dialogs.get("login"), LoginDialog), timeout=WAIT_MS)
    dialog = app.dialogs["login"]
    assert isinstance(dialog, LoginDialog) and dialog.isVisible()
    return dialog


def test_login_as_different_user_prints_as_that_user(
    qtbot: Any, tray: tuple[TrayApp, Client], cloud: Any, raw_printer: Any
) -> None:
    app, client = tray
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="pull", port_name="hall")
    assert app.login_action.isVisible()
    dialog = open_login(qtbot, app)

    # A wrong password: the server refuses, the dialog stays open and forgets the password.
    dialog.user.setText("alice")
    dialog.password.setText("not-her-password")
    dialog.submit()
    assert dialog.isVisible()
    assert "Login failed" in dialog.message.text() and "login refused" in dialog.message.text()
    assert dialog.password.text() == ""

    dialog.password.setText("pw-alice")
    dialog.submit()
    assert dialog.result() == QDialog.DialogCode.Accepted
    qtbot.waitUntil(lambda: app.last_message == "Logged in as alice.", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "login" not in app.dialogs, timeout=WAIT_MS)

    # This OS user (the facade saw it by its socket) now prints as alice ...
    wait_for(
        lambda: client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer="hall").code == Status.OK,
        30,
        "the server's port on this machine",
    )
    me = getpass.getuser()
    reply = client.ipp(Operation.PRINT_JOB, printer="hall", user=me, document=b"from the tray")
    assert reply.code == Status.OK
    job = client.jobs()[-1]
    assert job.owner == "alice"
    assert client.job_state(job.id) == JobState.PENDING_HELD
    # ... and alice's release at the printer brings the job out.
    with cloud.admin() as admin:
        wait_for(lambda: cloud.jobs(), 30, "the server to know alice's job")
        admin.post("/api/v1/release", json={"user": "alice", "printer": "floor1"})
    wait_for(raw_printer.jobs, 30, "alice's job printed")
    assert [p.read_bytes() for p in raw_printer.jobs()] == [b"from the tray"]
