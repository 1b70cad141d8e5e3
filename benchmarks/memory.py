"""Row 5: peak RSS of the whole service while a 1 GB job moves through it. The production
service (supervisord with its five processes) prints the job to a direct printer (a raw
virtual printer); psutil samples the RSS of every supervised process every 20 ms from the
Print-Job until the printer has every byte, and the row is the highest sum. The baseline is the
same sum for the idle service after a small warm-up job (imports and pools loaded), so the ratio
shows what moving the job costs. supervisord itself is not a service and is left out; PSS
(shared pages divided among the processes) is in the JSON beside RSS, because RSS counts the
shared Python and library pages once per process.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from benchmarks.common import (
    MB,
    Row,
    Service,
    api_status,
    close,
    make_file,
    wait_file,
)
from cli.ipp_client import print_file
from support.client import Client
from support.printers import VirtualPrinter, direct_printer
from support.waiting import wait_for

GOAL = 150 * MB


def run(work: Path, quick: bool) -> list[Row]:
    size = (64 if quick else 1024) * MB
    printer = VirtualPrinter(work / "rss-printer")
    printer.start()
    client = Client([direct_printer(printer)])
    try:
        service = Service(client)
        service.wait_running()
        client.wait_printer("office")
        wait_for(lambda: api_status(client), 60, "every service answering the facade")
        uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/office"
        warm = work / "warm.bin"
        make_file(warm, 64 * 1024)
        print_file(uri, warm, user="bench")
        wait_file(printer.directory, "job-00001.prn", warm.stat().st_size, 60)
        time.sleep(1)  # let the warm-up's garbage settle before the idle sample
        idle = service.rss()
        idle_pss = service.pss()

        document = work / "big.bin"
        make_file(document, size)
        peak_sum, peak = 0, dict(idle)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_sum
            while not done.is_set():
                now = service.rss()
                peak_sum = max(peak_sum, sum(now.values()))
                for name, value in now.items():
                    peak[name] = max(peak.get(name, 0), value)
                done.wait(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        try:
            print_file(uri, document, user="bench", timeout=900)
            wait_file(printer.directory, "job-00002.prn", size, 900)
        finally:
            done.set()
            sampler.join()
        elapsed = time.perf_counter() - started
        document.unlink()
    finally:
        close(client)
        printer.stop()
    return [
        Row(
            f"peak_rss_{size // MB}MB_job_MB",
            peak_sum / MB,
            sum(idle.values()) / MB,
            "lower",
            goal="< 150 MB summed",
            met=peak_sum < GOAL,
            note="sum over the five supervised services; baseline the idle service",
            extra={
                "size_mb": size // MB,
                "seconds": elapsed,
                "peak_rss_mb": {k: v / MB for k, v in sorted(peak.items())},
                "idle_rss_mb": {k: v / MB for k, v in sorted(idle.items())},
                "idle_pss_mb": {k: v / MB for k, v in sorted(idle_pss.items())},
                "idle_pss_sum_mb": sum(idle_pss.values()) / MB,
            },
        )
    ]
