"""Issue 21 "Done when", through a real cupsd: ``lp -n 2 -o sides=two-sided-long-edge -o
media=A5 -o print-color-mode=color`` to an IPP Everywhere queue on a direct port of an
ippeveprinter printer arrives there with two copies, that side, that paper and colour, read
back from the job attributes ippeveprinter got."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.states import JobState
from support.cups import PrivateCups
from support.waiting import wait_for
from tests.documents import minimal_pdf
from tests.job_options import TWO_SIDED, printer_capabilities, start_client
from tests.peers import private_cupsd


@pytest.mark.parametrize("ipp_printer", [{"duplex": True, "color": True}], indirect=True)
def test_lp_options_through_an_everywhere_queue_reach_the_ipp_printer(
    make_client, ipp_printer, tmp_path: Path
):
    port = {"name": "ippdesk", "kind": "direct", "port": ipp_printer.port, "protocol": "ipp"}
    caps = {"ippdesk": printer_capabilities(ipp_printer.port)}
    client = start_client(make_client, [port], caps)
    pdf = tmp_path / "options.pdf"
    pdf.write_bytes(minimal_pdf("two copies, long edge, A5, colour"))

    with private_cupsd() as cups:
        uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/ippdesk"
        added = cups.run("lpadmin", "-p", "q1", "-E", "-v", uri, "-m", "everywhere")
        assert added.returncode == 0, f"lpadmin: {added.stderr}\n{cups.logs()}"
        wait_ppd(cups)
        options = ["-n", "2", "-o", f"sides={TWO_SIDED}", "-o", "media=A5"]
        printed = cups.run("lp", "-d", "q1", *options, "-o", "print-color-mode=color", str(pdf))
        assert printed.returncode == 0, f"lp: {printed.stderr}\n{cups.logs()}"
        wait_for(ipp_printer.documents, 90, "the job at ippeveprinter; " + "\n".join(
            cups.error_lines()[-20:]))  # fmt: skip

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "our job completed")
    got = ipp_printer.job_attributes()[0]
    assert got["IPP_COPIES"] == "2"
    assert got["IPP_SIDES"] == TWO_SIDED
    # CUPS names the paper by its size (media-col), as PWG 5100.7 prefers.
    assert "media-size={x-dimension=14800 y-dimension=21000}" in got["IPP_MEDIA_COL"]
    assert got["IPP_PRINT_COLOR_MODE"] == "color"


def wait_ppd(cups: PrivateCups) -> None:
    """cupsd builds the everywhere PPD in the background, after lpadmin returned."""
    ppd = cups.root / "etc" / "ppd" / "q1.ppd"
    wait_for(lambda: ppd.exists() and ppd.stat().st_size > 0, 60, "the everywhere PPD")
