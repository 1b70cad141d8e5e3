"""The tray against a real HTTP facade: icon states, visibility rules, and what each item does."""

from __future__ import annotations

import copy
from typing import Any

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from tests.ui.conftest import wait_until
from tests.ui.fake_facade import IDLE_STATUS, FakeFacade
from ui import i18n
from ui.icons import TrayState, state_pixmap
from ui.tray import TrayApp


def next_poll(tray: TrayApp) -> None:
    """Wait for a poll that started after now, so it saw the fake's latest state."""
    seen = tray.polls
    wait_until(lambda: tray.polls >= seen + 2, "the tray polled again")


def shown_icon_is(tray: TrayApp, state: TrayState) -> bool:
    shown = tray.icon.icon().pixmap(32, 32).toImage()
    return shown == state_pixmap(state, 32).toImage()


def visible_texts(tray: TrayApp) -> list[str]:
    return [a.text() for a in tray.menu.actions() if a.isVisible() and a.text()]


STATUSES: dict[str, tuple[dict[str, Any], TrayState, str]] = {
    "online": ({}, TrayState.IDLE, "Ready."),
    "serverless": (
        {"channel": {"state": "idle", "server": None, "reason": "no server_url"}},
        TrayState.IDLE,
        "no server configured",
    ),
    "syncing": (
        {"sync": {"state": "running", "reason": "", "last_sync": None}},
        TrayState.SYNCING,
        "Synchronizing",
    ),
    "offline": (
        {
            "channel": {
                "state": "offline",
                "server": "https://print.example.org",
                "reason": "3 heartbeats missed",
            }
        },
        TrayState.OFFLINE,
        "3 heartbeats missed",
    ),
    "waiting": (
        {"channel": {"state": "waiting-authorization", "server": "x", "reason": ""}},
        TrayState.OFFLINE,
        "authorize",
    ),
    "service down": (
        {"ok": False, "services": {"sync": {"service": "sync", "state": "unreachable"}}},
        TrayState.ERROR,
        "Not running: sync",
    ),
}


@pytest.mark.parametrize("name", list(STATUSES))
def test_icon_and_tooltip_follow_the_status(
    name: str, tray: TrayApp, facade_server: FakeFacade
) -> None:
    change, state, why = STATUSES[name]
    facade_server.status = {**copy.deepcopy(IDLE_STATUS), **change}
    next_poll(tray)
    assert tray.status.state is state
    assert shown_icon_is(tray, state)
    assert why in tray.icon.toolTip()
    assert why in tray.status_action.text()


def test_facade_down_shows_error_then_recovers(tray: TrayApp, facade_server: FakeFacade) -> None:
    assert tray.status.state is TrayState.IDLE
    facade_server.stop()
    wait_until(lambda: tray.status.state is TrayState.ERROR, "the error icon shows")
    assert shown_icon_is(tray, TrayState.ERROR)
    assert "not reachable" in tray.icon.toolTip()
    assert not tray.sync_action.isEnabled()
    facade_server.start()
    wait_until(lambda: tray.status.state is TrayState.IDLE, "the tray recovers")
    assert shown_icon_is(tray, TrayState.IDLE)
    assert tray.sync_action.isEnabled()


def test_login_as_different_user_only_for_custom_login(
    tray: TrayApp, facade_server: FakeFacade
) -> None:
    assert not tray.login_action.isVisible()  # login_type os
    facade_server.config["login_type"] = "custom"
    next_poll(tray)
    assert tray.login_action.isVisible()
    assert tray.logout_action.isVisible()


def test_delivery_pair_only_in_local_mode(tray: TrayApp, facade_server: FakeFacade) -> None:
    assert tray.route_local_action.isVisible() and tray.route_gateway_action.isVisible()
    assert tray.route_local_action.isChecked() and not tray.route_gateway_action.isChecked()
    facade_server.status["mode"] = facade_server.config["mode"] = "gateway"
    next_poll(tray)
    assert not tray.route_local_action.isVisible()
    assert not tray.route_gateway_action.isVisible()


def test_choosing_gateway_delivery_tells_the_facade(
    tray: TrayApp, facade_server: FakeFacade
) -> None:
    tray.route_gateway_action.trigger()
    wait_until(lambda: facade_server.status["route"] == "gateway", "the route was changed")
    assert ("PUT", "/route", '{"route":"gateway"}') in facade_server.changes()
    next_poll(tray)
    assert tray.route_gateway_action.isChecked() and not tray.route_local_action.isChecked()
    assert "via the gateway" in tray.icon.toolTip()


def test_language_switch_retranslates_every_menu_text(
    tray: TrayApp, facade_server: FakeFacade
) -> None:
    facade_server.config["login_type"] = "custom"  # so every item is visible
    next_poll(tray)
    english = visible_texts(tray)
    tray.language_actions["de"].trigger()
    german = visible_texts(tray)
    assert "Drucker jetzt synchronisieren" in german
    assert "Beenden" in german
    assert tray.language_menu.title() == "Sprache"
    # Every item changed, except the language names, which are always in their own language.
    assert all(en != de for en, de in zip(english, german, strict=True))
    wait_until(lambda: facade_server.language == "de", "the facade heard of it")
    next_poll(tray)
    assert visible_texts(tray) == german  # a poll does not switch it back


def test_language_set_in_the_service_is_adopted(tray: TrayApp, facade_server: FakeFacade) -> None:
    facade_server.language = "cs"  # chosen elsewhere, e.g. in another session
    wait_until(lambda: tray.quit_action.text() == "Ukončit", "the menu is in Czech")
    assert tray.language_actions["cs"].isChecked()
    assert i18n.current_language() == "cs"


def test_synchronize_now_starts_a_sync_and_shows_it(
    tray: TrayApp, facade_server: FakeFacade
) -> None:
    tray.sync_action.trigger()
    wait_until(lambda: tray.status.state is TrayState.SYNCING, "the syncing icon shows")
    assert ("POST", "/sync", None) in facade_server.changes()


def test_logout_tells_the_facade(tray: TrayApp, facade_server: FakeFacade) -> None:
    facade_server.user = "alice"
    tray.logout_action.trigger()
    wait_until(lambda: tray.last_message == "You are logged out.", "logout was confirmed")
    assert facade_server.user is None


def test_after_logout_the_menu_offers_to_log_in_again(
    tray: TrayApp, facade_server: FakeFacade
) -> None:
    assert tray.logout_action.isVisible() and not tray.sign_in_action.isVisible()
    tray.logout_action.trigger()
    wait_until(lambda: tray.sign_in_action.isVisible(), "Log in is offered")
    assert not tray.logout_action.isVisible()
    assert "Logged out" in tray.icon.toolTip()
    tray.sign_in_action.trigger()
    wait_until(lambda: tray.logout_action.isVisible(), "Logout is offered again")
    assert tray.last_message == "You are logged in."
    assert ("POST", "/login", "{}") in facade_server.changes()


def test_a_failed_command_is_reported(tray: TrayApp, facade_server: FakeFacade) -> None:
    facade_server.fail["/sync"] = 500
    tray.sync_action.trigger()
    wait_until(lambda: tray.last_message != "", "the failure was reported")
    assert tray.last_message == "Synchronization could not be started: it broke"


class UrlCatcher(QObject):
    """Receives the URLs the tray opens instead of a browser (QDesktopServices' own hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


def opened_by_my_profile(tray: TrayApp) -> list[str]:
    """The URLs "My profile" asks the desktop to open."""
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("https", catcher, "open")
    try:
        assert tray.profile_action.isEnabled()
        tray.profile_action.trigger()
    finally:
        QDesktopServices.unsetUrlHandler("https")
    return catcher.urls


def test_my_profile_opens_the_servers_profile_page(tray: TrayApp) -> None:
    assert opened_by_my_profile(tray) == ["https://print.example.org/profile"]


def test_my_profile_opens_the_first_of_a_list_of_servers(
    tray: TrayApp, facade_server: FakeFacade
) -> None:
    facade_server.config["server_url"] = None
    facade_server.config["servers"] = ["https://a.example.org/", "https://b.example.org"]
    next_poll(tray)
    assert opened_by_my_profile(tray) == ["https://a.example.org/profile"]


def test_my_profile_is_disabled_without_a_server(tray: TrayApp, facade_server: FakeFacade) -> None:
    facade_server.config["server_url"] = None
    next_poll(tray)
    assert not tray.profile_action.isEnabled()
