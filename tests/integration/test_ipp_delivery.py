"""Delivery by IPP to a real IPP printer (Debian's ippeveprinter): its spool holds our bytes,
and a printer's final refusal aborts the job with the printer's own words."""

from __future__ import annotations

from protocol.states import JobState
from services.core.ipp import Operation, Status, Tag
from support.client import start_ipp_client
from support.waiting import wait_for
from tests.documents import minimal_pdf


def start_client(make_client, ipp_printer):
    """A client whose direct port "ippdesk" delivers by IPP to the ippeveprinter."""
    return start_ipp_client(make_client, "ippdesk", ipp_printer.port)


def test_pdf_is_delivered_by_ipp_and_arrives_byte_for_byte(make_client, ipp_printer):
    client = start_client(make_client, ipp_printer)
    document = minimal_pdf("delivered by IPP")

    reply = client.ipp(
        Operation.PRINT_JOB,
        printer="ippdesk",
        user="alice",
        document=document,
        document_format=(Tag.MIME_TYPE, "application/pdf"),
    )

    assert reply.code == Status.OK
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "delivered by IPP")
    wait_for(lambda: ipp_printer.documents(), 30, "ippeveprinter kept the document")
    assert ipp_printer.documents() == [document]


def test_a_format_the_printer_refuses_aborts_the_job_with_its_reason(make_client, ipp_printer):
    """The port takes application/octet-stream, as its printer says it does; the printer types
    the document itself (PostScript here, which it does not print) and refuses it. (Named
    application/postscript, the port itself refuses it once sync has read the printer:
    test_document_formats.py.)"""
    client = start_client(make_client, ipp_printer)

    client.ipp(
        Operation.PRINT_JOB,
        printer="ippdesk",
        document=b"%!PS-Adobe-3.0\nshowpage\n",
        document_format=(Tag.MIME_TYPE, "application/octet-stream"),
    )

    wait_for(lambda: client.job_state(1) == JobState.ABORTED, 30, "aborted")
    job = client.jobs()[0]
    assert "document-format" in job.state_message or "format" in job.state_message
    assert client.spool_files() == []
