"""Where documents live (server/documents.py, issue 22, finding 2): an upload killed mid-body,
by its client or with its server process, leaves nothing a reader sees, what it wrote is
swept, and the job then uploads and prints once; a job being sent is retried by the
restart of the process that was sending it, and by no other process; a large job goes into
the database and out to a printer with the server's memory flat; a bad `--documents` is
refused by name."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from protocol.gateway import encode_frame
from support import ROOT
from support.ports import free_port
from support.server import (
    ServerProcess,
    add_printer_and_port,
    authorized_endpoint,
    server_command,
)
from support.waiting import wait_for
from tests.server.clients import (
    MIB,
    Document,
    GatewayClient,
    header,
    printed_once,
    unique,
    upload,
)
from tests.server.peers import RawSink

# Swept at once, not after the production minute.
SWEEP = ("--expiry-interval", "0.5")


def staged(server: ServerProcess, job_id: str) -> bool:
    """Part of the job's body is stored: an unfinished spool file or staged database rows."""
    return f"{job_id}.part" in server.documents()


def half_upload(server: ServerProcess, sink: RawSink) -> tuple[GatewayClient, dict, bytes, str]:
    """An upload of a job printed at once, 2.5 MiB of its 4 MiB sent, and the printer's name;
    the body is partly stored (rows of 1 MiB in the database) but no job is visible."""
    _, token = authorized_endpoint(server)
    printer = unique("raw")
    port_id = add_printer_and_port(server, printer, sink.port, kind="direct")
    job_id, body = unique("cut"), os.urandom(4 * MIB)
    head = header(token, job_id, port_id, body)
    client = GatewayClient(server.gateway_port, server.ca)
    assert client.send_raw(encode_frame(head) + body[: 5 * MIB // 2])
    wait_for(lambda: staged(server, job_id), 30, "part of the body stored")
    assert server.job(job_id) is None  # a reader sees no job, so no document
    return client, head, body, printer


def test_an_upload_cut_mid_body_leaves_nothing_and_then_prints_once(
    start_server: Callable[..., ServerProcess], raw_sink: RawSink
) -> None:
    server = start_server(*SWEEP)
    client, head, body, _ = half_upload(server, raw_sink)
    client.close()  # the connection drops mid-body
    job_id = head["job_id"]
    wait_for(lambda: not [d for d in server.documents() if d.startswith(job_id)], 30, "dropped")
    assert server.job(job_id) is None and raw_sink.documents() == []
    reply = upload(server.gateway_port, server.ca, head, body)  # the client sends it again
    assert reply is not None and reply.code == "stored"
    printed_once([server], raw_sink, job_id, body)


def test_an_upload_whose_server_is_killed_mid_body_is_swept_and_then_prints_once(
    start_server: Callable[..., ServerProcess], raw_sink: RawSink
) -> None:
    server = start_server(*SWEEP)
    client, head, body, _ = half_upload(server, raw_sink)
    os.kill(server.pid, signal.SIGKILL)
    assert server.proc is not None and server.proc.wait(30) == -signal.SIGKILL
    client.close()
    job_id = head["job_id"]
    assert staged(server, job_id)  # what the killed process wrote is still there...
    server.start()  # supervisord's restart: its claim is freed, its rows are swept
    wait_for(lambda: not [d for d in server.documents() if d.startswith(job_id)], 30, "swept")
    assert server.job(job_id) is None and raw_sink.documents() == []
    reply = upload(server.gateway_port, server.ca, head, body)
    assert reply is not None and reply.code == "stored"
    printed_once([server], raw_sink, job_id, body)


def delivered_by(server: ServerProcess, job_id: str) -> str | None:
    with server.database() as connection:
        query = text("SELECT delivered_by FROM jobs WHERE id = :job")
        return connection.execute(query, {"job": job_id}).scalar()


def stuck_on_a_printer(server: ServerProcess, printer_port: int) -> tuple[str, bytes]:
    """A job printed at once at a printer that takes the connection and never answers: it
    stays `processing` (attempt 1) on the process that sends it."""
    _, token = authorized_endpoint(server)
    printer = unique("hung")
    port_id = add_printer_and_port(server, printer, printer_port, kind="direct")
    job_id, body = unique("stuck"), os.urandom(64 * 1024)
    reply = upload(server.gateway_port, server.ca, header(token, job_id, port_id, body), body)
    assert reply is not None and reply.code == "stored"
    wait_for(lambda: delivered_by(server, job_id) is not None, 30, "the job being sent")
    return job_id, body


def test_a_job_its_process_was_sending_when_killed_is_sent_again_after_the_restart(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = start_server()
    port = free_port()
    hung = socket.create_server(("127.0.0.1", port))  # accepts (backlog), never reads
    try:
        job_id, body = stuck_on_a_printer(server, port)
        os.kill(server.pid, signal.SIGKILL)
        assert server.proc is not None and server.proc.wait(30) == -signal.SIGKILL
    finally:
        hung.close()
    sink = RawSink(tmp_path / "printed", port)  # the printer answers again
    try:
        server.start()
        printed_once([server], sink, job_id, body)
    finally:
        sink.stop()


def test_a_starting_process_leaves_alone_a_job_another_process_is_sending(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    port = free_port()
    hung = socket.create_server(("127.0.0.1", port))
    try:
        job_id, _ = stuck_on_a_printer(a, port)
        sender, other = (a, b) if delivered_by(a, job_id) == instance(a) else (b, a)
        other.stop()
        other.start()  # its recovery has run once it answers
        job = sender.job(job_id)
        assert job is not None and (job["state"], job["attempts"]) == ("processing", 1)
        assert delivered_by(a, job_id) == instance(sender)
    finally:
        hung.close()


def instance(server: ServerProcess) -> str:
    return (server.data_dir / "instance.id").read_text().strip()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.slow
def test_a_300mb_job_goes_through_the_database_with_flat_memory(
    start_server: Callable[..., ServerProcess], raw_sink: RawSink, db_kind: str
) -> None:
    if db_kind == "sqlite":
        pytest.skip("documents are in the database by default on PostgreSQL")
    server = start_server()
    _, token = authorized_endpoint(server)
    printer = unique("raw")
    port_id = add_printer_and_port(server, printer, raw_sink.port)
    doc, job_id = Document(300), unique("big")
    peak_before = server.reset_rss_peak()
    head = header(token, job_id, port_id, b"", size=doc.size, sha256=doc.sha256)
    reply = upload(server.gateway_port, server.ca, head, doc.chunks())
    assert reply is not None and reply.code == "stored"
    assert server.spool_files() == [] and server.database_documents() == [(job_id, doc.size)]
    with server.admin() as admin:
        admin.post("/api/v1/release", json={"user": "alice", "printer": printer})
    wait_for(lambda: (server.job(job_id) or {}).get("state") == "completed", 60, "printed")
    [printed] = sorted(raw_sink.directory.glob("job-*.bin"))
    assert printed.stat().st_size == doc.size and sha256_file(printed) == doc.sha256
    # In and out in 1 MiB rows: the peak grew by far less than the job (about 30 MB seen,
    # allocator arenas of the threads that move the rows; 25 MB for a 1 GB job).
    assert server.rss_peak_kb() - peak_before < 64 * 1024


def test_an_unknown_documents_backend_is_refused_by_name(tmp_path: Path) -> None:
    result = subprocess.run(
        [*server_command(), "run", "--data", str(tmp_path / "data"), "--dev-tls",
         "--documents", "s3"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--documents: invalid choice: 's3' (choose from 'directory', 'database')" in (
        result.stderr
    )
    assert not (tmp_path / "data").exists()  # refused before anything was made
    helped = subprocess.run(
        [*server_command(), "run", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "--documents {directory,database}" in helped.stdout
