"""The tray's own per-user preferences (for now: whether to show job notifications).

Kept in QSettings, not in the service's config: ``/etc/pullprint/config.toml`` is root's and
holds one value for the whole machine, while notifications are each person's choice, changed
without the admin token. QSettings puts them where the desktop keeps such things for that user
(``~/.config/pullprint/tray.ini`` on Linux, ``%APPDATA%`` on Windows, ``~/.config`` on macOS
with the INI format chosen here), writes them atomically, and needs no extra dependency.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

NOTIFICATIONS_KEY = "notifications/enabled"


class Preferences:
    """Read on every access and written at once, so two trays of one user agree."""

    def __init__(self, path: Path | None = None) -> None:
        # A path for tests; otherwise this user's standard location.
        if path is None:
            self._settings = QSettings(
                QSettings.Format.IniFormat, QSettings.Scope.UserScope, "pullprint", "tray"
            )
        else:
            self._settings = QSettings(str(path), QSettings.Format.IniFormat)

    @property
    def path(self) -> str:
        return self._settings.fileName()

    @property
    def notifications(self) -> bool:
        self._settings.sync()
        value = self._settings.value(NOTIFICATIONS_KEY, True)
        # INI files give strings back; a value we cannot read leaves them on (the default).
        return str(value).lower() not in ("false", "0", "no", "off")

    @notifications.setter
    def notifications(self, enabled: bool) -> None:
        self._settings.setValue(NOTIFICATIONS_KEY, bool(enabled))
        self._settings.sync()
