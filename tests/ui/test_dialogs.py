"""The dialogs against a real HTTP facade: what they load, send, and show when refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from PySide6.QtWidgets import QDialog, QDialogButtonBox

from tests.ui.conftest import wait_until
from tests.ui.fake_facade import FakeFacade
from ui.dialogs.about import AboutDialog
from ui.dialogs.configuration import ConfigurationDialog
from ui.dialogs.login import LoginDialog
from ui.dialogs.support import SupportDialog
from ui.facade import Facade
from ui.tray import TrayApp


def test_configuration_shows_the_current_values(facade: Facade) -> None:
    dialog = ConfigurationDialog(facade)
    assert dialog.server_url.text() == "https://print.example.org"
    assert dialog.mode.currentData() == "local"
    assert dialog.sync_interval.value() == 300
    assert dialog.language.currentData() == "en"


def test_configuration_sends_only_what_changed(facade: Facade, facade_server: FakeFacade) -> None:
    dialog = ConfigurationDialog(facade)
    dialog.sync_interval.setValue(600)
    dialog.secondary_server_url.setText("https://backup.example.org")
    dialog.save()
    assert dialog.result() == QDialog.DialogCode.Accepted
    puts = [call for call in facade_server.changes() if call[1] == "/config"]
    assert puts == [
        (
            "PUT",
            "/config",
            '{"secondary_server_url":"https://backup.example.org","sync_interval":600}',
        )
    ]
    assert facade_server.config["sync_interval"] == 600


def test_configuration_shows_why_a_value_was_refused_and_stays_open(
    facade: Facade, facade_server: FakeFacade
) -> None:
    dialog = ConfigurationDialog(facade)
    dialog.show()
    dialog.server_url.setText("http://plain.example.org")
    dialog.save()
    assert dialog.isVisible()
    assert dialog.message.text() == "Not saved: key 'server_url': must start with https://"
    assert facade_server.config["server_url"] == "https://print.example.org"
    dialog.close()


def test_configuration_cannot_save_when_the_service_is_down(
    facade: Facade, facade_server: FakeFacade
) -> None:
    facade_server.stop()
    dialog = ConfigurationDialog(facade)
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled()
    assert "could not be read" in dialog.message.text()


def test_login_maps_this_user_to_the_server_user(facade: Facade, facade_server: FakeFacade) -> None:
    facade_server.config["login_type"] = "custom"
    dialog = LoginDialog(facade)
    dialog.user.setText("alice")
    dialog.password.setText("wonderland")
    dialog.submit()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert facade_server.user == "alice"


def test_a_wrong_password_is_refused_and_cleared(facade: Facade, facade_server: FakeFacade) -> None:
    facade_server.config["login_type"] = "custom"
    dialog = LoginDialog(facade)
    dialog.show()
    dialog.user.setText("alice")
    dialog.password.setText("guess")
    dialog.submit()
    assert dialog.isVisible()
    assert dialog.message.text() == "Login failed: wrong user name or password"
    assert dialog.password.text() == ""
    assert facade_server.user is None
    dialog.close()


def test_support_information_is_saved_where_chosen_and_says_where(
    facade: Facade, tmp_path: Path
) -> None:
    dialog = SupportDialog(facade)
    target = tmp_path / "bundle.zip"
    dialog.path.setText(str(target))
    dialog.days.setValue(5)
    dialog.collect()
    assert dialog.saved_path == target
    with zipfile.ZipFile(target) as zf:
        assert zf.read("days.txt") == b"5"
    assert f"Saved to {target}" in dialog.message.text()


def test_support_information_says_why_it_could_not_be_saved(facade: Facade, tmp_path: Path) -> None:
    dialog = SupportDialog(facade)
    dialog.path.setText(str(tmp_path / "no-such-dir" / "bundle.zip"))
    dialog.collect()
    assert dialog.saved_path is None
    assert dialog.message.text().startswith("Could not save: ")


def test_about_shows_version_copyright_and_license(facade: Facade) -> None:
    dialog = AboutDialog(facade)
    text = dialog.text.text()
    assert "Version 0.9.0" in text
    assert "Copyright 2026 the pullprint authors" in text
    assert "License: Apache-2.0" in text
    assert "PySide6 6.12 (LGPL-3.0)" in text


def test_tray_items_open_their_dialogs(tray: TrayApp) -> None:
    for action, dialog_type in [
        (tray.config_action, ConfigurationDialog),
        (tray.support_action, SupportDialog),
        (tray.about_action, AboutDialog),
    ]:
        action.trigger()
        assert any(isinstance(d, dialog_type) and d.isVisible() for d in tray.dialogs.values())


def test_an_open_dialog_follows_a_language_switch(tray: TrayApp) -> None:
    tray.about_action.trigger()
    tray.language_actions["fr"].trigger()
    assert tray.dialogs["about"].windowTitle() == "À propos de pullprint"


def test_login_from_the_tray_confirms_who_is_logged_in(
    tray: TrayApp, facade_server: FakeFacade
) -> None:
    facade_server.config["login_type"] = "custom"
    wait_until(lambda: tray.login_action.isVisible(), "the login item shows")
    tray.login_action.trigger()
    dialog = tray.dialogs["login"]
    assert isinstance(dialog, LoginDialog)
    dialog.user.setText("alice")
    dialog.password.setText("wonderland")
    dialog.submit()
    assert tray.last_message == "Logged in as alice."
    assert "login" not in tray.dialogs


def test_saved_configuration_says_a_restart_applies_it(
    tray: TrayApp, facade_server: FakeFacade
) -> None:
    tray.config_action.trigger()
    dialog = tray.dialogs["configuration"]
    assert isinstance(dialog, ConfigurationDialog)
    dialog.sync_interval.setValue(120)
    dialog.save()
    assert tray.last_message == "Saved. The changes apply when the pullprint service restarts."
    assert facade_server.config["sync_interval"] == 120


def test_configuration_changes_the_language_through_the_language_endpoint(
    facade: Facade, facade_server: FakeFacade
) -> None:
    facade_server.language = "fr"
    dialog = ConfigurationDialog(facade)
    assert dialog.language.currentData() == "fr"
    dialog.language.setCurrentIndex(dialog.language.findData("es"))
    dialog.save()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert facade_server.language == "es"
    assert not [call for call in facade_server.changes() if call[1] == "/config"]
