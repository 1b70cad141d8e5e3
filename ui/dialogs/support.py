"""Collect support information: the facade's support bundle (a zip) saved where the user says.

The bundle holds the service's logs of the last few days, its configuration with secrets
redacted, versions and a summary of the store, never documents; the dialog says so, because
people are right to ask before they send a file to someone. An ordinary user's bundle holds only
their own log lines and jobs (the facade's ``scope.json`` says ``own``), and the dialog says that
too, so nobody sends it believing it shows the whole machine.
"""

from __future__ import annotations

import html
import io
import json
import zipfile
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDir, Qt, QUrl
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from ui.dialogs import busy, message_label, show_error, show_info
from ui.facade import Facade
from ui.i18n import _, ngettext

MAX_DAYS = 30


def default_path() -> Path:
    return Path(QDir.homePath()) / f"pullprint-support-{date.today():%Y%m%d}.zip"


def holds_only_own_rows(bundle: bytes) -> bool:
    """Whether the facade limited the bundle to the caller's own rows (not an admin)."""
    try:
        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            return json.loads(archive.read("scope.json")).get("scope") == "own"
    except (zipfile.BadZipFile, KeyError, ValueError, AttributeError):
        return False  # an older service: it did not limit anything


class SupportDialog(QDialog):
    """How many days of logs, where to save the zip, and afterwards where it went."""

    def __init__(self, facade: Facade) -> None:
        super().__init__()
        self.facade = facade
        self.saved_path: Path | None = None
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.days = QSpinBox()
        self.days.setRange(1, MAX_DAYS)
        self.days.setValue(3)
        self.days.valueChanged.connect(self._update_days_suffix)
        self.path = QLineEdit(str(default_path()))
        self.browse = QPushButton()
        self.browse.clicked.connect(self.choose_path)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(self.browse)
        self.days_label, self.path_label = QLabel(), QLabel()
        self.form = QFormLayout()
        self.form.addRow(self.days_label, self.days)
        self.form.addRow(self.path_label, path_row)
        self.message = message_label()
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setOpenExternalLinks(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.buttons.accepted.connect(self.collect)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(self.form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(480)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(_("Collect support information"))
        self.intro.setText(
            _(
                "The support file contains the service's logs, its configuration without "
                "passwords or tokens, version numbers and a summary of the print jobs. "
                "It never contains your documents."
            )
        )
        self.days_label.setText(_("Logs of the last:"))
        self.path_label.setText(_("Save to:"))
        self.browse.setText(_("Browse…"))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText(_("Collect and save"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        self._update_days_suffix()

    def _update_days_suffix(self) -> None:
        n = self.days.value()
        self.days.setSuffix(" " + ngettext("day", "days", n))

    def choose_path(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self, _("Save support information"), self.path.text(), _("Zip archives (*.zip)")
        )
        if path:
            self.path.setText(path)

    def collect(self) -> None:
        """Fetch the zip and write it; the message says where it is, or why not."""
        target = Path(self.path.text().strip()).expanduser()
        if not self.path.text().strip():
            show_error(self.message, _("Please choose where to save the file."))
            return
        with busy():
            result = self.facade.support_bundle(self.days.value())
        if not result.ok:
            reason = result.message
            show_error(self.message, _("Could not collect: {reason}").format(reason=reason))
            return
        try:
            target.write_bytes(result.data)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            show_error(self.message, _("Could not save: {reason}").format(reason=reason))
            return
        self.saved_path = target
        link = QUrl.fromLocalFile(str(target.parent)).toString()
        text = _("Saved to {path}").format(path=target)
        shown = f'<a href="{link}">{html.escape(text)}</a>'
        if holds_only_own_rows(result.data):
            own = _(
                "It holds only your own log lines and print jobs; an administrator can "
                "collect those of every user."
            )
            shown += f"<br>{html.escape(own)}"
        show_info(self.message, shown)
