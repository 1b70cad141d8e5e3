"""An ippeveprinter that can print both sides and in colour (``-2 -s 10,10``), for the tests
of what a port presents of its printer (issue 21). Registered without DNS-SD (``-r off``,
TESTING.md), so it needs neither dbus nor avahi; otherwise it is the ``ipp_printer``
fixture's printer (tests/server/peers.py IppEvePrinter)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.waiting import wait_for
from tests.server.peers import IppEvePrinter


class DuplexColourPrinter(IppEvePrinter):
    """ippeveprinter with a duplex unit and colour (10 pages a minute each way)."""

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                ["ippeveprinter", "-p", str(self.port), "-d", str(self.spool), "-k",
                 "-2", "-s", "10,10", "-r", "off",
                 "-c", str(self.script), "-f", "application/pdf,application/octet-stream",
                 "-n", "localhost", f"pullprint-colour-{self.port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for(self._listening, 30, "ippeveprinter port")


def duplex_colour_printer(root: Path) -> Iterator[DuplexColourPrinter]:
    """Start one under ``root``; skips with a reason when ippeveprinter is absent."""
    if not shutil.which("ippeveprinter"):
        pytest.skip("ippeveprinter absent (Debian cups-ipp-utils; make test installs it as root)")
    printer = DuplexColourPrinter(root)
    printer.start()
    try:
        yield printer
    finally:
        printer.stop()
