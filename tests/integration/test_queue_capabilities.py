"""The OS queue of a port to a colour duplex printer, in a real (private) cupsd (issue 21):
an everywhere queue built from our Get-Printer-Attributes offers duplex, the printer's paper
and colour by default, and the queue sync makes gets the printer's defaults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.client import start_ipp_client
from support.cups import PrivateCups
from support.waiting import wait_for
from tests.capable_printers import DuplexColourPrinter, duplex_colour_printer
from tests.peers import printer_attributes, private_cupsd


@pytest.fixture
def cups() -> Iterator[PrivateCups]:
    with private_cupsd() as cups:
        yield cups


@pytest.fixture
def colour_printer(tmp_path: Path) -> Iterator[DuplexColourPrinter]:
    yield from duplex_colour_printer(tmp_path / "colour")


def choices(lpoptions_l: str, option: str) -> tuple[list[str], str]:
    """The choices of one option in ``lpoptions -l`` output, and the default (starred) one."""
    line = next(ln for ln in lpoptions_l.splitlines() if ln.startswith(option + "/"))
    words = line.split(":", 1)[1].split()
    default = next(w[1:] for w in words if w.startswith("*"))
    return [w.lstrip("*") for w in words], default


def test_an_everywhere_queue_offers_duplex_colour_and_the_printers_paper(
    make_client, colour_printer, cups
):
    client = start_ipp_client(
        make_client, "colour", colour_printer.port, os_queues="cups", cups_server=cups.server
    )
    ours = f"ipp://127.0.0.1:{client.spooler_port}/printers/colour"
    wait_for(
        lambda: printer_attributes(ours).get("copies-supported") == [(1, 999)],
        30,
        "sync to read the printer",
    )

    made = cups.run("lpadmin", "-p", "everywhere", "-E", "-v", ours, "-m", "everywhere")
    assert made.returncode == 0, made.stderr + cups.logs()
    options = cups.run("lpoptions", "-p", "everywhere", "-l").stdout

    duplex, _ = choices(options, "Duplex")
    assert {"DuplexNoTumble", "DuplexTumble"} <= set(duplex), options
    colour, _ = choices(options, "ColorModel")
    assert "RGB" in colour, options
    # The default is asserted where CUPS keeps it: the PPD a dialog starts from, and the
    # queue's print-color-mode default. (The choice ``lpoptions -l`` stars is not: CUPS
    # 2.4.2 marks Gray there in about one run of five for the same PPD and defaults.)
    ppd = httpx.get(f"http://{cups.server}/printers/everywhere.ppd").text
    assert "*DefaultColorModel: RGB" in ppd.splitlines(), ppd
    assert "print-color-mode=color" in cups.run("lpoptions", "-p", "everywhere").stdout
    sizes, _ = choices(options, "PageSize")
    assert "A5" in sizes, options

    # The queue sync made for the port (raw, no PPD) carries the printer's own defaults.
    def queue_defaults() -> str:
        return cups.run("lpoptions", "-p", "colour").stdout

    wait_for(lambda: "print-color-mode=color" in queue_defaults(), 30, "the queue's defaults")
    assert re.search(r"\bmedia=na_letter_8\.5x11in\b", queue_defaults())
    assert "sides=one-sided" in queue_defaults()
