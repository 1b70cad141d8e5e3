"""A job's options reach the printer (issue 21): an IPP printer gets them as job attributes
(read back from what ippeveprinter got), a raw printer that reads PJL gets a PJL job header
saying the same, one that does not gets the document unchanged, and what a printer could not
honour is said in the job's trace and state message."""

from __future__ import annotations

import pytest

from protocol.states import JobState
from services.core import jobs
from services.core.capabilities import A4
from services.core.ipp import Operation, Status, Tag
from support.printers import VirtualPrinter, direct_printer
from support.waiting import wait_for
from tests.documents import minimal_pdf
from tests.job_options import (
    A5,
    ARRIVED,
    PJL_FIELDS,
    TWO_SIDED,
    arrived,
    job_group,
    start_client,
)

CAPABLE_IPP = [{"duplex": True, "color": True}]
# What sync has read once a port presents it: an ippeveprinter's copies (1..999), and what a
# pull port offers when one of its printers prints both sides.
READ = ("copies-supported", (1, 999))
DUPLEX = ("sides-supported", TWO_SIDED)
OPTIONS = {
    "copies": (Tag.INTEGER, 2),
    "sides": (Tag.KEYWORD, TWO_SIDED),
    "media": (Tag.KEYWORD, A5),
    "print_color_mode": (Tag.KEYWORD, "color"),
}
FIDELITY = {"ipp_attribute_fidelity": (Tag.BOOLEAN, True)}


def ipp_port(printer, name: str = "ippdesk") -> dict:
    return {"name": name, "kind": "direct", "port": printer.port, "protocol": "ipp"}


@pytest.fixture
def pjl_printer(annex: VirtualPrinter) -> dict:
    """A second raw printer, one that reads PJL (its config entry says so), so that a pull
    port may be released at a printer that does what the other cannot."""
    return direct_printer(annex, "annex") | PJL_FIELDS


def print_pdf(client, printer: str, job, document: bytes, **attributes):
    """Print-Job of a PDF with these options (``job``) to ``printer``; the answer."""
    pdf = (Tag.MIME_TYPE, "application/pdf")
    return client.ipp(
        Operation.PRINT_JOB, printer=printer, job=job, document=document, document_format=pdf,
        **attributes,
    )  # fmt: skip


def trace(client, job_id: int = 1) -> str:
    with client.store.session() as session:
        return "\n".join(f"{e.event}: {e.detail}" for e in jobs.trace(session, job_id))


@pytest.mark.parametrize("ipp_printer", CAPABLE_IPP, indirect=True)
def test_options_reach_an_ipp_printer_as_its_job_attributes(make_client, ipp_printer):
    client = start_client(make_client, [ipp_port(ipp_printer)], {"ippdesk": READ})
    document = minimal_pdf("two copies, both sides, A5, colour")

    reply = print_pdf(client, "ippdesk", job_group(**OPTIONS), document, **FIDELITY)

    assert reply.code == Status.OK
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "delivered by IPP")
    wait_for(ipp_printer.documents, 30, "ippeveprinter kept the document")
    assert arrived(ipp_printer.job_attributes()[0]) == ARRIVED
    assert ipp_printer.documents() == [document]
    finished = client.jobs()[0]
    assert finished.state_message == ""  # nothing was lost on the way
    assert finished.state_reasons == "job-completed-successfully"


def test_a_raw_printer_with_pjl_gets_a_job_header_saying_the_same(make_client, raw_printer):
    office = direct_printer(raw_printer) | PJL_FIELDS
    client = start_client(make_client, [office], {"office": READ})
    document = b"%PDF-1.4 the document itself\n"

    client.ipp(
        Operation.PRINT_JOB,
        job=job_group(**OPTIONS),
        document=document,
        document_format=(Tag.MIME_TYPE, "application/pdf"),
        job_name=(Tag.NAME, 'report"\r\n@PJL SET COPIES=99'),
    )

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "printed")
    received = raw_printer.jobs()[0].read_bytes()
    uel = b"\x1b%-12345X"
    name = "report____PJL SET COPIES_99"  # the job name cannot smuggle in commands
    header = (
        f'@PJL\r\n@PJL JOB NAME="{name}"\r\n@PJL SET COPIES=2\r\n@PJL SET DUPLEX=ON\r\n'
        "@PJL SET BINDING=LONGEDGE\r\n@PJL SET PAPER=A5\r\n@PJL SET RENDERMODE=COLOR\r\n"
        "@PJL ENTER LANGUAGE=PDF\r\n"
    ).encode()
    trailer = f'@PJL EOJ NAME="{name}"\r\n'.encode()
    assert received == uel + header + document + uel + trailer + uel


def test_a_released_job_says_what_a_raw_printer_without_pjl_could_not_honour(
    make_client, raw_printer, pjl_printer
):
    plain = {"color": True, "duplex": True, "media": [A4, A5]}  # no PJL: it cannot be told
    ports = [direct_printer(raw_printer) | plain, pjl_printer, {"name": "hall", "kind": "pull"}]
    # hall may be released at either, so it offers what annex does.
    client = start_client(make_client, ports, {"hall": READ})
    client.ipp(Operation.PRINT_JOB, printer="hall", job=job_group(**OPTIONS), document=b"doc")

    released = client.run_cli("release", "1", "-P", "office")

    assert released.returncode == 0, released.stderr
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "released job printed")
    assert raw_printer.jobs()[0].read_bytes() == b"doc"  # unchanged: it reads no PJL
    message = client.jobs()[0].state_message
    assert client.jobs()[0].state_reasons == "job-completed-with-warnings"
    assert message.startswith("printed at office without: copies 2 (not offered)")
    assert "sides two-sided-long-edge (not offered)" in message
    assert "print-color-mode" not in message  # colour it does anyway
    assert message in trace(client)


def test_a_released_job_says_what_an_ipp_printer_does_not_offer(
    make_client, ipp_printer, pjl_printer
):
    ports = [ipp_port(ipp_printer), pjl_printer, {"name": "hall", "kind": "pull"}]
    # hall offers both sides (annex has them) once sync has read the simplex ippdesk too.
    client = start_client(make_client, ports, {"ippdesk": READ, "hall": DUPLEX})
    job = job_group(sides=(Tag.KEYWORD, TWO_SIDED), copies=(Tag.INTEGER, 2))
    document = minimal_pdf("simplex printer")
    print_pdf(client, "hall", job, document)

    released = client.run_cli("release", "1", "-P", "ippdesk")

    assert released.returncode == 0, released.stderr
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "released job printed")
    wait_for(ipp_printer.documents, 30, "ippeveprinter kept the document")
    got = ipp_printer.job_attributes()[0]
    assert got["IPP_COPIES"] == "2" and got.get("IPP_SIDES", "one-sided") == "one-sided"
    assert client.jobs()[0].state_message == (
        "printed at ippdesk without: sides two-sided-long-edge (not offered)"
    )


@pytest.mark.parametrize("ipp_printer", CAPABLE_IPP, indirect=True)
def test_a_held_jobs_options_survive_kill_9_and_reach_the_printer_at_release(
    make_client, ipp_printer
):
    ports = [ipp_port(ipp_printer), {"name": "hall", "kind": "pull"}]
    # The pull port presents what its release printer does.
    client = start_client(make_client, ports, {"ippdesk": READ, "hall": DUPLEX})
    document = minimal_pdf("held, killed, released")
    print_pdf(client, "hall", job_group(**OPTIONS), document, **FIDELITY)

    for name in ("spooler", "delivery"):
        client.processes[name].kill9()
    client.start("spooler", "delivery")
    client.wait_printer("hall")
    asked = client.ipp(Operation.GET_JOB_ATTRIBUTES, printer="hall", job_id=(Tag.INTEGER, 1))
    echoed = asked.group(Tag.JOB)
    released = client.run_cli("release", "1", "-P", "ippdesk")

    assert echoed.get("copies") == 2 and echoed.get("media") == A5
    assert released.returncode == 0, released.stderr
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "released job printed")
    wait_for(ipp_printer.documents, 30, "ippeveprinter kept the document")
    got = ipp_printer.job_attributes()[0]
    assert (got["IPP_COPIES"], got["IPP_SIDES"]) == ("2", TWO_SIDED)
    assert (got["IPP_MEDIA"], got["IPP_PRINT_COLOR_MODE"]) == (A5, "color")
    assert ipp_printer.documents() == [document]
