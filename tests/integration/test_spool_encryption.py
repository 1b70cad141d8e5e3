"""Encryption at rest, with the real spooler and delivery: no plaintext byte of a job is ever
in the spool directory, while it arrives or while it waits, and a sealed document changed on
disk is aborted with the chunk named, never printed."""

from __future__ import annotations

import socket
import stat

from protocol.states import JobState
from services.core import crypto, ipp
from services.core.ipp import Operation, Tag
from services.core.spool import CHUNK_SIZE
from support.printers import direct_printer
from support.waiting import wait_for

MARKER = b"%%PULLPRINT-CONFIDENTIAL-MARKER%%\n"
PIECE = 1024 * 1024
PIECES = 12


def spool_bytes(client) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in client.spool_files()}


def assert_no_plaintext(client) -> None:
    for name, raw in spool_bytes(client).items():
        assert MARKER not in raw, f"plaintext marker found in {name}"
        # Not even a piece of it that a record boundary could have split.
        assert MARKER[:12] not in raw and MARKER[-12:] not in raw, name


def held_client(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer), {"name": "hall", "kind": "pull"}])
    client.start("sync", "spooler", "delivery")
    client.wait_printer("hall")
    return client


def test_spool_never_holds_a_plaintext_byte_of_a_held_job(make_client, raw_printer):
    client = held_client(make_client, raw_printer)
    uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/hall"
    request = ipp.request(Operation.PRINT_JOB)
    request.operation.add("printer-uri", Tag.URI, uri)
    request.operation.add("requesting-user-name", Tag.NAME, "alice")
    header = ipp.encode(request)
    piece = MARKER * (PIECE // len(MARKER)) + MARKER[: PIECE % len(MARKER)]
    document = piece * PIECES

    with socket.create_connection(("127.0.0.1", client.spooler_port)) as s:
        s.sendall(
            b"POST /printers/hall HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/ipp\r\n"
            + f"Content-Length: {len(header) + len(document)}\r\n\r\n".encode()
            + header
        )
        part_sizes = []
        for number in range(PIECES - 1):  # the last piece completes it: no .part after that
            s.sendall(piece)
            # Look once the spooler has sealed what it got, up to the record it still holds.
            sealed = crypto.HEADER_SIZE + (number + 1) * PIECE - 2 * CHUNK_SIZE

            def written(sealed: int = sealed) -> int:
                parts = [p for p in client.spool_files() if p.suffix == ".part"]
                return parts and parts[0].stat().st_size >= sealed and parts[0].stat().st_size

            part_sizes.append(wait_for(written, what=f"the .part file past {sealed} bytes"))
            assert_no_plaintext(client)
        s.sendall(piece)
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    assert b" 200 " in reply.split(b"\r\n", 1)[0]
    assert part_sizes == sorted(part_sizes) and len(set(part_sizes)) == PIECES - 1

    [job] = client.jobs()
    assert job.state == JobState.PENDING_HELD and job.size == len(document)
    [stored] = client.spool_files()
    assert stored.name == job.uuid and stored.read_bytes().startswith(crypto.MAGIC)
    assert_no_plaintext(client)
    key = client.root / "state" / crypto.KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    assert client.run_cli("release", str(job.id), "-P", "office").returncode == 0
    wait_for(lambda: client.job_state(job.id) == JobState.COMPLETED, what="released job")
    assert raw_printer.jobs()[0].read_bytes() == document  # decrypted on the way out
    assert client.spool_files() == []


def test_flipped_byte_in_sealed_document_aborts_with_reason_and_prints_nothing(
    make_client, raw_printer
):
    client = held_client(make_client, raw_printer)
    document = MARKER * (4 * CHUNK_SIZE // len(MARKER))
    client.ipp(Operation.PRINT_JOB, printer="hall", document=document)
    [job] = client.jobs()
    path = client.root / "state" / "spool" / job.uuid
    offset = crypto.HEADER_SIZE + 2 * (CHUNK_SIZE + crypto.TAG_SIZE) + 7  # inside chunk 3
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))

    assert client.run_cli("release", str(job.id), "-P", "office").returncode == 0

    wait_for(lambda: client.job_state(job.id) == JobState.ABORTED, what="the job aborted")
    [aborted] = client.jobs()
    assert aborted.state_reasons == "aborted-by-system"
    assert aborted.state_message.startswith(
        "document tampered with or damaged: chunk 3 of 4 failed authentication"
    )
    assert "not printed" in aborted.state_message
    assert raw_printer.jobs() == [] and raw_printer.partial_size() == 0
    assert "chunk 3 of 4" in (client.root / "log" / "delivery.log").read_text()
    assert client.spool_files() == []
