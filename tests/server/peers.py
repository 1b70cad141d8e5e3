"""Real printers and databases for the server tests: a raw TCP sink, ippeveprinter (with
the dbus + avahi it needs) and a throwaway PostgreSQL cluster (support/postgres.py, which the
benchmarks share)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from support.ports import free_port
from support.waiting import wait_for


class RawSink:
    """A raw TCP (port 9100 style) printer: each connection's bytes become one file."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.2)
        self.count = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.count += 1
            threading.Thread(target=self._receive, args=(conn, self.count), daemon=True).start()

    def _receive(self, conn: socket.socket, number: int) -> None:
        part = self.directory / f".job-{number}.part"
        with conn, part.open("wb") as f:
            while chunk := conn.recv(256 * 1024):
                f.write(chunk)
        part.rename(self.directory / f"job-{number}.bin")  # complete only after the peer's EOF

    def documents(self) -> list[bytes]:
        return [p.read_bytes() for p in sorted(self.directory.glob("job-*.bin"))]

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(5)


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
        return True
    except (OSError, ValueError, IndexError):
        return False


class DnsSd:
    """dbus + avahi, which ippeveprinter needs; started only when absent (TESTING.md).

    Under pytest-xdist several workers share the machine's one system bus: the check-and-start
    runs under a file lock, and a worker never stops what it started, since another worker's
    ippeveprinter may be using it (the daemons are the machine's, as they would be under
    systemd). Run alone, only what we started is stopped.
    """

    DBUS_PID = Path("/run/dbus/pid")
    AVAHI_PID = Path("/run/avahi-daemon/pid")
    LOCK = Path(tempfile.gettempdir()) / "pullprint-tests-dns-sd.lock"

    def __init__(self) -> None:
        self.started: list[int] = []

    def ensure(self) -> None:
        with self.LOCK.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._ensure()

    def _ensure(self) -> None:
        if not _alive(self.DBUS_PID):
            self.DBUS_PID.parent.mkdir(parents=True, exist_ok=True)
            self.DBUS_PID.unlink(missing_ok=True)
            out = subprocess.run(
                ["dbus-daemon", "--system", "--fork", "--print-pid"],
                capture_output=True, text=True, check=True, timeout=30,
            )  # fmt: skip
            self.started.append(int(out.stdout.split()[0]))
        if not _alive(self.AVAHI_PID):
            self.AVAHI_PID.unlink(missing_ok=True)
            subprocess.run(["avahi-daemon", "--no-chroot", "-D", "--no-drop-root"],
                           check=True, capture_output=True, timeout=30)  # fmt: skip
            wait_for(lambda: _alive(self.AVAHI_PID), 30, "avahi pid")
            self.started.append(int(self.AVAHI_PID.read_text().split()[0]))

    def stop(self) -> None:
        if os.environ.get("PYTEST_XDIST_WORKER"):
            return
        for pid in reversed(self.started):
            with contextlib.suppress(OSError):
                os.kill(pid, 15)


class IppEvePrinter:
    """ippeveprinter keeping each printed document in `printed/` via a tiny command, and next
    to it (``NAME.env``) the job's attributes as the printer got them: ippeveprinter hands
    them to the command as IPP_* variables (IPP_COPIES, IPP_SIDES, IPP_MEDIA...).

    ``duplex`` (``-2``) offers two-sided printing, ``color`` (``-s 10,10``: pages per minute,
    monochrome and colour) colour; without them it is a simplex monochrome printer."""

    def __init__(self, root: Path, *, duplex: bool = False, color: bool = False) -> None:
        self.port = free_port()
        self.spool = root / "ipp-spool"
        self.printed = root / "printed"
        self.spool.mkdir(parents=True)
        self.printed.mkdir()
        self.flags = (["-2"] if duplex else []) + (["-s", "10,10"] if color else [])
        self.script = root / "keep.sh"
        # The attributes first, then the document: whoever sees a document finds its job's.
        self.script.write_text(
            "#!/bin/sh\n"
            f'env | grep "^IPP_" > "{self.printed}/$(basename "$1").env"\n'
            f'cp "$1" "{self.printed}/"\n'
        )
        self.script.chmod(0o755)
        self.log = root / "ippeveprinter.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["ippeveprinter", *self.flags, "-p", str(self.port), "-d", str(self.spool), "-k",
                 "-c", str(self.script), "-f", "application/pdf,application/octet-stream",
                 "-n", "localhost", f"pullprint-test-{self.port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(self._listening, 30, "ippeveprinter port")

    def _listening(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"ippeveprinter exited: {self.log.read_text(errors='replace')}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False

    def _printed(self) -> list[Path]:
        return [p for p in sorted(self.printed.iterdir()) if p.suffix != ".env"]

    def documents(self) -> list[bytes]:
        return [p.read_bytes() for p in self._printed()]

    def job_attributes(self) -> list[dict[str, str]]:
        """Each printed job's IPP_* variables (``{"IPP_COPIES": "2", ...}``), in the order
        of ``documents()``."""
        kept = []
        for document in self._printed():
            lines = (document.parent / f"{document.name}.env").read_text().splitlines()
            kept.append(dict(line.split("=", 1) for line in lines if "=" in line))
        return kept

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
