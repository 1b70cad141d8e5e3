"""Issue 21 "Done when", through a real cupsd: ``lp -n 2 -o sides=two-sided-long-edge -o
media=A5 -o print-color-mode=color`` to an IPP Everywhere queue on a direct port of an
ippeveprinter printer arrives there with two copies, that side, that paper and colour, read
back from the job attributes ippeveprinter got; to a direct port of a raw printer that reads
PJL, the PJL job header in front of the document says the same."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from protocol.states import JobState
from support.client import Client
from support.cups import PrivateCups
from support.printers import VirtualPrinter, direct_printer
from support.waiting import wait_for
from tests.documents import minimal_pdf
from tests.job_options import PJL_FIELDS, TWO_SIDED, start_client
from tests.peers import private_cupsd


@pytest.mark.parametrize("ipp_printer", [{"duplex": True, "color": True}], indirect=True)
def test_lp_options_through_an_everywhere_queue_reach_the_ipp_printer(
    make_client, ipp_printer, tmp_path: Path
):
    port = {"name": "ippdesk", "kind": "direct", "port": ipp_printer.port, "protocol": "ipp"}
    # The everywhere PPD is built from what the port presents: wait until sync has read it.
    client = start_client(make_client, [port], {"ippdesk": ("copies-supported", (1, 999))})
    pdf = tmp_path / "options.pdf"
    pdf.write_bytes(minimal_pdf("two copies, long edge, A5, colour"))

    lp_with_options(client, "ippdesk", pdf, ipp_printer.documents, "the job at ippeveprinter")

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "our job completed")
    got = ipp_printer.job_attributes()[0]
    assert got["IPP_COPIES"] == "2"
    assert got["IPP_SIDES"] == TWO_SIDED
    # CUPS names the paper by its size (media-col), as PWG 5100.7 prefers.
    assert "media-size={x-dimension=14800 y-dimension=21000}" in got["IPP_MEDIA_COL"]
    assert got["IPP_PRINT_COLOR_MODE"] == "color"


def test_lp_options_through_an_everywhere_queue_reach_a_raw_printer_as_pjl(
    make_client, raw_printer: VirtualPrinter, tmp_path: Path
):
    """The same ``lp`` to a raw printer whose record says it reads PJL (colour, duplex, A4
    and A5): CUPS sends the options because the port offers them, and the printer gets them
    in the PJL job header, the document after it unchanged."""
    office = direct_printer(raw_printer) | PJL_FIELDS
    client = start_client(make_client, [office], {"office": ("copies-supported", (1, 999))})
    pdf = tmp_path / "options.pdf"
    pdf.write_bytes(minimal_pdf("two copies, long edge, A5, colour, in PJL"))

    lp_with_options(client, "office", pdf, raw_printer.jobs, "the job at the raw printer")

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "our job completed")
    received = raw_printer.jobs()[0].read_bytes()
    header = received[: received.index(b"@PJL ENTER LANGUAGE=PDF")].decode()
    # CUPS asks for collated copies of a PDF: PJL says that as QTY (copies of the whole job).
    assert "@PJL SET QTY=2\r\n" in header or "@PJL SET COPIES=2\r\n" in header, header
    for line in ("DUPLEX=ON", "BINDING=LONGEDGE", "PAPER=A5", "RENDERMODE=COLOR"):
        assert f"@PJL SET {line}\r\n" in header, header
    assert b"%PDF" in received[len(header) :]


def lp_with_options(
    client: Client, port: str, pdf: Path, arrived: Callable[[], object], what: str
) -> None:
    """The issue's ``lp`` through a private cupsd's everywhere queue on our ``port``, and the
    wait until ``arrived`` says the printer has the job (CUPS's errors shown if not)."""
    with private_cupsd() as cups:
        uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/{port}"
        added = cups.run("lpadmin", "-p", "q1", "-E", "-v", uri, "-m", "everywhere")
        assert added.returncode == 0, f"lpadmin: {added.stderr}\n{cups.logs()}"
        wait_ppd(cups)
        options = ["-n", "2", "-o", f"sides={TWO_SIDED}", "-o", "media=A5"]
        printed = cups.run("lp", "-d", "q1", *options, "-o", "print-color-mode=color", str(pdf))
        assert printed.returncode == 0, f"lp: {printed.stderr}\n{cups.logs()}"
        wait_for(arrived, 90, f"{what}; " + "\n".join(cups.error_lines()[-20:]))


def wait_ppd(cups: PrivateCups) -> None:
    """cupsd builds the everywhere PPD in the background, after lpadmin returned."""
    ppd = cups.root / "etc" / "ppd" / "q1.ppd"
    wait_for(lambda: ppd.exists() and ppd.stat().st_size > 0, 60, "the everywhere PPD")
