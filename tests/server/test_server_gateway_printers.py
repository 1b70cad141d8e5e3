"""Where an upload may be printed (issue 19, finding 2): the gateway sends a job only to a
printer the server knows and the job's input port allows, named by its id. An authorized
endpoint cannot make the server relay its bytes to an address of its choosing."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import PROTOCOL_VERSION
from protocol.gateway import UploadReply
from support.server import ServerProcess, add_printer_and_port, authorized_endpoint, printer_id
from support.waiting import wait_for
from tests.server.clients import header, unique, upload
from tests.server.peers import RawSink

BODY = b"\x1b%-12345X@PJL JOB\r\nnot for this printer\r\n"


@pytest.fixture(scope="module")
def token(shared_server: ServerProcess) -> str:
    return authorized_endpoint(shared_server, "relay-test")[1]


def assert_refused(
    server: ServerProcess, reply: UploadReply | None, code: str, job_id: str, sink: RawSink
) -> None:
    """Refused with `code`, and nothing of the job anywhere: no row, no file, no connection."""
    assert reply is not None and (reply.status, reply.code) == ("error", code), reply
    wait_for(lambda: not [f for f in server.documents() if f.startswith(job_id)], 10, "no file")
    assert server.job(job_id) is None
    assert sink.count == 0


def test_an_address_in_deliver_to_is_refused_and_nothing_is_sent_there(
    server: ServerProcess, token: str, raw_sink: RawSink
) -> None:
    # The sink stands for any host:port behind the server (a printer's web page, a database):
    # the server knows no printer there.
    port_id = add_printer_and_port(server, unique("pull"), 9)
    address = {"host": "127.0.0.1", "port": raw_sink.port, "protocol": "raw"}
    # Today's header has no place for an address; version 1's did, and is refused with it.
    for version, code in ((PROTOCOL_VERSION, "bad-header"), (1, "unsupported-version")):
        job_id = unique("relay")
        head = header(token, job_id, port_id, BODY, v=version, deliver_to=address)
        reply = upload(server.gateway_port, server.ca, head, BODY)
        assert_refused(server, reply, code, job_id, raw_sink)
    # A version 1 client's upload without an address is still taken, and held.
    job_id = unique("v1")
    reply = upload(server.gateway_port, server.ca, header(token, job_id, port_id, BODY, v=1), BODY)
    assert reply is not None and reply.code == "stored", reply
    job = server.job(job_id)
    assert job is not None and job["state"] == "pending-held"
    assert raw_sink.count == 0


def test_a_printer_the_jobs_port_does_not_allow_is_refused(
    server: ServerProcess, token: str, raw_sink: RawSink, tmp_path: Path
) -> None:
    allowed = unique("floor1")
    pull_port = add_printer_and_port(server, allowed, 9)  # released at floor1 only
    with server.admin() as admin:
        direct = {"name": unique("direct"), "kind": "direct", "printers": [allowed]}
        direct_port = admin.post("/api/v1/admin/ports", json=direct).raise_for_status().json()
    other = unique("boardroom")  # known to the server, but not where these ports print
    add_printer_and_port(server, other, raw_sink.port)
    cases = [
        (pull_port, printer_id(server, other), "printer-not-allowed"),
        (direct_port["id"], printer_id(server, other), "printer-not-allowed"),
        (pull_port, 2_000_000_000, "unknown-printer"),
    ]
    for port_id, printer, code in cases:
        job_id = unique("elsewhere")
        head = header(token, job_id, port_id, BODY, deliver_to=printer)
        reply = upload(server.gateway_port, server.ca, head, BODY)
        assert_refused(server, reply, code, job_id, raw_sink)
