"""Two server processes sharing one PostgreSQL database, each with its own data dir."""

from __future__ import annotations

import pytest

from support.server import ServerProcess, add_printer_and_port, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import header, open_channel, unique, upload
from tests.server.peers import RawSink


def test_job_stored_on_one_server_is_printed_by_it_when_released_on_the_other(
    pair: tuple[ServerProcess, ServerProcess], raw_sink: RawSink
) -> None:
    a, b = pair
    _, token = authorized_endpoint(a)
    printer = unique("raw")
    port_id = add_printer_and_port(b, printer, raw_sink.port)
    job_id = unique("job")
    reply = upload(a.gateway_port, a.ca, header(token, job_id, port_id, b"shared"), b"shared")
    assert reply is not None and reply.code == "stored"
    with b.admin() as admin:
        released = admin.post("/api/v1/release", json={"user": "alice", "printer": printer})
        assert released.json()["job_ids"] == [job_id]
    wait_for(lambda: raw_sink.documents() == [b"shared"], 30, "printed by the server holding it")
    wait_for(lambda: job_id not in a.spool_files(), 30, "document deleted after printing")
    assert b.spool_files() == []


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
