"""The tray against real service processes (issue 9): every cause is real, none is faked.

The facade (``python -m services.api``) and the services it reports on run as processes of a
client installation in a temporary directory (``support.client.Client``). Each icon state comes
from what those processes really report: the facade gone (error), a serverless site with every
service up (idle), a server nobody listens for (offline), a server that accepts connections but
never answers, so the sync stays running (syncing). The menu items are clicked and their effect
is read back from the facade, not from the tray.

One serverless installation serves the tests that put things back as they found them; the
states that need another config get an installation of their own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed (pip install pytest-qt)")

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QDialog

from support.ports import free_port
from support.process import Process
from support.waiting import wait_for
from tests.os_users import relay_as
from tests.ui.real_service import (
    ALL_SERVICES,
    WAIT_MS,
    Installation,
    close_tray,
    installation,
    silent_server,
)
from tests.ui.real_service import serverless as serverless  # the module's installation fixture
from tests.ui.test_tray import UrlCatcher
from ui import i18n
from ui.dialogs.about import AboutDialog
from ui.dialogs.configuration import ConfigurationDialog
from ui.dialogs.support import SupportDialog
from ui.facade import Facade
from ui.icons import TrayState, state_pixmap
from ui.tray import TrayApp

# The tray polls this often here; the tests wait for conditions, never for a time.
POLL_MS = 200


@pytest.fixture
def make_tray(qapp: Any, qtbot: Any) -> Iterator[Callable[[Installation], TrayApp]]:
    """Start trays polling an installation's facade; each is stopped and disposed afterwards."""
    trays: list[tuple[TrayApp, Facade]] = []

    def make(inst: Installation) -> TrayApp:
        facade = Facade(inst.url)
        tray = TrayApp(facade, poll_interval_ms=POLL_MS)
        trays.append((tray, facade))
        tray.start()
        qtbot.waitUntil(lambda: tray.polls > 0, timeout=WAIT_MS)
        return tray

    yield make
    for tray, facade in trays:
        close_tray(qtbot, tray, facade)


def shows(tray: TrayApp, state: TrayState) -> bool:
    """The tray is in ``state`` and the icon it shows is that state's icon."""
    shown = tray.icon.icon().pixmap(32, 32).toImage()
    return tray.status.state is state and shown == state_pixmap(state, 32).toImage()


def wait_state(qtbot: Any, tray: TrayApp, state: TrayState) -> None:
    def reached() -> None:
        assert shows(tray, state), f"{tray.status} (wanted {state.name})"

    qtbot.waitUntil(reached, timeout=WAIT_MS)


def next_poll(qtbot: Any, tray: TrayApp) -> None:
    """Wait for a poll that started after now."""
    seen = tray.polls
    qtbot.waitUntil(lambda: tray.polls >= seen + 2, timeout=WAIT_MS)


def menu_texts(tray: TrayApp) -> dict[str, str]:
    """Every text of the menu, hidden items included, by a name that does not change."""
    actions: dict[str, QAction] = {
        "status": tray.status_action,
        "sync": tray.sync_action,
        "login as": tray.login_action,
        "log in": tray.sign_in_action,
        "logout": tray.logout_action,
        "configuration": tray.config_action,
        "route local": tray.route_local_action,
        "route gateway": tray.route_gateway_action,
        "profile": tray.profile_action,
        "support": tray.support_action,
        "about": tray.about_action,
        "quit": tray.quit_action,
    }
    texts = {name: action.text() for name, action in actions.items()}
    texts["language"] = tray.language_menu.title()
    return texts


# -- icon states ---------------------------------------------------------------------------------


def test_idle_when_every_service_of_a_serverless_client_runs(
    qtbot: Any, serverless: Installation, make_tray: Callable[[Installation], TrayApp]
) -> None:
    tray = make_tray(serverless)
    wait_state(qtbot, tray, TrayState.IDLE)
    assert tray.status.reason == "Ready (no server configured)."
    tooltip = tray.icon.toolTip()
    assert tooltip.startswith(f"pullprint {serverless.status()['version']}\n")
    assert "Ready (no server configured)." in tooltip
    assert "Mode: local storage" in tooltip
    # Visibility from the real config: os login and local mode.
    assert not tray.login_action.isVisible()
    assert tray.logout_action.isVisible() and not tray.sign_in_action.isVisible()
    assert tray.route_local_action.isVisible() and tray.route_gateway_action.isVisible()
    assert tray.route_local_action.isChecked()
    assert not tray.profile_action.isEnabled()  # serverless: no profile page
    assert tray.sync_action.isEnabled()


def test_error_while_the_facade_is_stopped_then_recovers(
    qtbot: Any, serverless: Installation, make_tray: Callable[[Installation], TrayApp]
) -> None:
    tray = make_tray(serverless)
    wait_state(qtbot, tray, TrayState.IDLE)
    serverless.client.processes["api"].stop()
    try:
        wait_state(qtbot, tray, TrayState.ERROR)
        assert tray.status.reason == "The pullprint service is not reachable."
        assert "The pullprint service is not reachable." in tray.icon.toolTip()
        # Nothing that needs the service can be clicked while it is away.
        assert not tray.sync_action.isEnabled()
        assert not tray.logout_action.isEnabled()
        assert not tray.route_gateway_action.isEnabled()
    finally:
        serverless.client.start("api")
    wait_state(qtbot, tray, TrayState.IDLE)
    assert "Ready (no server configured)." in tray.icon.toolTip()
    assert tray.sync_action.isEnabled()


def test_offline_when_the_server_is_not_listening(
    qtbot: Any, make_tray: Callable[[Installation], TrayApp]
) -> None:
    server = f"https://127.0.0.1:{free_port()}"  # nothing listens there; no ca_file
    with installation(*ALL_SERVICES, server_url=server) as inst:
        inst.wait_services_up()
        tray = make_tray(inst)
        wait_state(qtbot, tray, TrayState.OFFLINE)
        channel = inst.status()["channel"]
        assert channel["state"] == "offline"
        assert channel["reason"]
        assert tray.status.reason == (
            f"Offline: the server {server} is not reachable. ({channel['reason']})"
        )
        assert tray.status.reason in tray.icon.toolTip()
        assert tray.profile_action.isEnabled()  # a server is configured
        # My profile opens the configured server's profile page in the browser.
        catcher = UrlCatcher()
        QDesktopServices.setUrlHandler("https", catcher, "open")
        try:
            tray.profile_action.trigger()
        finally:
            QDesktopServices.unsetUrlHandler("https")
        assert catcher.urls == [f"{server}/profile"]


def test_syncing_while_the_server_does_not_answer(
    qtbot: Any, make_tray: Callable[[Installation], TrayApp]
) -> None:
    # An authorized machine whose server accepts the connection and then says nothing: the sync
    # waits for its answer (30 s, the sync's HTTP timeout) and reports itself running meanwhile.
    with (
        silent_server() as server,
        installation(*ALL_SERVICES, server_url=server, endpoint_token="t0ken") as inst,
    ):
        inst.wait_services_up()
        tray = make_tray(inst)
        wait_state(qtbot, tray, TrayState.SYNCING)
        assert inst.status()["sync"]["state"] == "running"
        assert tray.status.reason == "Synchronizing printers…"
        assert "Synchronizing printers…" in tray.icon.toolTip()


# -- menu items ----------------------------------------------------------------------------------


def test_synchronize_now_runs_a_sync(
    qtbot: Any, serverless: Installation, make_tray: Callable[[Installation], TrayApp]
) -> None:
    tray = make_tray(serverless)
    wait_state(qtbot, tray, TrayState.IDLE)
    before = serverless.status()["sync"]["last_sync"]
    assert before is not None  # the sync at start-up
    tray.sync_action.trigger()

    def synced() -> None:
        sync = serverless.status()["sync"]
        assert sync["state"] == "ok" and sync["last_sync"] > before, sync

    qtbot.waitUntil(synced, timeout=WAIT_MS)
    assert tray.last_message == ""  # no failure reported


def test_delivery_route_choice_is_stored_by_the_facade(
    qtbot: Any, serverless: Installation, make_tray: Callable[[Installation], TrayApp]
) -> None:
    tray = make_tray(serverless)
    wait_state(qtbot, tray, TrayState.IDLE)
    assert serverless.facade.route().data["route"] == "local"
    assert tray.route_local_action.isChecked()
    tray.route_gateway_action.trigger()
    try:
        qtbot.waitUntil(
            lambda: serverless.facade.route().data["route"] == "gateway", timeout=WAIT_MS
        )
        next_poll(qtbot, tray)  # the tray shows what the facade says, not what it was told
        assert tray.route_gateway_action.isChecked()
        assert not tray.route_local_action.isChecked()
        assert "Delivery: via the gateway" in tray.icon.toolTip()
        assert tray.last_message == ""
        tray.route_local_action.trigger()
        qtbot.waitUntil(lambda: serverless.facade.route().data["route"] == "local", timeout=WAIT_MS)
        next_poll(qtbot, tray)
        assert tray.route_local_action.isChecked()
        assert "Delivery: stored and delivered locally" in tray.icon.toolTip()
    finally:
        serverless.facade.set_route("local")


def test_a_mode_saved_in_configuration_shows_in_status_route_and_menu_at_the_next_poll(
    qtbot: Any, make_tray: Callable[[Installation], TrayApp]
) -> None:
    """Issue 20: after a mode change the facade kept saying the old mode for minutes (it read
    the file only at start), so the tooltip and the ticked route said local while jobs went
    through the gateway. Saved through the Configuration dialog, as a user does."""
    with installation("api", "spooler", "sync") as inst:
        inst.wait_facade()
        tray = make_tray(inst)
        qtbot.waitUntil(lambda: tray.config.get("mode") == "local", timeout=WAIT_MS)
        assert tray.route_local_action.isVisible() and tray.route_local_action.isChecked()

        dialog = ConfigurationDialog(inst.facade)
        dialog.mode.setCurrentIndex(dialog.mode.findData("gateway"))
        dialog.save()
        assert dialog.result() == QDialog.DialogCode.Accepted, dialog.message.text()
        next_poll(qtbot, tray)

        status = inst.status()
        assert status["mode"] == "gateway"
        assert inst.facade.route().data["mode"] == "gateway"
        assert "Mode: gateway" in tray.icon.toolTip()
        assert "Delivery: stored and delivered locally" not in tray.icon.toolTip()
        assert not tray.route_local_action.isVisible()
        assert not tray.route_gateway_action.isVisible()
        dialog.close()


def test_save_under_supervisord_is_saved_at_once_and_the_tray_follows_the_restart(
    qtbot: Any, make_tray: Callable[[Installation], TrayApp]
) -> None:
    """Issue 20: a mode change restarts three processes, which took longer than the tray's
    HTTP timeout, so Save said "Not saved: no answer in time" for a change that was saved. Now
    the facade answers at once and restarts them in the background: the dialog closes saved,
    status lists the restart, and the tray ends idle in the new mode."""
    with installation() as inst:  # supervisord starts the five processes, as in production
        inst.client.processes["supervisord"] = Process(
            "supervisord",
            [sys.executable, "-m", "cli", "service"],
            inst.client.env,
            inst.client.root / "log" / "service.out",
        )
        inst.wait_services_up()
        tray = make_tray(inst)
        wait_state(qtbot, tray, TrayState.IDLE)

        dialog = ConfigurationDialog(inst.facade)
        dialog.mode.setCurrentIndex(dialog.mode.findData("hybrid"))
        dialog.save()

        assert dialog.result() == QDialog.DialogCode.Accepted, dialog.message.text()
        assert not dialog.restart_required  # supervisord restarts them: nothing left to do
        assert inst.status()["restarting"] == ["channel", "delivery", "spooler"]
        qtbot.waitUntil(lambda: not inst.status().get("restarting", True), timeout=60_000)
        wait_state(qtbot, tray, TrayState.IDLE)
        assert "Mode: hybrid" in tray.icon.toolTip()
        dialog.close()


def test_language_changes_every_menu_text_and_is_stored(
    qtbot: Any, serverless: Installation, make_tray: Callable[[Installation], TrayApp]
) -> None:
    tray = make_tray(serverless)
    wait_state(qtbot, tray, TrayState.IDLE)
    english = menu_texts(tray)
    tray.language_actions["de"].trigger()
    try:
        qtbot.waitUntil(
            lambda: serverless.facade.language().data == {"language": "de"}, timeout=WAIT_MS
        )
        next_poll(qtbot, tray)  # a poll after the switch keeps the new language
        german = menu_texts(tray)
        unchanged = [name for name in english if german[name] == english[name]]
        assert unchanged == [], f"still in English: {unchanged}"
        assert german["quit"] == "Beenden"
        assert tray.language_actions["de"].isChecked()
        assert tray.status.reason in tray.icon.toolTip()
        assert tray.last_message == ""
        tray.language_actions["en"].trigger()
        qtbot.waitUntil(
            lambda: serverless.facade.language().data == {"language": "en"}, timeout=WAIT_MS
        )
        next_poll(qtbot, tray)
        assert menu_texts(tray) == english
    finally:
        serverless.facade.set_language("en")
        i18n.set_language("en")


def test_logout_signs_out_and_the_menu_then_offers_log_in(
    qtbot: Any, serverless: Installation, make_tray: Callable[[Installation], TrayApp]
) -> None:
    tray = make_tray(serverless)
    wait_state(qtbot, tray, TrayState.IDLE)
    assert serverless.status()["signed_out"] is False
    tray.logout_action.trigger()
    try:
        qtbot.waitUntil(lambda: serverless.status()["signed_out"] is True, timeout=WAIT_MS)
        qtbot.waitUntil(tray.sign_in_action.isVisible, timeout=WAIT_MS)
        assert not tray.logout_action.isVisible()
        qtbot.waitUntil(lambda: tray.last_message == "You are logged out.", timeout=WAIT_MS)
        assert "Logged out" in tray.icon.toolTip()
        tray.sign_in_action.trigger()
        qtbot.waitUntil(lambda: serverless.status()["signed_out"] is False, timeout=WAIT_MS)
        qtbot.waitUntil(tray.logout_action.isVisible, timeout=WAIT_MS)
        assert not tray.sign_in_action.isVisible()
        qtbot.waitUntil(lambda: tray.last_message == "You are logged in.", timeout=WAIT_MS)
    finally:
        serverless.facade.login()


# -- visibility rules from the real config -------------------------------------------------------


def test_custom_login_shows_login_as_and_gateway_mode_hides_the_delivery_pair(
    qtbot: Any, make_tray: Callable[[Installation], TrayApp]
) -> None:
    # Only the facade: the visibility rules read its /config and /status, whatever the rest does.
    with installation("api", mode="gateway", login_type="custom") as inst:
        inst.wait_facade()
        tray = make_tray(inst)
        qtbot.waitUntil(lambda: tray.config.get("login_type") == "custom", timeout=WAIT_MS)
        assert tray.config.get("mode") == "gateway"
        assert tray.login_action.isVisible()
        assert not tray.sign_in_action.isVisible()
        assert not tray.route_local_action.isVisible()
        assert not tray.route_gateway_action.isVisible()
        assert not tray.route_separator.isVisible()
        # The other services are not running: the facade says so, and the tray shows it.
        assert tray.status.state is TrayState.ERROR
        assert tray.status.reason.startswith("Not running: ")


# -- after quitting ---------------------------------------------------------------------------


def test_quit_ends_the_application(
    qapp: Any, serverless: Installation, make_tray: Callable[[Installation], TrayApp]
) -> None:
    tray = make_tray(serverless)
    # If Quit did nothing, the guard would end the event loop with 1 instead of Quit's 0.
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: qapp.exit(1))
    guard.start(WAIT_MS)
    QTimer.singleShot(0, tray.quit_action.trigger)
    assert qapp.exec() == 0
    guard.stop()


def test_an_answer_after_stop_is_dropped(
    qtbot: Any, serverless: Installation, make_tray: Callable[[Installation], TrayApp]
) -> None:
    tray = make_tray(serverless)
    tray.timer.stop()  # no poll of its own in flight: the language answer is the only call
    qtbot.waitUntil(lambda: tray.background.pending == 0, timeout=WAIT_MS)
    try:
        with qtbot.captureExceptions() as exceptions:
            tray.language_actions["de"].trigger()  # PUT /language in a worker
            # Without running the Qt event loop (so the answer cannot be delivered yet), until
            # the facade has stored it: the request was sent, and stop() cannot cancel it.
            wait_for(
                lambda: serverless.facade.language().data == {"language": "de"},
                WAIT_MS / 1000,
                "the facade stored the language",
            )
            tray.stop()
            qtbot.waitUntil(lambda: tray.background.pending == 0, timeout=WAIT_MS)
        assert [str(e[1]) for e in exceptions] == []
    finally:
        serverless.facade.set_language("en")
        i18n.set_language("en")


# -- dialogs from the menu (what they do: test_dialogs_real.py) ----------------------------------


def test_menu_items_open_their_dialogs_on_the_real_facade(
    qtbot: Any, serverless: Installation, make_tray: Callable[[Installation], TrayApp]
) -> None:
    tray = make_tray(serverless)
    wait_state(qtbot, tray, TrayState.IDLE)
    for action, kind in [
        (tray.config_action, ConfigurationDialog),
        (tray.support_action, SupportDialog),
        (tray.about_action, AboutDialog),
    ]:
        action.trigger()
        qtbot.waitUntil(
            lambda k=kind: any(isinstance(d, k) for d in tray.dialogs.values()), timeout=WAIT_MS
        )


def test_an_ordinary_user_is_told_the_route_is_the_machines_and_it_stays(
    qtbot: Any, qapp: Any, serverless: Installation, two_users: tuple[str, str]
) -> None:
    alice, _bob = two_users
    serverless.client.root.chmod(0o755)  # her token file is below the installation
    with relay_as(alice, serverless.client.api_port) as url:
        facade = Facade(url)
        tray = TrayApp(facade, poll_interval_ms=POLL_MS)
        tray.start()
        try:
            qtbot.waitUntil(lambda: tray.polls > 0, timeout=WAIT_MS)
            tray.route_gateway_action.trigger()
            qtbot.waitUntil(lambda: "every user" in tray.last_message, timeout=WAIT_MS)
            assert "delivery route" in tray.last_message and "admin" in tray.last_message
            next_poll(qtbot, tray)
            assert tray.route_local_action.isChecked()  # what the facade says, unchanged
        finally:
            close_tray(qtbot, tray, facade)
    assert serverless.facade.route().data["route"] == "local"
