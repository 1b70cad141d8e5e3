"""Two server processes sharing one PostgreSQL database, each with its own data dir."""

from __future__ import annotations

import os
import signal

import pytest

from support.server import ServerProcess, add_printer_and_port, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import header, open_channel, unique, upload
from tests.server.peers import RawSink


def test_job_stored_through_a_killed_server_is_printed_whole_by_the_other(
    pair: tuple[ServerProcess, ServerProcess], raw_sink: RawSink
) -> None:
    """Documents are in the database (issue 22, finding 2): a job does not wait for the
    process whose gateway stored it."""
    a, b = pair
    _, token = authorized_endpoint(a)
    printer = unique("raw")
    port_id = add_printer_and_port(b, printer, raw_sink.port)
    job_id, body = unique("job"), os.urandom(3 * 1024 * 1024 + 17)  # several chunk rows
    reply = upload(a.gateway_port, a.ca, header(token, job_id, port_id, body), body)
    assert reply is not None and reply.code == "stored"
    assert a.spool_files() == [] and b.spool_files() == []  # in neither process's spool
    os.kill(a.pid, signal.SIGKILL)
    assert a.proc is not None and a.proc.wait(30) == -signal.SIGKILL
    with b.admin() as admin:  # b's admin token differs from a's: each data dir has its own
        released = admin.post("/api/v1/release", json={"user": "alice", "printer": printer})
        assert released.json()["job_ids"] == [job_id]
    wait_for(lambda: raw_sink.documents() == [body], 30, "printed whole by the live server")
    assert (b.job(job_id) or {}).get("state") == "completed"
    wait_for(lambda: job_id not in b.documents(), 30, "document deleted after printing")
    assert b.documents() == []


def test_revoke_on_one_server_closes_the_channel_held_by_the_other(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    endpoint_id, token = authorized_endpoint(a)
    with open_channel(a, token) as ws:
        with b.admin() as admin:
            admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/revoke").raise_for_status()
        with pytest.raises(Exception, match="4401"):
            while True:
                ws.recv(30)
