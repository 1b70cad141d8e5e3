"""An ippeveprinter that can print both sides and in colour (``-2 -s 10,10``), for the tests
of what a port presents of its printer (issue 21). Registered without DNS-SD (``-r off``,
TESTING.md), so it needs neither dbus nor avahi; otherwise it is the ``ipp_printer``
fixture's printer (tests/server/peers.py IppEvePrinter). And how a test waits until a port
presents what its printers can do."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.client import Client
from support.waiting import wait_for
from tests.peers import printer_attributes
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


def port_uri(client: Client, name: str) -> str:
    return f"ipp://127.0.0.1:{client.spooler_port}/printers/{name}"


def presented(client: Client, name: str) -> dict[str, list[object]]:
    """What port ``name`` answers to Get-Printer-Attributes, as a print dialog reads it."""
    return printer_attributes(port_uri(client, name))


def wait_offering(client: Client, name: str, attribute: str, value: object) -> None:
    """Wait until port ``name`` presents ``value`` among ``attribute``'s values: sync has read
    its printers and the spooler presents what they can do."""
    wait_for(
        lambda: value in presented(client, name).get(attribute, []),
        30,
        f"{name} to present {value} in {attribute}",
    )


def wait_printers_formats(client: Client, name: str, printer_uri: str) -> None:
    """Wait until port ``name`` presents the document formats of its IPP printer at
    ``printer_uri``: sync has read it. Until then the port lists every format we pass through,
    and a client that reads them first (an ipptool suite) sends formats the port then
    refuses."""
    theirs = printer_attributes(printer_uri)["document-format-supported"]
    wait_for(
        lambda: presented(client, name).get("document-format-supported") == theirs,
        30,
        f"{name} to present its printer's document formats {theirs}",
    )
