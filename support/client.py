"""One pullprint client installation in a temporary directory, its services started as real
processes (``python -m services.NAME``), its store and spooler within reach of the caller."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from cli import ipp_client
from protocol.states import JobState
from services.core import ipp
from services.core.store import Job, Store
from support import ROOT
from support.ports import free_port
from support.process import Process
from support.waiting import wait_for


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
        # A test may choose the ports itself: the ones in the config are the ones we call.
        self.spooler_port, self.api_port = int(values["spooler_port"]), int(values["api_port"])
        (self.root / "log").mkdir()
        self.config = self.root / "config.toml"
        self.config.write_text(config_toml(values, printers or []))
        self.env = os.environ | {"PULLPRINT_CONFIG": str(self.config), "PYTHONUNBUFFERED": "1"}
        self.processes: dict[str, Process] = {}
        self._store: Store | None = None

    def start(self, *services: str) -> None:
        """Start processes; a spooler is waited for until it listens (or has died), so the
        first IPP request of a test never meets a port uvicorn has not opened yet."""
        for name in services:
            self.processes[name] = Process(
                name,
                [sys.executable, "-m", f"services.{name}"],
                self.env,
                self.root / "log" / f"{name}.log",
            )
        if "spooler" in services:
            spooler = self.processes["spooler"]
            wait_for(
                lambda: _listening(self.spooler_port) or not spooler.alive(),
                20,
                f"the spooler to listen on port {self.spooler_port}",
            )

    def restart(self, name: str) -> None:
        self.processes[name].stop()
        self.start(name)

    def run_cli(
        self, *args: str, timeout: float = 120, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
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
        wait_for(lambda: _listening(port), timeout, f"port {port} to listen")

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
        job: ipp.Group | None = None,
        **attributes: tuple[int, object],
    ) -> ipp.Message:
        """One IPP request to our spooler; ``attributes`` are operation attributes given as
        ``name=(tag, value)`` with ``_`` for ``-`` in the name; ``job``, a job group (the
        job's options)."""
        uri = f"ipp://127.0.0.1:{self.spooler_port}/printers/{printer}"
        request = ipp.request(operation)
        request.operation.add("printer-uri", ipp.Tag.URI, uri)
        request.operation.add("requesting-user-name", ipp.Tag.NAME, user)
        for name, (tag, value) in attributes.items():
            request.operation.add(name.replace("_", "-"), tag, value)
        if job is not None:
            request.groups.append(job)
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


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def config_toml(values: dict[str, Any], printers: list[dict[str, Any]]) -> str:
    """A client's config.toml: ``values`` at the top, then one ``[[printers]]`` table each."""
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
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
