"""Printers for a client to deliver to: ``pullprint virtual-printer`` as a real process."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

from support.ports import free_port
from support.process import Process
from support.waiting import wait_for


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
        wait_for(self._listening, 20, f"the virtual printer on port {self.port}")

    def _listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def jobs(self) -> list[Path]:
        return sorted(self.directory.glob("job-*.prn"))

    def partial_size(self) -> int:
        """Bytes of jobs still arriving; a ``.part`` that went meanwhile (a reachability
        probe's, or a job just finished) holds none."""
        size = 0
        for part in self.directory.glob("*.part"):
            try:
                size += part.stat().st_size
            except FileNotFoundError:
                continue
        return size


def direct_printer(printer: VirtualPrinter, name: str = "office") -> dict[str, Any]:
    """The client's ``[[printers]]`` entry for a direct port delivering to ``printer``."""
    return {"name": name, "kind": "direct", "host": "127.0.0.1", "port": printer.port}
