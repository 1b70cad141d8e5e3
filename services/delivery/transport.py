"""What every way of sending a job to a printer has in common (PAPPL's device interface):
``open``, ``send`` a chunk, ``finish``, ``abort``, and one error type that says whether
trying again can help."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol


class DeliveryError(Exception):
    """The printer could not take the job. ``reason`` is an RFC job-state-reason keyword;
    ``final`` means sending the same bytes again cannot succeed (the job is aborted)."""

    def __init__(self, reason: str, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.final = final


class Transport(Protocol):
    async def open(self) -> None: ...

    async def send(self, chunk: bytes) -> None: ...

    async def finish(self) -> None: ...

    def abort(self) -> None: ...


async def reachable(host: str, port: int, timeout: float) -> bool:
    """A bounded TCP connect: the cheapest honest answer to "is the printer there?"."""
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
