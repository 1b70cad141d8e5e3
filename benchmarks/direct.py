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
from contextlib import ExitStack
from pathlib import Path

from benchmarks.common import MB, Row, close, make_file, wait_file
from cli.ipp_client import print_file
from support.client import Client
from support.cups import PrivateCups, cupsd_available
from support.printers import VirtualPrinter, direct_printer


class Target:
    """A printer URI to submit to and the virtual printer its jobs end up at."""

    def __init__(self, uri: str, printer: VirtualPrinter) -> None:
        self.uri, self.printer = uri, printer
        self.number = 0

    def print(self, path: Path) -> float:
        """Seconds from submitting ``path`` until the printer has all of it."""
        self.number += 1
        started = time.perf_counter()
        reply = print_file(self.uri, path, user="bench", timeout=600)
        if reply.code >= 0x0400:
            raise RuntimeError(f"{self.uri} refused the job: {reply.code:#06x}")
        name = f"job-{self.number:05d}.prn"
        wait_file(self.printer.directory, name, path.stat().st_size, 600)
        elapsed = time.perf_counter() - started
        (self.printer.directory / name).unlink()  # keep the disk free
        return elapsed


def printer(stack: ExitStack, directory: Path) -> VirtualPrinter:
    device = VirtualPrinter(directory)
    device.start()
    stack.callback(device.stop)
    return device


def ours(stack: ExitStack, work: Path) -> Target:
    device = printer(stack, work / "ours-printer")
    client = Client([direct_printer(device)])
    stack.callback(close, client)
    client.start("sync", "spooler", "delivery")
    client.wait_printer("office")
    return Target(f"ipp://127.0.0.1:{client.spooler_port}/printers/office", device)


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


def cups(stack: ExitStack, work: Path) -> Target:
    device = printer(stack, work / "cups-printer")
    cupsd = PrivateCups()
    stack.callback(cupsd.remove)
    # The tests' recipe logs at debug level for their failure messages; a production cupsd
    # does not, and the comparison should not charge CUPS for our test logging.
    cupsd.cupsd_conf.write_text(
        cupsd.cupsd_conf.read_text().replace("LogLevel debug", "LogLevel warn")
    )
    stack.callback(cupsd.stop)
    cupsd.start()
    made = cupsd.run("lpadmin", "-p", "q1", "-E", "-v", f"socket://127.0.0.1:{device.port}")
    if made.returncode != 0:
        raise RuntimeError(f"lpadmin failed: {made.stderr}")
    return Target(f"ipp://127.0.0.1:{cupsd.port}/printers/q1", device)


def run(work: Path, quick: bool) -> list[Row]:
    size, reps = (8 * MB, 1) if quick else (64 * MB, 5)
    document = work / "direct.bin"
    make_file(document, size)
    warm = work / "warm.bin"
    make_file(warm, 4096)
    missing = cups_missing()
    mine: list[float] = []
    theirs: list[float] = []
    with ExitStack() as stack:
        targets = [ours(stack, work)] + ([] if missing else [cups(stack, work)])
        for target in targets:
            target.print(warm)  # connections, imports, the first job's set-up
        # Alternated, so load from elsewhere on the machine falls on both alike.
        for _ in range(reps):
            mine.append(targets[0].print(document))
            if not missing:
                theirs.append(targets[1].print(document))
    document.unlink()
    ours_s = statistics.median(mine)
    cups_s = statistics.median(theirs) if theirs else None
    return [
        Row(
            f"direct_print_{size // MB}MB_s",
            ours_s,
            cups_s,
            "lower",
            goal="< CUPS raw queue",
            met=None if cups_s is None else ours_s < cups_s,
            note=missing
            or f"submit to printer-has-all-bytes, median of {reps}; baseline private cupsd raw "
            "queue (socket://) to the same kind of virtual printer",
            extra={"size_mb": size // MB, "runs_s": mine, "baseline_runs_s": theirs},
        )
    ]
