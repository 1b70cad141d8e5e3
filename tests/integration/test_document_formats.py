"""A port takes the document formats it presents, and refuses the others before a byte is
stored (RFC 8011: client-error-document-format-not-supported), for Print-Job, Validate-Job,
Create-Job and Send-Document alike (issue 21). A direct port to an IPP printer that takes
only PDF once took JPEG and PWG raster, and the printer aborted the job at delivery.

Real peers: Debian's ippeveprinter started with ``-f application/pdf`` (it presents
application/octet-stream too, and types such documents itself), read by a real sync; a raw
printer, whose port takes every format we pass through."""

from __future__ import annotations

from protocol.states import JobState
from services.core.ipp import Message, Operation, Status, Tag
from services.spooler.printer import DOCUMENT_FORMATS
from support.client import Client, start_ipp_client
from support.printers import direct_printer
from support.waiting import wait_for
from tests.capable_printers import presented, wait_printers_formats
from tests.documents import minimal_jpeg, minimal_pdf, pwg_raster

PDF = (Tag.MIME_TYPE, "application/pdf")
JPEG = (Tag.MIME_TYPE, "image/jpeg")
RASTER = (Tag.MIME_TYPE, "image/pwg-raster")


def start(make_client, ipp_printer) -> Client:
    """A client whose port "office" delivers to ``ipp_printer``, once sync has read it."""
    client = start_ipp_client(make_client, "office", ipp_printer.port)
    wait_printers_formats(client, "office", f"ipp://127.0.0.1:{ipp_printer.port}/ipp/print")
    return client


def refused(reply: Message) -> bool:
    return reply.code == Status.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED


def test_a_port_refuses_what_its_pdf_only_printer_cannot_print_and_stores_nothing(
    make_client, ipp_printer
):
    client = start(make_client, ipp_printer)
    assert set(presented(client, "office")["document-format-supported"]) == {
        "application/pdf",
        "application/octet-stream",
    }

    jpeg = client.ipp(Operation.PRINT_JOB, document=minimal_jpeg(128), document_format=JPEG)
    raster = pwg_raster((595, 842), 72, "sgray-8")
    pwg = client.ipp(Operation.PRINT_JOB, document=raster, document_format=RASTER)
    validate = client.ipp(Operation.VALIDATE_JOB, document_format=JPEG)
    create = client.ipp(Operation.CREATE_JOB, document_format=JPEG)

    for reply in (jpeg, pwg, validate, create):
        assert refused(reply), reply.operation.get("status-message")
    assert jpeg.operation.get("status-message") == (
        "format 'image/jpeg'; office takes application/octet-stream, application/pdf"
    )
    assert client.jobs() == [] and client.spool_files() == []
    assert client.ipp(Operation.VALIDATE_JOB, document_format=PDF).code == Status.OK


def test_send_document_is_refused_a_format_the_printer_cannot_print_and_the_job_waits(
    make_client, ipp_printer
):
    client = start(make_client, ipp_printer)
    created = client.ipp(Operation.CREATE_JOB, document_format=PDF)
    job_id = created.group(Tag.JOB).get("job-id")
    document = minimal_pdf("sent after a refused JPEG")

    jpeg = send_document(client, job_id, minimal_jpeg(128), JPEG)
    assert refused(jpeg), jpeg.operation.get("status-message")
    assert client.spool_files() == []
    assert client.jobs()[0].state_reasons == "job-incoming"  # still waiting for its document

    assert send_document(client, job_id, document, PDF).code == Status.OK
    wait_for(lambda: client.job_state(job_id) == JobState.COMPLETED, 30, "printed")
    assert ipp_printer.documents() == [document]


def test_application_octet_stream_is_taken_where_the_printer_presents_it(make_client, ipp_printer):
    """The sender does not say; ippeveprinter types the document itself and prints it."""
    client = start(make_client, ipp_printer)
    document = minimal_pdf("of no stated format")

    reply = client.ipp(Operation.PRINT_JOB, document=document)

    assert reply.code == Status.OK, reply.operation.get("status-message")
    assert client.jobs()[0].format == "application/octet-stream"
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "printed")
    # ippeveprinter answers Print-Job once it has the job, then runs its print command, which
    # keeps the copy: that comes a moment after our job is completed.
    wait_for(ipp_printer.documents, 30, "ippeveprinter's print command kept the document")
    assert ipp_printer.documents() == [document]


def test_a_raw_port_still_takes_every_format_we_pass_through(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    document = minimal_jpeg(128)

    reply = client.ipp(Operation.PRINT_JOB, document=document, document_format=JPEG)

    assert reply.code == Status.OK, reply.operation.get("status-message")
    assert presented(client, "office")["document-format-supported"] == list(DOCUMENT_FORMATS)
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "printed")
    assert [job.read_bytes() for job in raw_printer.jobs()] == [document]


def send_document(client: Client, job_id: int, document: bytes, fmt: tuple[int, str]) -> Message:
    return client.ipp(
        Operation.SEND_DOCUMENT,
        document=document,
        job_id=(Tag.INTEGER, job_id),
        last_document=(Tag.BOOLEAN, True),
        document_format=fmt,
    )
