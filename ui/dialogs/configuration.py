"""Configuration: server URLs, mode, synchronization interval and language.

The facade validates every value (the same rules the service applies at start-up) and answers
422 with a message naming what is wrong; the dialog shows that message and stays open, so
nothing is checked twice in two places that could disagree.
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
from ui.dialogs import busy, message_label, show_error
from ui.facade import Facade
from ui.i18n import _

MODES = ("local", "gateway", "hybrid")
# One day is the longest interval that still keeps printer lists reasonably fresh.
MAX_SYNC_INTERVAL = 86400


class ConfigurationDialog(QDialog):
    """Edits the keys a user may reasonably change; only the changed ones are sent."""

    def __init__(self, facade: Facade) -> None:
        super().__init__()
        self.facade = facade
        self.loaded: dict[str, Any] = {}
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
        self.message = message_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
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
        changes = self.changes()
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
