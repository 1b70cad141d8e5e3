"""One job id uploaded on two gateway connections at the same moment is stored and printed once
(issue 22, finding 1): to two server processes on one PostgreSQL database, or twice to one
process. The claim is a row in the shared database, not a set in each process's memory."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text

from protocol.gateway import encode_frame
from support.server import ServerProcess, add_printer_and_port, authorized_endpoint, printer_id
from support.waiting import wait_for
from tests.server.clients import GatewayClient, header, printed_once, unique, upload
from tests.server.peers import RawSink

RUNS = 20


def race(servers: list[ServerProcess], head: dict[str, Any], body: bytes) -> list[str | None]:
    """Each server gets the whole upload on its own connection, all sent at one moment: the
    connections and TLS handshakes are made first, then a barrier lets every sender go."""
    barrier = threading.Barrier(len(servers))
    codes: list[str | None] = [None] * len(servers)

    def send(index: int, client: GatewayClient) -> None:
        try:
            barrier.wait(30)
            client.send_raw(encode_frame(head) + body)
            reply = client.reply()
            codes[index] = reply.code if reply is not None else None
        finally:
            client.close()

    clients = [GatewayClient(s.gateway_port, s.ca) for s in servers]
    senders = [threading.Thread(target=send, args=(i, c)) for i, c in enumerate(clients)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(60)
    return codes


def stored_copies(servers: list[ServerProcess], job_id: str) -> int:
    """Complete copies of a job's document: one per process spool holding it, plus each
    complete upload in the database the processes share (counted once, not per process)."""
    in_spools = sum(job_id in s.spool_files() for s in servers)
    return in_spools + [name for name, _ in servers[0].database_documents()].count(job_id)


def run_races(servers: list[ServerProcess], sink: RawSink) -> None:
    """RUNS races; even ones print at once (deliver_to, a PC's release falling back to the
    server), odd ones are held and released through the last server."""
    _, token = authorized_endpoint(servers[0])
    printer = unique("raw")
    port_id = add_printer_and_port(servers[0], printer, sink.port)
    target = printer_id(servers[0], printer)
    for run in range(RUNS):
        job_id, body = unique("race"), os.urandom(32 * 1024)
        extra = {"deliver_to": target} if run % 2 == 0 else {}
        codes = race(servers, header(token, job_id, port_id, body, **extra), body)
        assert sorted(codes, key=str) == ["duplicate", "stored"], (run, codes)
        if run % 2:
            distinct = {id(s): s for s in servers}.values()
            assert stored_copies(list(distinct), job_id) == 1, run
            with servers[-1].admin() as admin:
                released = admin.post("/api/v1/release", json={"user": "alice", "printer": printer})
                assert released.json()["job_ids"] == [job_id]
        printed_once(servers, sink, job_id, body)
    for server in servers:
        assert "gateway.failed" not in server.logs()  # no `internal` answer, no traceback


def test_one_job_uploaded_to_two_processes_at_once_prints_once_in_20_races(
    pair: tuple[ServerProcess, ServerProcess], raw_sink: RawSink
) -> None:
    run_races(list(pair), raw_sink)


def test_one_job_sent_on_two_connections_to_one_process_prints_once_in_20_races(
    start_server: Callable[..., ServerProcess], raw_sink: RawSink
) -> None:
    server = start_server()  # on SQLite and on PostgreSQL
    run_races([server, server], raw_sink)


def claim_of(server: ServerProcess, job_id: str) -> str | None:
    """The instance holding `job_id`'s upload claim, read straight from the database."""
    engine = create_engine(server.db_url or f"sqlite:///{server.data_dir / 'server.db'}")
    try:
        with engine.connect() as connection:
            query = text("SELECT instance FROM upload_claims WHERE job_id = :job")
            return connection.execute(query, {"job": job_id}).scalar()
    finally:
        engine.dispose()


def killed_mid_upload(server: ServerProcess, sink: RawSink) -> tuple[dict[str, Any], bytes]:
    """A job whose upload `server` claimed and then died in (SIGKILL, between the claim and
    the commit): its header and body, for the client's retry."""
    _, token = authorized_endpoint(server)
    printer = unique("raw")
    port_id = add_printer_and_port(server, printer, sink.port)
    job_id, body = unique("killed"), os.urandom(256 * 1024)
    head = header(token, job_id, port_id, body, deliver_to=printer_id(server, printer))
    stuck = GatewayClient(server.gateway_port, server.ca)
    try:
        assert stuck.send_raw(encode_frame(head) + body[:1000])
        wait_for(lambda: claim_of(server, job_id) is not None, 30, "the job claimed")
        os.kill(server.pid, signal.SIGKILL)
        assert server.proc is not None and server.proc.wait(30) == -signal.SIGKILL
    finally:
        stuck.close()
    return head, body


def test_a_claim_left_by_a_killed_process_is_taken_over_once_it_expires(
    pair: tuple[ServerProcess, ServerProcess], raw_sink: RawSink
) -> None:
    a, b = pair
    head, body = killed_mid_upload(a, raw_sink)
    # While a's claim lasts, b stores nothing and tells the client to send again.
    first = upload(b.gateway_port, b.ca, head, body)
    assert first is not None and (first.status, first.code) == ("error", "busy")
    codes: list[str] = []

    def retried() -> bool:
        reply = upload(b.gateway_port, b.ca, head, body)
        codes.append(reply.code if reply is not None else "no reply")
        return codes[-1] == "stored"

    # The lease is the body budget plus a read timeout (2 s each in tests): seconds, not forever.
    wait_for(retried, 60, "b took over the expired claim")
    assert set(codes[:-1]) <= {"busy"}, codes
    printed_once([b], raw_sink, head["job_id"], body)
    assert claim_of(b, head["job_id"]) is None  # the commit removed the claim


def test_a_restarted_process_frees_the_claims_of_its_killed_predecessor_at_once(
    start_server: Callable[..., ServerProcess], raw_sink: RawSink
) -> None:
    server = start_server()  # on SQLite and on PostgreSQL
    head, body = killed_mid_upload(server, raw_sink)
    server.start()  # supervisord's restart: same data dir, so the same instance
    reply = upload(server.gateway_port, server.ca, head, body)  # the client's first retry
    assert reply is not None and reply.code == "stored"
    printed_once([server], raw_sink, head["job_id"], body)
