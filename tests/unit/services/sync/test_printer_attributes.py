"""Asking a printer is bounded: a peer that floods or stalls is reported, never waited on for
long or held in memory (real loopback sockets standing in for broken printers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from services.sync import printer_attributes

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def ask(handler: Handler) -> str:
    """Start a loopback peer running ``handler``, ask it, and return why it was unreadable."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            with pytest.raises(printer_attributes.Unreadable) as failed:
                await printer_attributes.read(client, "127.0.0.1", port, "/ipp/print")
        return str(failed.value)
    finally:
        server.close()


async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\n\r\n")
    chunk = b"\0" * 65536
    try:
        for _ in range(200):  # 12.5 MiB, more than any printer's answer
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: 99\r\n\r\n")
    try:
        while True:  # one byte now and then: every read returns in time, the answer never
            writer.write(b"\1")
            await writer.drain()
            await asyncio.sleep(0.05)
    except (ConnectionError, asyncio.CancelledError):
        writer.close()


def test_an_answer_larger_than_any_printers_is_refused() -> None:
    assert "larger than" in asyncio.run(ask(flood))


def test_a_printer_that_drips_its_answer_is_given_up(monkeypatch) -> None:
    monkeypatch.setattr(printer_attributes, "DEADLINE", 0.5)
    assert "TimeoutError" in asyncio.run(ask(stall))
