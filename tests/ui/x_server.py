"""A real X server with a system tray for the tray tests, and ways to look at what it shows.

Xvfb picks a free display number itself (``-displayfd``) and writes it once it accepts
connections, so two test runs never race for ``:99``. trayer is the system tray: it owns the
``_NET_SYSTEM_TRAY_S0`` selection and embeds tray icons (XEmbed) into its ``panel`` window, so a
docked icon is a window inside that panel, found with ``xwininfo``. Its pixels are read with
Qt's own ``QScreen.grabWindow`` in a separate process on the xcb platform: the tray needs those
libraries anyway, and the test process itself stays on the offscreen platform.

Debian packages: xvfb, trayer, x11-utils (xwininfo, xprop), and the xcb libraries of
``ui.platform_check.XCB_LIBRARIES``.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A bound on waits for the X server and the tray host to come up, never a claim about speed.
START_LIMIT_S = 30.0
# Variables that would make Qt pick another platform or a StatusNotifierItem tray over D-Bus
# instead of the XEmbed icon that trayer docks.
NOT_FOR_X_CLIENTS = (
    "QT_QPA_PLATFORM",
    "WAYLAND_DISPLAY",
    "XDG_SESSION_TYPE",
    "DBUS_SESSION_BUS_ADDRESS",
)

_GRAB = """
import json, sys
from collections import Counter
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([sys.argv[0]])
image = app.primaryScreen().grabWindow(int(sys.argv[1], 16)).toImage()
print(json.dumps(Counter(
    image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())
)))
"""


def missing_tools() -> list[str]:
    """The programs these helpers need that are not installed."""
    return [tool for tool in ("Xvfb", "trayer", "xwininfo", "xprop") if shutil.which(tool) is None]


def x_client_env(display: str, **extra: str) -> dict[str, str]:
    """This process's environment for an X client of ``display`` on the xcb platform."""
    env = {name: value for name, value in os.environ.items() if name not in NOT_FOR_X_CLIENTS}
    return env | {"DISPLAY": display} | extra


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def xvfb(log: Path) -> Iterator[str]:
    """A running Xvfb; yields its display (":N"), stops it afterwards."""
    read_end, write_end = os.pipe()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write_end),
                "-screen",
                "0",
                "640x480x24",
                "-nolisten",
                "tcp",
            ],
            pass_fds=(write_end,),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    os.close(write_end)
    try:
        number = b""
        deadline = time.monotonic() + START_LIMIT_S
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(read_end, 16) if ready else b""
            if not chunk:  # timed out, or Xvfb exited and closed the pipe
                raise AssertionError(f"Xvfb did not start:\n{log.read_text(errors='replace')}")
            number += chunk
        yield f":{int(number)}"
    finally:
        os.close(read_end)
        stop(process)


def window_tree(display: str, window: str = "-root") -> str:
    args = ["-root"] if window == "-root" else ["-id", window]
    return subprocess.run(
        ["xwininfo", "-tree", *args],
        env=x_client_env(display),
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout


def trayer_panel(display: str) -> str | None:
    """The id of trayer's panel window, where it docks icons; None before it has one."""
    match = re.search(
        r'^\s*(0x[0-9a-f]+) "panel": \("panel" "trayer"\)', window_tree(display), re.M
    )
    return match.group(1) if match else None


@contextmanager
def trayer(display: str, log: Path) -> Iterator[str]:
    """A running trayer on ``display``; yields its panel's window id, stops it afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["trayer", "--edge", "bottom", "--widthtype", "request"],
            env=x_client_env(display),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while (panel := trayer_panel(display)) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"trayer did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield panel
    finally:
        stop(process)


def docked_windows(display: str, panel: str, wm_class: str) -> list[str]:
    """Ids of the windows of WM_CLASS class ``wm_class`` inside trayer's panel."""
    pattern = rf'^\s*(0x[0-9a-f]+) .*\("[^"]*" "{re.escape(wm_class)}"\)'
    return re.findall(pattern, window_tree(display, panel), re.M)


def xembed_mapped(display: str, window: str) -> bool:
    """The window asks its embedder to show it (XEmbed's _XEMBED_INFO flags, XEMBED_MAPPED)."""
    output = subprocess.run(
        ["xprop", "-id", window, "_XEMBED_INFO"],
        env=x_client_env(display),
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    match = re.search(r"_XEMBED_INFO\(_XEMBED_INFO\) = (\w+), (\w+)", output)
    return bool(match) and int(match.group(2), 0) & 1 == 1


def window_colours(display: str, window: str) -> Counter[str]:
    """How many pixels of each colour ("#rrggbb") the window shows now."""
    done = subprocess.run(
        [sys.executable, "-c", _GRAB, window],
        env=x_client_env(display, QT_QPA_PLATFORM="xcb"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return Counter(json.loads(done.stdout))
