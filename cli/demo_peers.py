"""The processes ``pullprint demo`` starts besides the service, and how it stops them.

Every process is started in a session of its own, so a Ctrl-C reaches only the demo, which then
stops them in order (client first, server last) instead of all of them dying at once. dbus and
avahi-daemon, which ippeveprinter needs for DNS-SD, are started only when they are not already
running, and only those the demo started are stopped (the recipe of TESTING.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import psutil

GATEWAY_PORT = 7300  # the gateway's production port, used when it is free
IPP_FORMATS = "application/pdf,application/octet-stream"


class DemoFailed(Exception):
    """A step did not do what the narration said it would."""


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: a BaseException, so no ``except Exception`` in a step swallows it."""


_signals: list[str] = []


def interrupt(signum: int, frame: FrameType | None) -> None:
    """The demo's SIGINT/SIGTERM handler only takes note. Raising from the handler could land
    inside ``Popen`` after the fork and before the child is recorded: that child (supervisord
    with the whole service) would then outlive the demo. Steps and waits check instead."""
    _signals.append(signal.Signals(signum).name)


def check_interrupt() -> None:
    if _signals:
        raise Interrupted(_signals[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gateway_port() -> int:
    """7300 as in production, unless something (a real server, another demo) holds it."""
    with socket.socket() as s:
        # As the server's listener does: connections of an earlier run in TIME_WAIT do not
        # make the port taken, only another listener does.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", GATEWAY_PORT))
            s.listen()
        except OSError:
            return free_port()
    return GATEWAY_PORT


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
        return True
    return False


def wait(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        check_interrupt()
        if time.monotonic() > deadline:
            raise DemoFailed(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stop_pid(pid: int, timeout: float = 15) -> None:
    """SIGTERM one process, wait for it, SIGKILL it if it will not go."""
    try:
        process = psutil.Process(pid)
        process.terminate()
        process.wait(timeout)
    except psutil.NoSuchProcess:
        return
    except psutil.TimeoutExpired:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
            process.wait(10)


class Processes:
    """What the demo started, stopped in reverse order."""

    def __init__(self, root: Path, env: dict[str, str], cwd: Path) -> None:
        self.root, self.env, self.cwd = root, env, cwd
        self.started: list[subprocess.Popen[bytes]] = []
        self.daemons: list[int] = []  # forked daemons (dbus, avahi): known by pid only

    def spawn(self, log: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with (self.root / log).open("wb") as out:
            process = subprocess.Popen(
                argv,
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        check_interrupt()
        return process

    def stop(self) -> None:
        for process in reversed(self.started):
            if process.poll() is None:
                stop_pid(process.pid)
            process.wait()
        for pid in reversed(self.daemons):
            stop_pid(pid)


# --- DNS-SD for ippeveprinter ------------------------------------------------------------------

DBUS_PID = Path("/run/dbus/pid")
AVAHI_PID = Path("/run/avahi-daemon/pid")


def _running(pid_file: Path, name: str) -> bool:
    with contextlib.suppress(OSError, ValueError, IndexError):
        os.kill(int(pid_file.read_text().split()[0]), 0)
        return True
    # A daemon started without our pid file still counts.
    return any(p.info["name"] == name for p in psutil.process_iter(["name"]))


def ipp_printer_missing() -> str | None:
    """Why the IPP printer cannot take part, or None when it can."""
    missing = [b for b in ("ippeveprinter", "dbus-daemon", "avahi-daemon") if not _which(b)]
    if missing:
        return (
            f"{', '.join(missing)} not installed (apt-get install cups-ipp-utils dbus avahi-daemon)"
        )
    absent = not (_running(DBUS_PID, "dbus-daemon") and _running(AVAHI_PID, "avahi-daemon"))
    if absent and os.geteuid() != 0:
        return "ippeveprinter needs dbus and avahi-daemon running, and only root can start them"
    return None


def _which(command: str) -> str | None:
    return shutil.which(command) or shutil.which(command, path="/usr/sbin:/usr/bin:/sbin:/bin")


def ensure_dns_sd(processes: Processes) -> None:
    """Start the system bus and avahi-daemon when absent (no systemd here)."""
    if not _running(DBUS_PID, "dbus-daemon"):
        DBUS_PID.parent.mkdir(parents=True, exist_ok=True)
        DBUS_PID.unlink(missing_ok=True)  # stale: dbus-daemon refuses to start over it
        out = subprocess.run(
            [_which("dbus-daemon") or "dbus-daemon", "--system", "--fork", "--print-pid"],
            capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        processes.daemons.append(int(out.stdout.split()[0]))
        wait(lambda: Path("/run/dbus/system_bus_socket").exists(), "the system bus", 30)
    if not _running(AVAHI_PID, "avahi-daemon"):
        AVAHI_PID.unlink(missing_ok=True)
        subprocess.run(
            [_which("avahi-daemon") or "avahi-daemon", "--no-chroot", "-D", "--no-drop-root"],
            capture_output=True, check=True, timeout=30,
        )  # fmt: skip
        wait(lambda: _running(AVAHI_PID, "avahi-daemon"), "avahi-daemon", 30)
        processes.daemons.append(int(AVAHI_PID.read_text().split()[0]))


def ippeveprinter_argv(root: Path, port: int, printed: Path) -> list[str]:
    """ippeveprinter printing at once (``-c``: without it, it simulates slow printing and
    answers other jobs busy) through a script that keeps each document in ``printed``."""
    spool, script = root / "ipp-spool", root / "keep.sh"
    spool.mkdir(parents=True, exist_ok=True)
    printed.mkdir(parents=True, exist_ok=True)
    script.write_text(f'#!/bin/sh\ncp "$1" "{printed}/"\n')
    script.chmod(0o755)
    command = _which("ippeveprinter") or "ippeveprinter"
    return [command, "-p", str(port), "-d", str(spool), "-k", "-c", str(script),
            "-f", IPP_FORMATS, "-n", "localhost", f"pullprint-demo-{port}"]  # fmt: skip
