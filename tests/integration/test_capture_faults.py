"""Capture faults: whatever goes wrong while a job arrives, nothing half-written stays behind
and the client is answered with an IPP status, never a traceback."""

from __future__ import annotations

import socket
import struct

import httpx

from protocol.states import JobState
from services.core import ipp
from services.core.ipp import Operation, Status, Tag
from support.printers import direct_printer
from support.waiting import wait_for


def print_job_header(uri: str) -> bytes:
    request = ipp.request(Operation.PRINT_JOB)
    request.operation.add("printer-uri", Tag.URI, uri)
    request.operation.add("requesting-user-name", Tag.NAME, "mallory")
    return ipp.encode(request)


def start_spooler(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")
    client.wait_printer()
    return client


def send_partial_upload(port: int, body: bytes, announced: int) -> None:
    """POST announcing ``announced`` bytes, send only ``body``, then hang up."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(
            b"POST /printers/office HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/ipp\r\n"
            + f"Content-Length: {announced}\r\n\r\n".encode()
            + body
        )


def test_upload_cut_mid_stream_leaves_no_row_and_no_file(make_client, raw_printer):
    client = start_spooler(make_client, raw_printer)
    uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/office"
    header = print_job_header(uri)

    send_partial_upload(client.spooler_port, header + b"x" * 2_000_000, 50_000_000)

    log = client.root / "log" / "spooler.log"
    wait_for(lambda: "request.abandoned" in log.read_text(), what="spooler to notice the cut")
    assert client.jobs() == []
    assert client.spool_files() == []


def test_spooler_killed_mid_upload_leaves_nothing_after_restart(make_client, raw_printer):
    client = start_spooler(make_client, raw_printer)
    uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/office"
    with socket.create_connection(("127.0.0.1", client.spooler_port)) as s:
        s.sendall(
            b"POST /printers/office HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/ipp\r\nContent-Length: 90000000\r\n\r\n"
            + print_job_header(uri)
            + b"y" * 1_000_000
        )
        wait_for(
            lambda: any(p.suffix == ".part" for p in client.spool_files()), what="a .part file"
        )
        client.processes["spooler"].kill9()
    client.start("spooler")
    client.wait_printer()

    assert client.spool_files() == []
    assert client.jobs() == []


def post(client, body: bytes, path: str = "/printers/office") -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{client.spooler_port}{path}",
        content=body,
        headers={"Content-Type": "application/ipp"},
    )


def status_of(response: httpx.Response) -> Status:
    assert response.status_code == 200
    return Status(struct.unpack(">h", response.content[2:4])[0])


def test_malformed_requests_get_ipp_errors_and_store_nothing(make_client, raw_printer):
    client = start_spooler(make_client, raw_printer)
    uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/office"
    good = print_job_header(uri)

    # Truncated inside the attributes.
    assert status_of(post(client, good[:20])) == Status.CLIENT_ERROR_BAD_REQUEST
    # IPP/9.0 does not exist.
    assert status_of(post(client, b"\x09\x00" + good[2:])) == (
        Status.SERVER_ERROR_VERSION_NOT_SUPPORTED
    )
    # Operation 0x4242 is not one we know.
    assert status_of(post(client, good[:2] + b"\x42\x42" + good[4:] + b"doc")) == (
        Status.SERVER_ERROR_OPERATION_NOT_SUPPORTED
    )
    # A value length far beyond the data (attributes would pass the 1 MiB cap).
    huge = good[:9] + b"\x47\x00\x12attributes-charset\x7f\xff" + b"z" * 2_000_000
    assert status_of(post(client, huge)) in (
        Status.CLIENT_ERROR_BAD_REQUEST,
        Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE,
    )
    # Garbage.
    assert status_of(post(client, b"\xff" * 64)) != Status.OK
    # Not IPP at all.
    assert status_of(post(client, b"{}")) == Status.CLIENT_ERROR_BAD_REQUEST
    assert (
        httpx.post(
            f"http://127.0.0.1:{client.spooler_port}/printers/office", content=b"hello"
        ).status_code
        == 415
    )
    url = f"http://127.0.0.1:{client.spooler_port}/printers/office"
    assert httpx.get(url).status_code == 200  # printer-more-info page
    assert httpx.put(url).status_code == 405

    assert client.jobs() == []
    assert client.spool_files() == []
    assert "Traceback" not in (client.root / "log" / "spooler.log").read_text()


def test_an_empty_document_is_refused_and_stores_nothing(make_client, raw_printer):
    """Nothing would reach the printer, yet the job would have ended "printed" (issue 20)."""
    client = start_spooler(make_client, raw_printer)

    printed = client.ipp(Operation.PRINT_JOB, user="alice", document=b"")
    created = client.ipp(Operation.CREATE_JOB, user="alice")
    job_id = created.groups[-1].get("job-id")
    sent = client.ipp(
        Operation.SEND_DOCUMENT, user="alice", document=b"",
        job_id=(Tag.INTEGER, job_id), last_document=(Tag.BOOLEAN, True),
    )  # fmt: skip

    for reply in (printed, sent):
        assert reply.code == Status.CLIENT_ERROR_BAD_REQUEST
        assert reply.operation.get("status-message") == "the document is empty"
    assert [JobState(job.state) for job in client.jobs()] == [JobState.PENDING_HELD]  # incoming
    assert client.spool_files() == []
    assert raw_printer.jobs() == []
