"""A raw TCP (port 9100 style) virtual printer that stores every job it receives as a file.

For the demo and the tests: it behaves like a network printer (reads until the sender closes,
then closes its side) and keeps what it got in ``DIR/job-<n>.prn``, written to a ``.part`` file
first so a reader never sees half a job under the final name. ``--rate`` slows it down the way
a real printer is slower than the network.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from pathlib import Path

from services.core.logs import get_log

log = get_log("virtual-printer")


class VirtualPrinter:
    def __init__(self, directory: Path, rate: int = 0) -> None:
        self.directory = directory
        self.rate = rate  # bytes per second, 0 = as fast as the socket goes
        directory.mkdir(parents=True, exist_ok=True)
        start = len(list(directory.glob("job-*.prn"))) + 1
        self._numbers = itertools.count(start)
        self._connections = itertools.count(1)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        part = self.directory / f"incoming-{next(self._connections)}.part"
        size = 0
        started = time.monotonic()
        with part.open("wb") as f:
            try:
                while chunk := await reader.read(64 * 1024):
                    f.write(chunk)
                    size += len(chunk)
                    if self.rate:
                        ahead = size / self.rate - (time.monotonic() - started)
                        if ahead > 0:
                            await asyncio.sleep(ahead)
            except ConnectionError:
                pass  # the sender died: keep what arrived, as a real printer would print it
            f.flush()
            os.fsync(f.fileno())
        writer.close()
        if size == 0:
            # A connect-and-close is a reachability probe, not a job: real printers print
            # nothing for it either.
            part.unlink()
            return
        # Numbered when complete, so job numbers follow the order jobs finished arriving.
        final = self.directory / f"job-{next(self._numbers):05d}.prn"
        part.rename(final)
        log.info("job.received", file=final.name, size=size)


async def serve(host: str, port: int, directory: Path, rate: int = 0) -> None:
    printer = VirtualPrinter(directory, rate)
    server = await asyncio.start_server(printer.handle, host, port)
    log.info("virtual-printer.listening", host=host, port=port, dir=directory)
    async with server:
        await server.serve_forever()
