"""Helpers for tests that start real processes: free ports, waiting for conditions, a client
installation in a temporary directory, and the virtual printer."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import select

from cli import ipp_client
from protocol.states import JobState
from services.core import ipp
from services.core.store import Job, Store

ROOT = Path(__file__).resolve().parents[1]


# Every port free_port handed out in this process (one pytest worker).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on, never one this process handed out before: once the
    probe socket is closed the kernel may give the same port to the next probe, and a client
    then got it as both its spooler and its api port (the api died with EADDRINUSE)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.05)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def make_document(path: Path, size: int) -> str:
    """A file of ``size`` pseudo-random bytes (cheap to make, never compressible); its sha256."""
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    with path.open("wb") as f:
        written = 0
        counter = 0
        while written < size:
            chunk = (counter.to_bytes(8, "big") + block)[: size - written]
            f.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            counter += 1
    return digest.hexdigest()


class Process:
    """A child process with its output in a log file, stopped (and reaped) on ``stop``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._out = log.open("ab")
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        self.popen.kill()
        self.popen.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self._out.close()

    def rss(self) -> int:
        return psutil.Process(self.pid).memory_info().rss


class Client:
    """One pullprint client installation in a short temporary directory (ipc paths are
    limited to about 100 characters, so pytest's long tmp paths will not do)."""

    def __init__(self, printers: list[dict[str, Any]] | None = None, **settings: Any) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pp-"))
        self.spooler_port = free_port()
        self.api_port = free_port()
        values = {
            "state_dir": str(self.root / "state"),
            "run_dir": str(self.root / "run"),
            "log_dir": str(self.root / "log"),
            "spooler_port": self.spooler_port,
            "api_port": self.api_port,
            "rescan_interval": 2,
            "retry_backoff_max": 1,
            "reach_timeout": 1,
            # Never touch the machine's own CUPS; tests that want queues use a private cupsd.
            "os_queues": "none",
        } | settings
        (self.root / "log").mkdir()
        self.config = self.root / "config.toml"
        self.config.write_text(_toml(values, printers or []))
        self.env = os.environ | {"PULLPRINT_CONFIG": str(self.config), "PYTHONUNBUFFERED": "1"}
        self.processes: dict[str, Process] = {}
        self._store: Store | None = None

    def start(self, *services: str) -> None:
        for name in services:
            self.processes[name] = Process(
                name,
                [sys.executable, "-m", f"services.{name}"],
                self.env,
                self.root / "log" / f"{name}.log",
            )

    def restart(self, name: str) -> None:
        self.processes[name].stop()
        self.start(name)

    def run_cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.root / "state" / "pullprint.db")
        return self._store

    def jobs(self) -> list[Job]:
        if not (self.root / "state" / "pullprint.db").exists():
            return []
        with self.store.session() as session:
            return list(session.scalars(select(Job).order_by(Job.id)))

    def job_state(self, job_id: int) -> JobState | None:
        for job in self.jobs():
            if job.id == job_id:
                return JobState(job.state)
        return None

    def spool_files(self) -> list[Path]:
        spool = self.root / "state" / "spool"
        return sorted(spool.iterdir()) if spool.exists() else []

    def wait_listening(self, port: int, timeout: float = 20) -> None:
        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, timeout, f"port {port} to listen")

    def wait_printer(self, name: str = "office", timeout: float = 30) -> None:
        """Wait until the spooler serves ``name`` (sync may not have written it yet)."""
        self.wait_listening(self.spooler_port, timeout)
        uri = f"ipp://127.0.0.1:{self.spooler_port}/printers/{name}"
        request = ipp.request(ipp.Operation.GET_PRINTER_ATTRIBUTES)
        request.operation.add("printer-uri", ipp.Tag.URI, uri)
        body = ipp.encode(request)

        def served() -> bool:
            reply = httpx.post(
                ipp_client.http_url(uri),
                content=body,
                headers={"Content-Type": "application/ipp"},
            )
            return ipp.parse(reply.content)[0].code == ipp.Status.OK

        wait_for(served, timeout, f"printer {name} to be served")

    def ipp(
        self,
        operation: ipp.Operation,
        *,
        user: str = "alice",
        printer: str = "office",
        document: bytes | None = None,
        **attributes: tuple[int, object],
    ) -> ipp.Message:
        """One IPP request to our spooler; ``attributes`` are operation attributes given as
        ``name=(tag, value)`` with ``_`` for ``-`` in the name."""
        uri = f"ipp://127.0.0.1:{self.spooler_port}/printers/{printer}"
        request = ipp.request(operation)
        request.operation.add("printer-uri", ipp.Tag.URI, uri)
        request.operation.add("requesting-user-name", ipp.Tag.NAME, user)
        for name, (tag, value) in attributes.items():
            request.operation.add(name.replace("_", "-"), tag, value)
        reply = httpx.post(
            ipp_client.http_url(uri),
            content=ipp.encode(request) + (document or b""),
            headers={"Content-Type": "application/ipp"},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        return ipp.parse(reply.content)[0]

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted((self.root / "log").glob("*.log"))
        )

    def close(self) -> None:
        for process in self.processes.values():
            process.stop()
        if self._store is not None:
            self._store.dispose()


def start_ipp_client(make_client: Callable[..., Client], name: str, port: int, **settings: Any
                     ) -> Client:  # fmt: skip
    """A client whose direct port ``name`` delivers by IPP to the printer on ``port``, with
    sync, spooler and delivery running and the port served."""
    printer = {"name": name, "kind": "direct", "port": port, "protocol": "ipp",
               "path": "/ipp/print"}  # fmt: skip
    client = make_client([printer], **settings)
    client.start("sync", "spooler", "delivery")
    client.wait_printer(name)
    return client


class VirtualPrinter:
    """``pullprint virtual-printer`` as a real process on a free port."""

    def __init__(self, directory: Path, port: int | None = None, rate: int = 0) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.rate = rate
        self.process: Process | None = None

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "cli",
            "virtual-printer",
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--rate",
            str(self.rate),
        ]
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = Process(
            "virtual-printer",
            argv,
            dict(os.environ),
            self.directory.parent / f"printer-{self.port}.log",
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("virtual printer did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def jobs(self) -> list[Path]:
        return sorted(self.directory.glob("job-*.prn"))

    def partial_size(self) -> int:
        return sum(p.stat().st_size for p in self.directory.glob("*.part"))


def _toml(values: dict[str, Any], printers: list[dict[str, Any]]) -> str:
    lines = [f"{key} = {_value(value)}" for key, value in values.items()]
    for printer in printers:
        lines.append("[[printers]]")
        lines += [f"{key} = {_value(value)}" for key, value in printer.items()]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
