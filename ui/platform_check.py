"""Find the system libraries Qt's xcb platform plugin needs before Qt tries to load it (issue 17).

PySide6's wheel ships Qt but not the X11 client libraries its xcb plugin links against. When one
of them is missing (on a fresh Debian 12: libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1),
creating the QApplication ends in Qt's qFatal: a hint that blames xcb-cursor0 whichever library
is really missing, several lines about reinstalling the application, and an abort (exit 134) that
Python cannot catch. So ``python -m ui`` asks first, with one ``dlopen`` per library (a few
milliseconds, no subprocess), and says in one line which Debian packages to install.

``XCB_LIBRARIES`` is what ``libqxcb.so`` and ``libQt6XcbQpa.so.6`` load (directly or through
each other) beyond Qt's own libraries and what QtGui and QtWidgets already loaded: by the time
this check runs ``ui.__main__`` has imported those, so their libraries are there. The test
tests/ui/test_platform_check.py compares the table with ``ldd`` of the installed PySide6, so an
upgrade that needs another library fails a test instead of aborting on a user's desktop.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping, Sequence

# soname -> the Debian (and Ubuntu) package that ships it.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
}

EXIT_MISSING_LIBRARIES = 2


def first_platform(environ: Mapping[str, str], argv: Sequence[str] = ()) -> str:
    """The platform plugin Qt will try first, decided the way Qt 6 decides it.

    ``-platform NAME`` on the command line wins, then ``QT_QPA_PLATFORM`` (a ``;``-separated list
    of fallbacks, each with optional ``:arguments``). Without either, Qt tries wayland first in a
    Wayland session (``WAYLAND_DISPLAY`` set or ``XDG_SESSION_TYPE=wayland``) and xcb otherwise.
    Only a first choice of xcb is checked: in a Wayland session xcb is merely the fallback, and
    refusing to start for its libraries would stop a tray that runs fine on wayland.
    """
    args = list(argv)
    for i, arg in enumerate(args[:-1]):
        if arg in ("-platform", "--platform"):
            return _plugin_name(args[i + 1])
    requested = environ.get("QT_QPA_PLATFORM", "")
    if requested:
        return _plugin_name(requested)
    if environ.get("WAYLAND_DISPLAY") or environ.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    return "xcb"


def _plugin_name(spec: str) -> str:
    return spec.split(";")[0].split(":")[0].strip()


def can_load(soname: str) -> bool:
    """Whether the dynamic loader finds ``soname`` (and what it needs) where Qt's loader would."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_libraries() -> list[str]:
    """The sonames of ``XCB_LIBRARIES`` the loader cannot load, in the table's order."""
    return [soname for soname in XCB_LIBRARIES if not can_load(soname)]


def missing_message(missing: Sequence[str]) -> str:
    """One line naming the missing libraries and the command that installs them.

    English on purpose, like the tray's other line on stderr: it goes to a terminal or the
    session log next to Qt's own English messages, before the tray has set a language, to
    whoever can run apt-get as root; the package names and the command do not translate, and an
    exact English text is what finds this issue when pasted into a search or a bug report.
    """
    packages = list(dict.fromkeys(XCB_LIBRARIES[soname] for soname in missing))
    return (
        "pullprint tray: Qt's xcb platform needs these system libraries: "
        f"{' '.join(packages)} (missing: {', '.join(missing)}); "
        f"install them with: apt-get install {' '.join(packages)}"
    )


def check_xcb(
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] = (),
    platform: str = sys.platform,
) -> str | None:
    """The one-line error when Qt would start on xcb and cannot load it; None when it can try."""
    if not platform.startswith("linux"):
        return None
    if first_platform(os.environ if environ is None else environ, argv) != "xcb":
        return None
    missing = missing_libraries()
    return missing_message(missing) if missing else None
