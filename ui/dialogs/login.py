"""Login as a different user: maps this OS user to a server user (custom login only)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout

from ui.dialogs import busy, message_label, show_error
from ui.facade import Facade
from ui.i18n import _


class LoginDialog(QDialog):
    """User name and password, checked by the server through the facade before it closes."""

    def __init__(self, facade: Facade) -> None:
        super().__init__()
        self.facade = facade
        self.user = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.user_label, self.password_label = QLabel(), QLabel()
        self.form = QFormLayout()
        self.form.addRow(self.user_label, self.user)
        self.form.addRow(self.password_label, self.password)
        self.message = message_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(_("Login as different user"))
        self.user_label.setText(_("User name:"))
        self.password_label.setText(_("Password:"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("Log in"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))

    def submit(self) -> None:
        user = self.user.text().strip()
        if not user:
            show_error(self.message, _("Please enter a user name."))
            return
        with busy():
            result = self.facade.login(user, self.password.text())
        if not result.ok:
            # The password is never kept for a retry: the person types it again.
            self.password.clear()
            show_error(self.message, _("Login failed: {reason}").format(reason=result.message))
            return
        self.accept()
