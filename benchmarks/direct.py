"""Row 2: direct print end to end. The same file goes through our spooler and delivery to a raw
9100 virtual printer, and through a private cupsd's raw queue to another virtual printer of
the same kind; each is timed from the first byte submitted until the printer has every byte
(the virtual printer names a job ``job-N.prn`` only after its fsync). Both are submitted with
the same IPP client code (services/core/ipp_client.py). Goal: faster than CUPS.
"""

from __future__ import annotations

import os
import pwd
import statistics
import time
from pathlib import Path

from benchmarks.common import MB, Row, close, direct_printer, make_file, wait_file
from services.core.ipp_client import print_file
from tests.helpers import Client, VirtualPrinter
from tests.peers import PrivateCups, cupsd_available


def timed_prints(uri: str, printer: VirtualPrinter, document: Path, reps: int) -> list[float]:
    """A small warm-up job, then ``reps`` timed prints of ``document``."""
    warm = document.with_name("warm.bin")
    make_file(warm, 4096)
    times = []
    for number, (path, timed) in enumerate(
        [(warm, False)] + [(document, True)] * reps, start=len(printer.jobs()) + 1
    ):
        started = time.perf_counter()
        reply = print_file(uri, path, user="bench", timeout=600)
        if reply.code >= 0x0400:
            raise RuntimeError(f"{uri} refused the job: {reply.code:#06x}")
        wait_file(printer.directory, f"job-{number:05d}.prn", path.stat().st_size, 600)
        if timed:
            times.append(time.perf_counter() - started)
        for done in printer.jobs():
            done.unlink()  # keep the disk free; numbering goes on in the printer's memory
    return times


def ours(work: Path, document: Path, reps: int) -> list[float]:
    printer = VirtualPrinter(work / "ours-printer")
    printer.start()
    client = Client([direct_printer(printer)])
    try:
        client.start("sync", "spooler", "delivery")
        client.wait_printer("office")
        uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/office"
        return timed_prints(uri, printer, document, reps)
    finally:
        close(client)
        printer.stop()


def cups_missing() -> str:
    """Why a private cupsd cannot run here, or "" when it can."""
    if not cupsd_available():
        return "cupsd absent (apt-get install cups)"
    if os.geteuid() != 0:
        return "a private cupsd needs root"
    try:
        pwd.getpwnam("lp")
    except KeyError:
        return "no user lp for cupsd"
    return ""


def cups(work: Path, document: Path, reps: int) -> list[float]:
    printer = VirtualPrinter(work / "cups-printer")
    printer.start()
    cupsd = PrivateCups()
    # The tests' recipe logs at debug level for their failure messages; a production cupsd
    # does not, and the comparison should not charge CUPS for our test logging.
    cupsd.cupsd_conf.write_text(
        cupsd.cupsd_conf.read_text().replace("LogLevel debug", "LogLevel warn")
    )
    try:
        cupsd.start()
        made = cupsd.run("lpadmin", "-p", "q1", "-E", "-v", f"socket://127.0.0.1:{printer.port}")
        if made.returncode != 0:
            raise RuntimeError(f"lpadmin failed: {made.stderr}")
        uri = f"ipp://127.0.0.1:{cupsd.port}/printers/q1"
        return timed_prints(uri, printer, document, reps)
    finally:
        cupsd.stop()
        cupsd.remove()
        printer.stop()


def run(work: Path, quick: bool) -> list[Row]:
    size, reps = (8 * MB, 1) if quick else (64 * MB, 3)
    document = work / "direct.bin"
    make_file(document, size)
    mine = statistics.median(ours(work, document, reps))
    missing = cups_missing()
    theirs = None if missing else statistics.median(cups(work, document, reps))
    document.unlink()
    return [
        Row(
            f"direct_print_{size // MB}MB_s",
            mine,
            theirs,
            "lower",
            goal="< CUPS raw queue",
            met=None if theirs is None else mine < theirs,
            note=missing
            or f"submit to printer-has-all-bytes, median of {reps}; baseline private cupsd raw "
            "queue (socket://) to the same kind of virtual printer",
            extra={"size_mb": size // MB, "reps": reps},
        )
    ]
