"""``python -m ui`` (and ``pullprint tray``): start the tray for the logged-in user."""

from __future__ import annotations

import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from ui import i18n
from ui.facade import Facade, read_config_value
from ui.platform_check import EXIT_MISSING_LIBRARIES, check_xcb
from ui.tray import TrayApp


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    # Before QApplication: once Qt fails to load its platform plugin it aborts the process.
    problem = check_xcb(argv=argv)
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_MISSING_LIBRARIES
    app = QApplication(argv)
    app.setApplicationName("pullprint")
    # Closing a dialog must not end the app: the tray icon is its only window.
    app.setQuitOnLastWindowClosed(False)
    # The service's language until the first answer from the facade says otherwise.
    language = read_config_value("language") or i18n.system_language()
    if not i18n.set_language(str(language)):
        i18n.set_language(i18n.DEFAULT_LANGUAGE)
    if not QSystemTrayIcon.isSystemTrayAvailable():
        # Qt shows the icon as soon as a tray host appears (e.g. a panel started later).
        print("pullprint tray: no system tray yet; waiting for one", file=sys.stderr)
    facade = Facade()
    tray = TrayApp(facade)
    tray.start()
    # Ctrl+C in a terminal quits cleanly instead of being swallowed by Qt's event loop.
    signal.signal(signal.SIGINT, lambda *_args: app.quit())
    # Python only runs signal handlers between bytecodes; a timer gives it that chance.
    wakeup = QTimer()
    wakeup.timeout.connect(lambda: None)
    wakeup.start(500)
    code = app.exec()
    tray.stop()
    facade.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
