"""The Configuration dialog under a configuration profile from the server: read-only with the
profile named when it forbids local configuration, and the profile's own values read-only
when it does not."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialogButtonBox

from tests.ui.fake_facade import FakeFacade
from ui import i18n
from ui.dialogs.configuration import ConfigurationDialog
from ui.facade import Facade


def test_a_locking_profile_makes_the_dialog_read_only_and_names_it(
    qtbot: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    facade_server.assign_profile("Managed PCs", locked=True, sync_interval=45)
    dialog = ConfigurationDialog(facade)
    qtbot.addWidget(dialog)
    dialog.show()

    assert dialog.sync_interval.value() == 45
    for field in dialog._fields():
        assert not field.isEnabled()
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled()
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).isEnabled()
    assert dialog.notice.isVisible()
    assert dialog.notice.text() == (
        "This configuration is managed by your organisation's profile 'Managed PCs'."
    )
    dialog.save()  # Enter on a disabled Save must not send anything either
    assert [c for c in facade_server.changes() if c[1] == "/config"] == []

    i18n.set_language("de")
    dialog.retranslate()
    assert dialog.notice.text() == (
        "Diese Konfiguration wird vom Profil 'Managed PCs' Ihrer Organisation verwaltet."
    )


def test_a_profile_that_allows_local_configuration_keeps_only_its_values_read_only(
    qtbot: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    facade_server.assign_profile("Office", locked=False, sync_interval=45)
    dialog = ConfigurationDialog(facade)
    qtbot.addWidget(dialog)

    assert not dialog.sync_interval.isEnabled()
    assert dialog.sync_interval.toolTip() == "Set by your organisation's profile 'Office'."
    assert dialog.server_url.isEnabled() and dialog.mode.isEnabled()
    assert not dialog.notice.isVisible()
    dialog.secondary_server_url.setText("https://backup.example.org")
    dialog.save()
    puts = [c for c in facade_server.changes() if c[1] == "/config"]
    assert puts == [("PUT", "/config", '{"secondary_server_url":"https://backup.example.org"}')]
