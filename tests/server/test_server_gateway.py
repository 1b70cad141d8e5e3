"""The gateway on TLS 7300: durable, idempotent, and strict with bad or slow peers."""

from __future__ import annotations

import hashlib
import os
import ssl
import threading

import pytest

from protocol.gateway import LENGTH_PREFIX, MAX_HEADER_SIZE, encode_frame
from support.server import ServerProcess, add_printer_and_port, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import MIB, Document, GatewayClient, header, unique, upload


@pytest.fixture(scope="module")
def endpoint(shared_server: ServerProcess) -> tuple[str, int]:
    """An authorized endpoint's token and a pull port (nothing prints at once)."""
    _, token = authorized_endpoint(shared_server, "gateway-test")
    return token, add_printer_and_port(shared_server, unique("printer"), 9)


def ca(server: ServerProcess) -> ssl.SSLContext:
    return server.ca


def leftovers(server: ServerProcess, job_id: str) -> list[str]:
    return [name for name in server.documents() if name.startswith(job_id)]


def assert_nothing_stored(server: ServerProcess, job_id: str) -> None:
    # The server answers (or drops) before cleaning up, so give it a moment to finish.
    wait_for(lambda: not leftovers(server, job_id), 10, f"no spool files for {job_id}")
    assert server.job(job_id) is None


@pytest.mark.slow
def test_100mb_upload_is_stored_once_when_sent_twice(
    server: ServerProcess, endpoint: tuple[str, int]
) -> None:
    token, port_id = endpoint
    doc = Document(100)
    job_id = unique("big")
    head = header(token, job_id, port_id, b"", size=doc.size, sha256=doc.sha256)
    peak_before = server.rss_peak_kb()

    first = upload(server.gateway_port, ca(server), head, doc.chunks())
    assert first is not None and (first.status, first.code) == ("ok", "stored")
    stored = server.spool_dir / job_id
    in_spool = stored.exists()
    assert in_spool == (server.db_url is None)  # the spool on SQLite, the database otherwise
    if in_spool:
        assert stored.stat().st_size == doc.size
        assert oct(stored.stat().st_mode & 0o777) == "0o600"
        mtime = stored.stat().st_mtime_ns
    else:
        assert server.database_documents() == [(job_id, doc.size)]

    second = upload(server.gateway_port, ca(server), head, doc.chunks())
    assert second is not None and (second.status, second.code) == ("ok", "duplicate")
    other = header(token, job_id, port_id, b"different")
    third = upload(server.gateway_port, ca(server), other, b"different")
    assert third is not None and (third.status, third.code) == ("error", "conflict")
    if in_spool:
        assert stored.stat().st_mtime_ns == mtime
    assert leftovers(server, job_id) == [job_id]
    assert [j["id"] for j in server.jobs()].count(job_id) == 1
    job = server.job(job_id)
    assert job is not None and (job["state"], job["size"]) == ("pending-held", doc.size)
    assert server.document_sha256(job_id) == doc.sha256
    # Streaming to disk: 200 MB went through, the peak footprint grew far less than that.
    assert server.rss_peak_kb() - peak_before < 40 * 1024


def test_truncated_upload_leaves_nothing(server: ServerProcess, endpoint: tuple[str, int]) -> None:
    token, port_id = endpoint
    body = os.urandom(3 * MIB)
    job_id = unique("truncated")
    client = GatewayClient(server.gateway_port, ca(server))
    assert client.send_raw(encode_frame(header(token, job_id, port_id, body)))
    assert client.send_raw(body[: len(body) // 2])
    client.close()  # the connection drops mid-body
    assert_nothing_stored(server, job_id)


def test_upload_shorter_than_its_size_times_out_with_an_error(
    server: ServerProcess, endpoint: tuple[str, int]
) -> None:
    token, port_id = endpoint
    body = os.urandom(64 * 1024)
    job_id = unique("short")
    client = GatewayClient(server.gateway_port, ca(server))
    try:
        client.send_raw(encode_frame(header(token, job_id, port_id, body)))
        client.send_raw(body[:1000])
        reply = client.reply()  # the server gives up after its read timeout
        assert reply is not None and (reply.status, reply.code) == ("error", "timeout")
    finally:
        client.close()
    assert_nothing_stored(server, job_id)


def test_wrong_sha256_is_refused_and_leaves_nothing(
    server: ServerProcess, endpoint: tuple[str, int]
) -> None:
    token, port_id = endpoint
    body = os.urandom(2 * MIB)
    job_id = unique("badsum")
    head = header(token, job_id, port_id, body, sha256=hashlib.sha256(b"other").hexdigest())
    reply = upload(server.gateway_port, ca(server), head, body)
    assert reply is not None and (reply.status, reply.code) == ("error", "sha256-mismatch")
    assert_nothing_stored(server, job_id)
    # The same id then uploads fine: a refused attempt leaves no trace that blocks a retry.
    good = upload(server.gateway_port, ca(server), header(token, job_id, port_id, body), body)
    assert good is not None and good.code == "stored"


def test_oversized_header_is_refused(server: ServerProcess) -> None:
    client = GatewayClient(server.gateway_port, ca(server))
    try:
        client.send_raw(LENGTH_PREFIX.pack(MAX_HEADER_SIZE + 1) + b"\x80" * 1024)
        reply = client.reply()
    finally:
        client.close()
    assert reply is not None and (reply.status, reply.code) == ("error", "header-too-large")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\xc1 not msgpack", "bad-header"),
        (encode_frame({"v": 1, "token": "t"})[4:], "bad-header"),
        (encode_frame({"v": 99})[4:], "unsupported-version"),
        (encode_frame({"v": 1, "job_id": "../../etc/passwd"})[4:], "bad-header"),
    ],
)
def test_malformed_header_is_refused(server: ServerProcess, payload: bytes, code: str) -> None:
    before = server.documents()
    client = GatewayClient(server.gateway_port, ca(server))
    try:
        client.send_raw(LENGTH_PREFIX.pack(len(payload)) + payload)
        reply = client.reply()
    finally:
        client.close()
    assert reply is not None and (reply.status, reply.code) == ("error", code)
    assert server.documents() == before


def test_unknown_port_is_refused(server: ServerProcess, endpoint: tuple[str, int]) -> None:
    token, _ = endpoint
    job_id = unique("noport")
    reply = upload(server.gateway_port, ca(server), header(token, job_id, 999999, b"x"), b"x")
    assert reply is not None and (reply.status, reply.code) == ("error", "unknown-port")
    assert_nothing_stored(server, job_id)


def test_slowloris_header_is_dropped(server: ServerProcess) -> None:
    """A peer dribbling its header (a byte every 0.2 s, forever) is answered with a timeout
    and dropped: the whole header has a deadline, not just each read."""
    client = GatewayClient(server.gateway_port, ca(server))
    stop = threading.Event()

    def dribble() -> None:
        client.send_raw(LENGTH_PREFIX.pack(200))
        while not stop.wait(0.2) and client.send_raw(b"\x80"):
            pass

    dribbler = threading.Thread(target=dribble, daemon=True)
    dribbler.start()
    try:
        reply = client.reply()
    finally:
        stop.set()
        dribbler.join(5)
        client.close()
    assert reply is not None and (reply.status, reply.code) == ("error", "timeout")


def test_the_same_job_sent_twice_at_once_is_stored_once(
    server: ServerProcess, endpoint: tuple[str, int]
) -> None:
    token, port_id = endpoint
    body = os.urandom(4 * MIB)
    job_id = unique("twice")
    head = header(token, job_id, port_id, body)
    replies: list[object] = []

    def send() -> None:
        replies.append(upload(server.gateway_port, ca(server), head, body))

    senders = [threading.Thread(target=send) for _ in range(2)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(60)
    codes = sorted(r.code for r in replies)  # type: ignore[attr-defined]
    # Whichever arrives second is either told to retry (still uploading) or a duplicate.
    assert codes in (["busy", "stored"], ["duplicate", "stored"])
    assert leftovers(server, job_id) == [job_id]
    assert [j["id"] for j in server.jobs()].count(job_id) == 1
