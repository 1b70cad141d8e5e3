"""Rows 3 and 4: small jobs. Each job is a Print-Job of the same small document on a new
loopback connection, timed until ``successful-ok`` (the spooler has fsynced the document,
renamed it, fsynced the directory and committed the row). The printer is a pull port, so the
jobs stay held and only capture is measured.

The baseline for both is the same small bytes sent on a new loopback connection to
``benchmarks.sink`` (its own process, a thread per connection), which writes them to a new file
and fsyncs it before answering: the least any receiver that keeps a job durably must do, on
the same disk, without HTTP, IPP or a database.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Row, Sink, close, percentile, post_ipp, print_job_body
from support.client import Client

SMALL = 10 * 1024  # a one-page PCL or PDF job
SUBMITTERS = 50


def timed(send: Callable[[], None], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        send()
        times.append(time.perf_counter() - started)
    return times


def concurrently(send: Callable[[], None], submitters: int, each: int) -> float:
    """``submitters`` threads each sending ``each`` jobs back to back; jobs per second."""
    errors: list[BaseException] = []
    start = threading.Barrier(submitters + 1)

    def submitter() -> None:
        start.wait()
        try:
            for _ in range(each):
                send()
        except BaseException as exc:  # reported below: a refused job must not look fast
            errors.append(exc)

    threads = [threading.Thread(target=submitter) for _ in range(submitters)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} submitters failed, first: {errors[0]!r}")
    return submitters * each / elapsed


class Setup:
    """A spooler with a pull printer and a sink, both ready."""

    def __init__(self, work: Path) -> None:
        self.document = os.urandom(SMALL)
        self.client = Client([{"name": "bench", "kind": "pull"}])
        self.sink: Sink | None = None
        try:
            self.client.start("sync", "spooler")
            self.client.wait_printer("bench")
            self.sink = Sink(work / "sink")
        except BaseException:
            self.close()
            raise
        body = print_job_body(self.client.spooler_port, "bench", self.document)
        port = self.client.spooler_port
        self.ours: Callable[[], None] = lambda: post_ipp(port, "bench", body)
        self.baseline: Callable[[], None] = lambda: self.sink.send(self.document)  # type: ignore[union-attr]
        for _ in range(10):  # warm-up: imports, connection pools, SQLite pages
            self.ours()
            self.baseline()

    def close(self) -> None:
        if self.sink is not None:
            self.sink.stop()
        close(self.client)


def latency(work: Path, quick: bool) -> list[Row]:
    count = 60 if quick else 300
    setup = Setup(work)
    try:
        # Interleaved in blocks so a burst of load from elsewhere hits both alike.
        ours: list[float] = []
        base: list[float] = []
        for _ in range(count // 20):
            ours += timed(setup.ours, 20)
            base += timed(setup.baseline, 20)
    finally:
        setup.close()
    ms = 1000
    note = f"{SMALL // 1024} KB Print-Job on a new connection to successful-ok, {count} jobs"
    return [
        Row(
            "small_job_p50_ms",
            percentile(ours, 50) * ms,
            percentile(base, 50) * ms,
            "lower",
            note=note + "; baseline socket copy of the same bytes into an fsynced file",
        ),
        Row(
            "small_job_p99_ms",
            percentile(ours, 99) * ms,
            percentile(base, 99) * ms,
            "lower",
            goal="p99 < 50 ms",
            met=percentile(ours, 99) * ms < 50,
            note=note,
            extra={"max_ms": max(ours) * ms, "baseline_max_ms": max(base) * ms},
        ),
    ]


def concurrency(work: Path, quick: bool) -> list[Row]:
    each, rounds = (2, 1) if quick else (10, 2)
    setup = Setup(work)
    ours, base = [], []
    try:
        # Alternated, best of each: load from elsewhere on the machine only ever slows a run.
        for _ in range(rounds):
            ours.append(concurrently(setup.ours, SUBMITTERS, each))
            base.append(concurrently(setup.baseline, SUBMITTERS, each))
    finally:
        setup.close()
    return [
        Row(
            f"concurrent_{SUBMITTERS}_jobs_per_s",
            max(ours),
            max(base),
            "higher",
            note=f"{SUBMITTERS} threads x {each} jobs of {SMALL // 1024} KB, best of {rounds}; "
            f"baseline {SUBMITTERS} concurrent socket copies into fsynced files",
            extra={
                "submitters": SUBMITTERS,
                "jobs": SUBMITTERS * each,
                "runs": ours,
                "baseline_runs": base,
            },
        )
    ]
