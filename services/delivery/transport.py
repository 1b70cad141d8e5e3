"""What every way of sending a job to a printer has in common (PAPPL's device interface):
``open``, ``send`` a chunk, ``finish``, ``abort``, and one error type that says whether
trying again can help."""

from __future__ import annotations

import asyncio
import contextlib
import socket
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


async def unreachable(host: str, port: int, timeout: float) -> str | None:
    """A bounded TCP connect: the cheapest honest answer to "is the printer there?". None when
    it answered, else what happened, in the words of a trace ("refused the connection")."""
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        return connect_failure(exc, timeout)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


def connect_failure(exc: BaseException, timeout: float) -> str:
    """The error that happened, not a guess: a refusal is not a silence."""
    if isinstance(exc, TimeoutError):
        return f"did not answer within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "refused the connection (nothing listens on that port)"
    if isinstance(exc, socket.gaierror):
        return f"has a name that does not resolve ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot be reached ({exc.strerror.lower()})"
    return f"cannot be reached ({exc})"
