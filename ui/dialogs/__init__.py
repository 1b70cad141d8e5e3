"""The tray's dialogs, one module each, and the few helpers they share.

Dialogs call the facade directly on the GUI thread, unlike the tray's polling: the person has
just pressed a button and waits for that answer anyway, the facade is on loopback, and the
client's timeouts are short. A wait cursor shows that something is happening.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget


@contextmanager
def busy() -> Iterator[None]:
    """A wait cursor for the duration of one facade call."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


def message_label(parent: QWidget | None = None) -> QLabel:
    """A label for the outcome of the last action, hidden while empty."""
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def show_error(label: QLabel, text: str) -> None:
    label.setStyleSheet("color: #c62828;")
    label.setText(text)
    label.show()


def show_info(label: QLabel, text: str) -> None:
    label.setStyleSheet("")
    label.setText(text)
    label.show()
