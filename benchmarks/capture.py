"""Row 1: IPP capture of a large job (Print-Job into our spooler, which streams, fsyncs and
commits before answering) against the same bytes copied over a loopback socket into an fsynced
file, the machine's limit. Goal: at least half of it."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import CHUNK, MB, Row, chunks, close, make_file
from services.core import ipp
from services.core.ipp import Operation, Tag
from support.client import Client

PULL = [{"name": "bench", "kind": "pull"}]


def socket_copy(path: Path, target: Path) -> float:
    """Baseline: the same bytes over loopback TCP into a file, fsynced."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def receive() -> None:
        conn, _ = server.accept()
        with conn, target.open("wb") as out:
            while data := conn.recv(CHUNK):
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
            conn.sendall(b"ok")

    thread = threading.Thread(target=receive)
    thread.start()
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        for chunk in chunks(path):
            conn.sendall(chunk)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(2)
    elapsed = time.perf_counter() - started
    thread.join()
    server.close()
    return elapsed


def ipp_capture(client: Client, path: Path) -> float:
    """Ours: Print-Job to a real spooler process; timed until its successful-ok."""
    request = ipp.request(Operation.PRINT_JOB)
    request.operation.add(
        "printer-uri", Tag.URI, f"ipp://127.0.0.1:{client.spooler_port}/printers/bench"
    )
    request.operation.add("requesting-user-name", Tag.NAME, "bench")
    header = ipp.encode(request)
    started = time.perf_counter()
    reply = httpx.post(
        f"http://127.0.0.1:{client.spooler_port}/printers/bench",
        content=chunks(path, header),
        headers={
            "Content-Type": "application/ipp",
            "Content-Length": str(len(header) + path.stat().st_size),
        },
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    assert ipp.parse(reply.content)[0].code == 0, "the spooler refused the job"
    for document in client.spool_files():
        document.unlink()  # keep the disk free; the held row stays, which is harmless here
    return elapsed


def run(work: Path, quick: bool) -> list[Row]:
    size, reps = (32 * MB, 1) if quick else (256 * MB, 2)
    document = work / "capture.bin"
    make_file(document, size)
    client = Client(PULL)
    baseline, ours = [], []
    try:
        client.start("sync", "spooler")
        client.wait_printer("bench")
        # Alternated, best of each: load from elsewhere on the machine only ever slows a run.
        for _ in range(reps):
            baseline.append(socket_copy(document, work / "copy.bin"))
            (work / "copy.bin").unlink()
            ours.append(ipp_capture(client, document))
    finally:
        close(client)
    document.unlink()
    mbps, base_mbps = size / MB / min(ours), size / MB / min(baseline)
    return [
        Row(
            "ipp_capture_MBps",
            mbps,
            base_mbps,
            "higher",
            goal=">= 0.5x",
            met=mbps / base_mbps >= 0.5,
            note=f"{size // MB} MB Print-Job vs loopback socket copy into an fsynced file, "
            f"best of {reps}",
            extra={"size_mb": size // MB, "runs_s": ours, "baseline_runs_s": baseline},
        )
    ]
