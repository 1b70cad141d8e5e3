"""Limits on the spooler's IPP port and the facade (issue 19, findings 3 and 4): a stalled
upload is closed and leaves no ``.part``, half a request head or a connection that sends
nothing is closed, one connection too many is refused, and a request with too many attribute
values is answered client-error-request-entity-too-large before any document byte is stored."""

from __future__ import annotations

import select
import struct

from services.core import ipp
from services.core.ipp import Operation, Status, Tag
from support.ports import free_port
from support.printers import direct_printer
from support.waiting import wait_for
from tests.slow_peers import BOUND, answer, closed_by_peer, connect, post_head, settled

LIMITS = {
    "http_header_timeout": 1,
    "http_body_timeout": 1,
    "http_idle_timeout": 1,
    "http_max_connections": 3,
    "ipp_max_attributes": 50,
}


def start_spooler(make_client, raw_printer, **settings):
    client = make_client([direct_printer(raw_printer)], **(LIMITS | settings))
    client.start("sync", "spooler")
    client.wait_printer()
    return client


def print_job(port: int, values: int = 1) -> bytes:
    request = ipp.request(Operation.PRINT_JOB)
    request.operation.add("printer-uri", Tag.URI, f"ipp://127.0.0.1:{port}/printers/office")
    request.operation.add("requesting-user-name", Tag.NAME, "mallory")
    request.operation.add("job-name", Tag.NAME, *(f"n{i}" for i in range(values)))
    return ipp.encode(request)


def ipp_status(reply: bytes) -> Status:
    body = reply.split(b" ", 3)[3]  # "HTTP/1.1 200 OK " + the IPP response
    return Status(struct.unpack(">H", body[2:4])[0])


def test_a_stalled_upload_is_closed_and_leaves_no_part_file(make_client, raw_printer):
    client = start_spooler(make_client, raw_printer)
    header = print_job(client.spooler_port)
    with connect(client.spooler_port) as s:
        s.sendall(post_head(10_000_000, "/printers/office", "application/ipp") + header)
        s.sendall(b"%PDF" * 100_000)  # the document has begun: a .part is open
        wait_for(lambda: any(p.suffix == ".part" for p in client.spool_files()), BOUND)
        closed_by_peer(s)  # and then nothing more comes
    wait_for(lambda: client.spool_files() == [], BOUND, "the .part to be removed")
    assert client.jobs() == []
    assert "reason=body-timeout" in (client.root / "log" / "spooler.log").read_text()


def test_half_a_request_head_is_closed(make_client, raw_printer):
    client = start_spooler(make_client, raw_printer)
    with connect(client.spooler_port) as idle, connect(client.spooler_port) as half:
        half.sendall(b"POST /printers/office HTTP/1.1\r\nHost: local")
        assert closed_by_peer(half) == b""
        assert closed_by_peer(idle) == b""


def test_attributes_trickled_in_too_slowly_are_answered_client_error_timeout(
    make_client, raw_printer
):
    client = start_spooler(make_client, raw_printer, http_body_timeout=30)
    header = print_job(client.spooler_port)
    with connect(client.spooler_port) as s:
        s.sendall(post_head(len(header), "/printers/office", "application/ipp"))
        # A byte every 0.2 s: never stalled for the body timeout, slower in all than the
        # header timeout; we stop when the answer comes (or the attributes run out).
        for i in range(len(header) - 1):
            s.sendall(header[i : i + 1])
            if select.select([s], [], [], 0.2)[0]:
                break
        assert ipp_status(answer(s)) == Status.CLIENT_ERROR_TIMEOUT
    assert client.jobs() == [] and client.spool_files() == []


def test_too_many_attribute_values_are_refused_before_any_document_is_stored(
    make_client, raw_printer
):
    client = start_spooler(make_client, raw_printer)
    header = print_job(client.spooler_port, values=LIMITS["ipp_max_attributes"] + 1)
    body = header + b"%PDF" * 1000
    with connect(client.spooler_port) as s:
        s.sendall(post_head(len(body), "/printers/office", "application/ipp") + body)
        assert ipp_status(answer(s)) == Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    assert client.jobs() == [] and client.spool_files() == []
    # Within the cap the same request prints.
    ok = print_job(client.spooler_port, values=10) + b"%PDF"
    with connect(client.spooler_port) as s:
        s.sendall(post_head(len(ok), "/printers/office", "application/ipp") + ok)
        assert ipp_status(answer(s)) == Status.OK


def test_one_connection_past_the_cap_is_refused(make_client, raw_printer):
    client = start_spooler(make_client, raw_printer, http_header_timeout=30)
    assert settled(client.spooler_port).startswith(b"HTTP/1.1 ")
    held = [connect(client.spooler_port) for _ in range(LIMITS["http_max_connections"])]
    try:
        for s in held:  # each sends a byte: uvicorn has taken it, so it counts
            s.sendall(b"P")
        with connect(client.spooler_port) as extra:
            assert closed_by_peer(extra).startswith(b"HTTP/1.1 503 ")
    finally:
        for s in held:
            s.close()


def test_the_facade_closes_half_a_request_head_and_caps_connections(make_client):
    client = make_client(None, **(LIMITS | {"http_max_connections": 2}))
    client.start("api")
    client.wait_listening(client.api_port)
    assert settled(client.api_port).startswith(b"HTTP/1.1 ")
    with connect(client.api_port) as first, connect(client.api_port) as second:
        first.sendall(b"GET /status HTTP/1.1\r\nHost: local")
        with connect(client.api_port) as extra:
            assert closed_by_peer(extra).startswith(b"HTTP/1.1 503 ")
        assert closed_by_peer(first) == b""
        assert closed_by_peer(second) == b""


def test_the_raw_capture_port_closes_a_stalled_sender_and_caps_connections(
    make_client, raw_printer
):
    """The raw port keeps the same limits: a sender that stops mid-document is an abandoned
    upload (its .part removed, no job), and a connection past the cap is closed at once."""
    raw_port = free_port()
    client = start_spooler(make_client, raw_printer, raw_capture_port=raw_port)
    client.wait_listening(raw_port)
    with connect(raw_port) as stalled:
        stalled.sendall(b"%PDF" * 100_000)
        wait_for(lambda: any(p.suffix == ".part" for p in client.spool_files()), BOUND)
        closed_by_peer(stalled)  # and then nothing more comes
    wait_for(lambda: client.spool_files() == [], BOUND, "the .part to be removed")
    assert client.jobs() == []
    assert 'raw-capture.abandoned reason="stalled for 1 s"' in client.logs()

    held = [connect(raw_port) for _ in range(LIMITS["http_max_connections"])]
    try:
        for s in held:
            s.sendall(b"%")  # each is inside its capture now
        wait_for(lambda: any(p.suffix == ".part" for p in client.spool_files()), BOUND)
        with connect(raw_port) as extra:
            assert closed_by_peer(extra) == b""
        assert 'raw-capture.refused reason="too many connections"' in client.logs()
    finally:
        for s in held:
            s.close()
