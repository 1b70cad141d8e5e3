"""Configuration: server URLs, mode, synchronization interval and language.

The facade validates every value (the same rules the service applies at start-up) and answers
422 with a message naming what is wrong; the dialog shows that message and stays open, so
nothing is checked twice in two places that could disagree.

When the server's configuration profile forbids local configuration (``GET /config`` says
``locked``), the dialog shows the values read-only and names the profile; a value the profile
sets (``managed``) is read-only even when the rest may be changed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui import i18n
from ui.dialogs import busy, message_label, show_error, show_info
from ui.facade import Facade
from ui.i18n import _

MODES = ("local", "gateway", "hybrid")
# One day is the longest interval that still keeps printer lists reasonably fresh.
MAX_SYNC_INTERVAL = 86400
# The facade's names of the fields, in the order of ``_fields``.
KEYS = ("server_url", "secondary_server_url", "mode", "sync_interval", "language")


class ConfigurationDialog(QDialog):
    """Edits the keys a user may reasonably change; only the changed ones are sent."""

    def __init__(self, facade: Facade) -> None:
        super().__init__()
        self.facade = facade
        self.loaded: dict[str, Any] = {}
        # The profile that locks the configuration, or that sets some of its values.
        self.locked = False
        self.profile: str | None = None
        self.managed: set[str] = set()
        # The facade rewrites the file; services read it when they start, so it may say so.
        self.restart_required = False
        self.server_url = QLineEdit()
        self.secondary_server_url = QLineEdit()
        self.mode = QComboBox()
        for mode in MODES:
            self.mode.addItem("", mode)
        self.sync_interval = QSpinBox()
        self.sync_interval.setRange(1, MAX_SYNC_INTERVAL)
        self.language = QComboBox()
        for code, name in i18n.LANGUAGES.items():
            self.language.addItem(name, code)
        self.form = QFormLayout()
        self.labels = [QLabel() for _field in self._fields()]
        for label, widget in zip(self.labels, self._fields(), strict=True):
            self.form.addRow(label, widget)
        self.notice = message_label()  # why the dialog is read-only, in whole or in part
        self.message = message_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(self.form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(440)
        self.retranslate()
        self.load()

    def _fields(self) -> list[QWidget]:
        return [
            self.server_url,
            self.secondary_server_url,
            self.mode,
            self.sync_interval,
            self.language,
        ]

    def retranslate(self) -> None:
        self.setWindowTitle(_("pullprint configuration"))
        texts = [
            _("Server URL:"),
            _("Secondary server URL:"),
            _("Mode:"),
            _("Synchronize printers every:"),
            _("Language:"),
        ]
        for label, text in zip(self.labels, texts, strict=True):
            label.setText(text)
        self.server_url.setPlaceholderText(_("none: local printers only"))
        self.secondary_server_url.setPlaceholderText(_("none"))
        mode_names = {
            "local": _("Local storage"),
            "gateway": _("Gateway"),
            "hybrid": _("Hybrid"),
        }
        for index in range(self.mode.count()):
            self.mode.setItemText(index, mode_names[self.mode.itemData(index)])
        self.sync_interval.setSuffix(" " + _("seconds"))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText(_("Save"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        self._show_profile()

    def _show_profile(self) -> None:
        """Say which profile manages the configuration; called again on a language switch."""
        if self.profile is None:
            return
        if self.locked:
            text = _("This configuration is managed by your organisation's profile '{profile}'.")
            show_info(self.notice, text.format(profile=self.profile))
        elif "sync_interval" in self.managed:
            text = _("Set by your organisation's profile '{profile}'.")
            self.sync_interval.setToolTip(text.format(profile=self.profile))

    def load(self) -> None:
        """Fill the fields from ``GET /config``; without it, saving would overwrite blindly."""
        with busy():
            result = self.facade.config()
        if not result.ok or not isinstance(result.data, dict):
            show_error(
                self.message,
                _("The configuration could not be read: {reason}").format(reason=result.message),
            )
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)
            return
        self.loaded = result.data
        profile = result.data.get("profile")
        self.profile = str(profile.get("name")) if isinstance(profile, dict) else None
        self.locked = bool(result.data.get("locked"))
        self.managed = set(result.data.get("managed") or [])
        self.server_url.setText(str(result.data.get("server_url") or ""))
        self.secondary_server_url.setText(str(result.data.get("secondary_server_url") or ""))
        _select(self.mode, result.data.get("mode"))
        self.sync_interval.setValue(int(float(result.data.get("sync_interval") or 300)))
        # The language in force is GET /language (the tray's choice, else the config's key).
        with busy():
            language = self.facade.language()
        if language.ok and isinstance(language.data, dict):
            self.loaded["language"] = language.data.get("language")
        _select(self.language, self.loaded.get("language"))
        self._apply_lock()

    def _apply_lock(self) -> None:
        """Read-only where the profile decides: everything when locked (Save disabled, only
        Cancel left to close), else the values it sets."""
        for key, widget in zip(KEYS, self._fields(), strict=True):
            widget.setEnabled(not self.locked and key not in self.managed)
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setEnabled(not self.locked)
        self._show_profile()

    def values(self) -> dict[str, Any]:
        """Every field as the facade names it; an empty URL means "no server" (None)."""
        return {
            "server_url": self.server_url.text().strip() or None,
            "secondary_server_url": self.secondary_server_url.text().strip() or None,
            "mode": self.mode.currentData(),
            "sync_interval": self.sync_interval.value(),
            "language": self.language.currentData(),
        }

    def changes(self) -> dict[str, Any]:
        return {
            key: value
            for key, value in self.values().items()
            if not _same(self.loaded.get(key), value)
        }

    def save(self) -> None:
        """Send the changes; the language through PUT /language, which every user may change
        (PUT /config is for administrators) and which takes effect without a restart."""
        if self.locked:
            return  # Save is disabled; the facade would refuse it (403 config-locked) anyway
        changes = {k: v for k, v in self.changes().items() if k not in self.managed}
        language = changes.pop("language", None)
        with busy():
            result = self.facade.set_config(changes) if changes else None
            if result is not None and not result.ok:
                show_error(self.message, _("Not saved: {reason}").format(reason=result.message))
                return
            chosen = self.facade.set_language(language) if language else None
        if chosen is not None and not chosen.ok:
            show_error(self.message, _("Not saved: {reason}").format(reason=chosen.message))
            return
        if result is not None and isinstance(result.data, dict):
            self.restart_required = bool(result.data.get("restart_required"))
        self.accept()


def _select(combo: QComboBox, data: Any) -> None:
    index = combo.findData(data)
    if index >= 0:
        combo.setCurrentIndex(index)


def _same(old: Any, new: Any) -> bool:
    """Numbers compare as numbers (300 == 300.0); missing and empty both mean "not set"."""
    if isinstance(old, int | float) and isinstance(new, int | float):
        return float(old) == float(new)
    return (old or None) == (new or None)
