"""Streams, not blobs: the spooler and delivery stay flat while a 1 GB job passes through,
sealed record by record on capture and opened the same way on delivery (twice: the verify
pre-pass, then the send)."""

from __future__ import annotations

import threading

import pytest

from protocol.states import JobState
from support.printers import direct_printer
from support.waiting import wait_for
from tests.documents import make_document, sha256_file

MB = 1024 * 1024
DOCUMENT = 1024 * MB
# Headroom for allocator noise and uvicorn/httpx buffers; a job held in memory would add 1024.
ALLOWED_GROWTH = 64 * MB


@pytest.mark.slow
def test_memory_of_spooler_and_delivery_stays_flat_for_1_gb_encrypted_job(
    make_client, raw_printer, tmp_path
):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    # Warm both processes up with a small job so imports and pools are counted in the baseline.
    small = tmp_path / "small.bin"
    make_document(small, 1 * MB)
    assert client.run_cli("print", str(small), "-P", "office").returncode == 0
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, what="warm-up job")
    spooler, delivery = client.processes["spooler"], client.processes["delivery"]
    baseline = {"spooler": spooler.rss(), "delivery": delivery.rss()}
    peak = dict(baseline)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak["spooler"] = max(peak["spooler"], spooler.rss())
            peak["delivery"] = max(peak["delivery"], delivery.rss())
            done.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        document = tmp_path / "big.bin"
        digest = make_document(document, DOCUMENT)
        assert client.run_cli("print", str(document), "-P", "office").returncode == 0
        wait_for(lambda: client.job_state(2) == JobState.COMPLETED, timeout=240, what="1 GB")
    finally:
        done.set()
        sampler.join()

    assert sha256_file(raw_printer.jobs()[-1]) == digest
    assert (client.root / "state" / "spool.key").exists()  # it went through the sealed spool
    for name in ("spooler", "delivery"):
        growth = peak[name] - baseline[name]
        assert growth < ALLOWED_GROWTH, f"{name} grew {growth / MB:.0f} MB"
