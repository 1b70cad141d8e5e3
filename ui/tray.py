"""The tray icon, its menu, and the state behind both.

``TrayApp`` polls ``GET /status`` (and ``GET /config`` for the menu's visibility rules) every few
seconds in the background and redraws from the answer; it never keeps state the facade does not
confirm, so the tray recovers by itself when the service comes back. Menu items that change
something call the facade in the background too, and say so in a tray message when it fails.

Visibility rules (DESIGN.md 9, issue 9):
- "Login as different user" only when ``login_type`` is ``custom``;
- the delivery pair ("Store and deliver locally" / "Deliver via gateway") only in ``local`` mode;
- "My profile" only enabled when a server is configured (serverless sites have no profile page);
- items that need the service are disabled while it is not reachable.

Each poll also reads ``GET /jobs`` (only the caller's own jobs) for the job notifications of
``ui/notifications.py``; "Notifications" turns them off for this user (``ui/preferences.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices
from PySide6.QtWidgets import QApplication, QDialog, QMenu, QSystemTrayIcon

from ui import i18n
from ui.background import Background
from ui.dialogs.about import AboutDialog
from ui.dialogs.configuration import ConfigurationDialog
from ui.dialogs.jobs import JobsDialog
from ui.dialogs.login import LoginDialog
from ui.dialogs.support import SupportDialog
from ui.facade import Facade, Result
from ui.i18n import _
from ui.icons import TrayState, state_icon
from ui.notifications import JobNotices, message_for
from ui.preferences import Preferences
from ui.state import TrayStatus, derive_status, tooltip

# Often enough that a sync or an outage shows within seconds, rarely enough to cost nothing.
POLL_INTERVAL_MS = 3000


class TrayApp(QObject):
    """The whole tray: icon, menu, polling and the dialogs it opens."""

    def __init__(
        self,
        facade: Facade,
        poll_interval_ms: int = POLL_INTERVAL_MS,
        preferences: Preferences | None = None,
    ) -> None:
        super().__init__()
        self.facade = facade
        self.preferences = preferences or Preferences()
        self.job_notices = JobNotices()
        self.background = Background(self)
        self.status = TrayStatus(TrayState.ERROR, "")
        self._status_result: Result | None = None  # the last /status answer, None before one
        self.version: str | None = None
        self.config: dict[str, Any] = {}
        self.last_message = ""  # the last tray message (tests read it; tray hosts may drop it)
        self.dialogs: dict[str, QDialog] = {}
        self._polling = False
        self.polls = 0  # /status answers applied so far; tests wait for the next one
        # Bumped when the user picks a language and again when the facade has stored it, so a
        # poll that started in between cannot switch the menu back to the old language.
        self._language_epoch = 0

        self.menu = QMenu()
        self._build_menu()
        self.icon = QSystemTrayIcon(state_icon(TrayState.ERROR), self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.retranslate()
        self._refresh_visibility()

        self.timer = QTimer(self)
        self.timer.setInterval(poll_interval_ms)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        """Show the icon and start polling (the first poll at once)."""
        self.icon.show()
        self.timer.start()
        self.poll()

    def stop(self) -> None:
        self.timer.stop()
        self.icon.hide()
        self.background.shutdown()

    # -- the menu ------------------------------------------------------------------------------

    def _build_menu(self) -> None:
        """Create every action once; ``retranslate`` gives them their words."""
        m = self.menu
        self.status_action = m.addAction("")
        self.status_action.setEnabled(False)  # a line of information, not a command
        m.addSeparator()
        self.jobs_action = self._add(lambda: self.open_dialog("jobs"))
        self.sync_action = self._add(self.sync_now)
        self.login_action = self._add(lambda: self.open_dialog("login"))
        self.sign_in_action = self._add(self.sign_in)
        self.logout_action = self._add(self.logout)
        self.config_action = self._add(lambda: self.open_dialog("configuration"))
        self.route_separator = m.addSeparator()
        self.route_group = QActionGroup(self)
        self.route_group.setExclusive(True)
        self.route_local_action = self._add(lambda: self.set_route("local"), checkable=True)
        self.route_gateway_action = self._add(lambda: self.set_route("gateway"), checkable=True)
        for action in (self.route_local_action, self.route_gateway_action):
            self.route_group.addAction(action)
        m.addSeparator()
        self.language_menu = m.addMenu("")
        self.language_group = QActionGroup(self)
        self.language_actions: dict[str, QAction] = {}
        for code, name in i18n.LANGUAGES.items():
            action = self.language_menu.addAction(name)
            action.setCheckable(True)
            action.setData(code)
            action.triggered.connect(lambda _checked=False, c=code: self.choose_language(c))
            self.language_group.addAction(action)
            self.language_actions[code] = action
        self.notifications_action = self._add(self._toggle_notifications, checkable=True)
        self.notifications_action.setChecked(self.preferences.notifications)
        self.profile_action = self._add(self.open_profile)
        self.support_action = self._add(lambda: self.open_dialog("support"))
        self.about_action = self._add(lambda: self.open_dialog("about"))
        m.addSeparator()
        self.quit_action = self._add(QApplication.quit)

    def _add(self, slot: Callable[[], Any], checkable: bool = False) -> QAction:
        action = self.menu.addAction("")
        action.setCheckable(checkable)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def retranslate(self) -> None:
        """Set every text in the current language; called again after a language switch."""
        self.jobs_action.setText(_("My jobs…"))
        self.notifications_action.setText(_("Notifications"))
        self.sync_action.setText(_("Synchronize printers now"))
        self.login_action.setText(_("Login as different user…"))
        self.sign_in_action.setText(_("Log in"))
        self.logout_action.setText(_("Logout"))
        self.config_action.setText(_("Configuration…"))
        self.route_local_action.setText(_("Store and deliver locally"))
        self.route_gateway_action.setText(_("Deliver via gateway"))
        self.language_menu.setTitle(_("Language"))
        self.profile_action.setText(_("My profile"))
        self.support_action.setText(_("Collect support information…"))
        self.about_action.setText(_("About pullprint"))
        self.quit_action.setText(_("Quit"))
        self.language_actions[i18n.current_language()].setChecked(True)
        # The status line and tooltip are worded again from the last answer, in the new language.
        self._show_status()
        for dialog in self.dialogs.values():
            retranslate = getattr(dialog, "retranslate", None)
            if retranslate:
                retranslate()

    def _refresh_visibility(self) -> None:
        reachable = self._status_result is not None and self._status_result.ok
        custom_login = self.config.get("login_type") == "custom"
        local_mode = self.config.get("mode") == "local"
        # After a logout the server's printers are gone from this machine (status signed_out):
        # offer to log in again instead of logging out twice. Custom login does that through
        # "Login as different user", which asks for the server user.
        signed_out = bool(self.config.get("signed_out"))
        self.login_action.setVisible(custom_login)
        self.sign_in_action.setVisible(signed_out and not custom_login)
        self.logout_action.setVisible(not signed_out)
        self.route_separator.setVisible(local_mode)
        self.route_local_action.setVisible(local_mode)
        self.route_gateway_action.setVisible(local_mode)
        self.profile_action.setEnabled(bool(first_server(self.config)))
        for action in (
            self.jobs_action,
            self.sync_action,
            self.login_action,
            self.sign_in_action,
            self.logout_action,
        ):
            action.setEnabled(reachable)
        for action in (self.route_local_action, self.route_gateway_action):
            action.setEnabled(reachable)
        route = self.config.get("route")
        if route == "local":
            self.route_local_action.setChecked(True)
        elif route == "gateway":
            self.route_gateway_action.setChecked(True)

    # -- polling -------------------------------------------------------------------------------

    def poll(self) -> None:
        """Ask the facade how things are, unless the previous question is still open."""
        if self._polling:
            return
        self._polling = True
        epoch = self._language_epoch
        self.background.run(lambda: self._fetch(epoch), self._apply)

    def _fetch(self, epoch: int) -> Poll:
        """Worker thread: ``/status``, then ``/config`` and ``/language`` if the facade answered."""
        status = self.facade.status()
        if not status.ok:
            return Poll(status, None, None, epoch)
        config, language = self.facade.config(), self.facade.language()
        return Poll(status, config, language, epoch, self.facade.jobs())

    def _apply(self, poll: Poll) -> None:
        status_result, epoch = poll.status, poll.epoch
        self._polling = False
        if status_result.ok and isinstance(status_result.data, dict):
            self.version = status_result.data.get("version") or self.version
            self.config = _config_from(status_result.data, poll.config, poll.language)
        else:
            self.config = {}
        language = self.config.get("language")
        if (
            epoch == self._language_epoch
            and language in i18n.LANGUAGES
            and language != i18n.current_language()
        ):
            i18n.set_language(language)
            self.retranslate()
        self._status_result = status_result
        self._show_status()
        self._refresh_visibility()
        self._announce_jobs(poll)
        self.polls += 1

    def _show_status(self) -> None:
        if self._status_result is None:
            status = TrayStatus(TrayState.ERROR, _("Connecting to the pullprint service…"))
        else:
            status = derive_status(self._status_result)
        if status.state is not self.status.state:
            self.icon.setIcon(state_icon(status.state))
        self.status = status
        self.status_action.setText(status.reason)
        self.icon.setToolTip(tooltip(status, self.version))

    # -- commands ------------------------------------------------------------------------------

    def sync_now(self) -> None:
        self.background.run(
            self.facade.sync, self._report(_("Synchronization could not be started"))
        )

    def logout(self) -> None:
        self.background.run(
            self.facade.logout, self._report(_("Logout failed"), _("You are logged out."))
        )

    def sign_in(self) -> None:
        """OS login: the facade signs this machine in again as the logged-in OS user."""
        self.background.run(
            self.facade.login, self._report(_("Login failed"), _("You are logged in."))
        )

    def set_route(self, route: str) -> None:
        self.config["route"] = route
        self.background.run(
            lambda: self.facade.set_route(route),
            self._report(_("The delivery could not be changed")),
        )

    def choose_language(self, language: str) -> None:
        """Switch the menu at once, then tell the service (which keeps it for next time)."""
        if not i18n.set_language(language):
            return
        self._language_epoch += 1
        self.config["language"] = language
        self.retranslate()
        report = self._report(_("The language could not be saved"))

        def stored(result: Result) -> None:
            self._language_epoch += 1
            report(result)

        self.background.run(lambda: self.facade.set_language(language), stored)

    def _announce_jobs(self, poll: Poll) -> None:
        """Tell the owner what became of their jobs (see ui/notifications.py). The notices are
        worked out even while switched off, so switching on does not replay what happened."""
        jobs = poll.jobs
        if jobs is None or not jobs.ok or not isinstance(jobs.data, list):
            return
        status = poll.status.data if isinstance(poll.status.data, dict) else None
        notices = self.job_notices.update([j for j in jobs.data if isinstance(j, dict)], status)
        if notices and self.preferences.notifications:
            self.notify(*message_for(notices))

    def _toggle_notifications(self) -> None:
        self.preferences.notifications = self.notifications_action.isChecked()

    def open_profile(self) -> None:
        server = first_server(self.config)
        if server:
            QDesktopServices.openUrl(QUrl(server + "/profile"))

    def open_dialog(self, name: str) -> QDialog:
        """Open (or bring to the front) one of the dialogs; it stays referenced while open."""
        dialog = self.dialogs.get(name)
        if dialog is None:
            factories = {
                "jobs": lambda: JobsDialog(self.facade),
                "configuration": lambda: ConfigurationDialog(self.facade),
                "login": lambda: LoginDialog(self.facade),
                "support": lambda: SupportDialog(self.facade),
                "about": lambda: AboutDialog(self.facade),
            }
            dialog = factories[name]()
            dialog.finished.connect(lambda result, n=name: self._dialog_closed(n, result))
            self.dialogs[name] = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _dialog_closed(self, name: str, result: int) -> None:
        dialog = self.dialogs.pop(name, None)
        if dialog is not None:
            if isinstance(dialog, LoginDialog) and result == QDialog.DialogCode.Accepted:
                self.notify(_("Logged in as {user}.").format(user=dialog.user.text().strip()))
            if isinstance(dialog, ConfigurationDialog) and dialog.restart_required:
                self.notify(_("Saved. The changes apply when the pullprint service restarts."))
            dialog.deleteLater()
        self.poll()  # a saved configuration or a login changes what the menu shows

    def _report(self, failure: str, success: str = "") -> Callable[[Result], None]:
        """A callback that tells the user how a command went, then refreshes the state."""

        def done(result: Result) -> None:
            if result.ok:
                if success:
                    self.notify(success)
            else:
                self.notify(f"{failure}: {result.message}", error=True)
            self.poll()

        return done

    def notify(self, text: str, error: bool = False) -> None:
        self.last_message = text
        kind = (
            QSystemTrayIcon.MessageIcon.Warning
            if error
            else QSystemTrayIcon.MessageIcon.Information
        )
        self.icon.showMessage("pullprint", text, kind)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # A left click shows the menu too: on most desktops people expect it to do something.
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.menu.popup(self.icon.geometry().center())


@dataclass(frozen=True)
class Poll:
    """One poll's answers; ``config``, ``language`` and ``jobs`` are None when ``/status``
    failed."""

    status: Result
    config: Result | None
    language: Result | None
    epoch: int  # the language epoch when the poll started
    jobs: Result | None = None  # GET /jobs, the caller's own; None when /status failed


def first_server(config: dict[str, Any]) -> str:
    """The server whose profile page the menu opens: the first of ``servers``, else
    ``server_url`` (the older spelling, issue 22); "" when serverless."""
    listed = config.get("servers") or [config.get("server_url")]
    return str(listed[0] or "").rstrip("/")


def _config_from(
    status: dict[str, Any], config: Result | None, language: Result | None
) -> dict[str, Any]:
    """The keys the menu depends on; ``/status`` wins for mode and route, which it reports live,
    and ``/language`` for the language (the tray's choice is kept apart from the config key)."""
    values: dict[str, Any] = {}
    for answer in (config, language):
        if answer is not None and answer.ok and isinstance(answer.data, dict):
            values.update(answer.data)
    for key in ("mode", "route", "signed_out"):
        if status.get(key):
            values[key] = status[key]
    return values
