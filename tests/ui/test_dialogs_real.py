"""The configuration, support and about dialogs against real service processes (issue 9): what
they show is what the real facade says, and what they save lands in the real config and
bundle. The tray's menu opening them is in test_tray_real.py."""

from __future__ import annotations

import zipfile
from typing import Any

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed (pip install pytest-qt)")

from PySide6.QtWidgets import QDialog

from tests.os_users import relay_as
from tests.ui.real_service import Installation
from tests.ui.real_service import serverless as serverless  # the module's installation fixture
from ui.dialogs.about import AboutDialog
from ui.dialogs.configuration import ConfigurationDialog
from ui.dialogs.support import SupportDialog
from ui.facade import Facade


def test_configuration_dialog_saves_to_the_real_config_and_shows_refusals(
    qapp: Any, serverless: Installation
) -> None:
    config = serverless.client.config
    dialog = ConfigurationDialog(serverless.facade)
    assert dialog.sync_interval.value() == 300  # what the real facade read from the file
    dialog.show()
    dialog.server_url.setText("not a url at all")
    before = config.read_text()
    dialog.save()
    assert dialog.isVisible() and "server_url" in dialog.message.text()
    assert config.read_text() == before  # a refused value changes nothing

    dialog.server_url.setText("")
    dialog.sync_interval.setValue(600)
    dialog.save()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert "sync_interval = 600" in config.read_text()
    # Not under supervisord here, so the dialog says the service must restart for it.
    assert dialog.restart_required
    restore = ConfigurationDialog(serverless.facade)
    restore.sync_interval.setValue(300)
    restore.save()
    assert "sync_interval = 300" in config.read_text()
    for opened in (dialog, restore):
        opened.close()


def test_support_dialog_saves_the_real_bundle(qapp: Any, serverless: Installation, tmp_path):
    dialog = SupportDialog(serverless.facade)
    target = tmp_path / "support.zip"
    dialog.path.setText(str(target))
    dialog.collect()
    assert dialog.saved_path == target
    with zipfile.ZipFile(target) as bundle:
        names = bundle.namelist()
        everything = b"".join(bundle.read(name) for name in names)
    assert any(name.endswith(".log") for name in names), names
    token = (serverless.client.root / "state" / "api.token").read_text().strip().encode()
    assert token not in everything
    assert f"Saved to {target}" in dialog.message.text()
    dialog.close()


def test_support_dialog_tells_an_ordinary_user_the_bundle_holds_only_their_rows(
    qapp: Any, serverless: Installation, tmp_path, two_users
) -> None:
    alice, _bob = two_users
    # the token file /session makes for her is below the installation's run directory
    serverless.client.root.chmod(0o755)
    target = tmp_path / "support.zip"
    with relay_as(alice, serverless.client.api_port) as url:
        facade = Facade(url)
        dialog = SupportDialog(facade)
        dialog.path.setText(str(target))
        dialog.collect()
        facade.close()
    assert dialog.saved_path == target, dialog.message.text()
    assert "only your own log lines and print jobs" in dialog.message.text()
    with zipfile.ZipFile(target) as bundle:
        assert b'"own"' in bundle.read("scope.json")
    dialog.close()
    # root's is the whole machine's, and says nothing of the kind
    admin = SupportDialog(serverless.facade)
    admin.path.setText(str(tmp_path / "all.zip"))
    admin.collect()
    assert "only your own" not in admin.message.text()
    admin.close()


def test_about_dialog_shows_what_the_real_facade_says(qapp: Any, serverless: Installation):
    about = serverless.facade.about()
    assert about.ok
    dialog = AboutDialog(serverless.facade)
    text = dialog.text.text()
    assert f"Version {about.data['version']}" in text and "Apache-2.0" in text
    dialog.close()
