"""Raw capture (port 9100 style) on ``raw_capture_port``, for applications and systems that can
only print to a socket. Everything the sender writes until it closes is one job for one
configured printer.

Raw has no attributes, so the job name comes from a PJL header when the driver wrote one
(``@PJL JOB NAME="..."``), else "raw job". The owner is the OS user the kernel names as the
sender (caller.py), asked as soon as the connection is accepted; the PJL ``SET USERNAME`` is
believed only from root and CUPS's lp, as requesting-user-name is. A sender the kernel no longer
knows (it wrote everything and closed before we asked) prints as "anonymous": the job is kept,
but no user can see or cancel it, since nobody can show it was theirs. A connection that ends
with an error (reset) is an interrupted upload and leaves nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable

from services.core.ipp import IppError
from services.core.logs import get_log
from services.spooler.caller import UNKNOWN, connection_user
from services.spooler.capture import capture_job
from services.spooler.context import Context
from services.spooler.printer import PrinterObject

log = get_log("spooler")
CHUNK = 256 * 1024
_PJL_USER = re.compile(rb'@PJL\s+SET\s+USERNAME\s*=\s*"([^"\r\n]{1,255})"', re.IGNORECASE)
_PJL_JOB = re.compile(rb'@PJL\s+JOB\s+NAME\s*=\s*"([^"\r\n]{1,255})"', re.IGNORECASE)


def pjl_template(head: bytes) -> dict[str, object]:
    """Owner and job name from a PJL header in the first bytes, if any."""
    user, name = _PJL_USER.search(head), _PJL_JOB.search(head)
    return {
        "owner": user.group(1).decode("utf-8", "replace") if user else "anonymous",
        "name": name.group(1).decode("utf-8", "replace") if name else "raw job",
        "format": "application/octet-stream",
        "impressions": None,
    }


class RawCapture:
    def __init__(
        self,
        ctx: Context,
        port: int,
        printer_name: Callable[[], str | None],
        lookup: Callable[[str], Awaitable[PrinterObject | None]],
        stall_timeout: float,
        max_connections: int,
    ) -> None:
        self._ctx = ctx
        self._port = port
        self._printer_name = printer_name
        self._lookup = lookup
        # The same limits as the HTTP listeners (http_body_timeout, http_max_connections): a
        # sender that stops sending is an abandoned upload, and a flood is refused at once.
        self._stall_timeout = stall_timeout
        self._max_connections = max_connections
        self._open = 0

    async def serve(self) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", self._port)
        log.info("raw-capture.listening", port=self._port)
        async with server:
            await server.serve_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._open >= self._max_connections:
            log.warning("raw-capture.refused", reason="too many connections")
            writer.close()
            return
        self._open += 1
        try:
            await self._capture(reader, writer)
        finally:
            self._open -= 1
            writer.close()

    async def _capture(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            # Asked before reading: a sender that has written everything may close at any time,
            # and the kernel forgets a closed socket's owner.
            sender = await connection_user(
                writer.get_extra_info("peername"), writer.get_extra_info("sockname")
            )
            first = await self._read(reader)
            if not first:
                return  # a connect-and-close probe, not a job
            name = self._printer_name()
            printer = await self._lookup(name) if name else None
            if printer is None:
                log.warning("raw-capture.refused", reason="no printer configured for raw capture")
                return
            template = pjl_template(first)
            if sender == UNKNOWN:
                log.warning("raw-capture.sender-unknown", printer=printer.name)
                template["owner"] = "anonymous"
            elif sender is not None:
                template["owner"] = sender  # the PJL name is a claim: believed from root, lp only
            owner = str(template["owner"])
            template["owner"] = self._ctx.user_map.get(owner, owner)  # custom login
            job = await capture_job(self._ctx, printer, template, self._chunks(first, reader))
            log.info("raw-capture.stored", job=job.uuid, ipp_job_id=job.id, printer=printer.name)
        except TimeoutError:
            log.warning("raw-capture.abandoned", reason=f"stalled for {self._stall_timeout:g} s")
        except (ConnectionError, IppError) as exc:
            log.warning("raw-capture.abandoned", reason=str(exc))

    async def _read(self, reader: asyncio.StreamReader) -> bytes:
        return await asyncio.wait_for(reader.read(CHUNK), self._stall_timeout)

    async def _chunks(self, first: bytes, reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        yield first
        while chunk := await self._read(reader):
            yield chunk
