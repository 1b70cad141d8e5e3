"""Raw TCP delivery (port 9100, "AppSocket/JetDirect"): the document bytes and nothing else.

Like every transport it has four steps, ``open``, ``send``, ``finish``, ``abort`` (PAPPL's
device interface). Raw has no acknowledgement, so ``finish`` half-closes and waits for the
printer to close its side: that is the closest thing to "the printer took it" the protocol has.

A printer that reads PJL gets the job's options in a header before the document and the
closing commands after it (``pjl.py``); the document itself passes unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib

from services.core.options import describe
from services.delivery.pjl import Plan
from services.delivery.transport import DeliveryError

# After our half-close, how long the printer may take to close its side. Printers that never
# close are still counted as delivered once this passes: every byte was written and flushed.
FINISH_TIMEOUT = 30.0


class RawTransport:
    def __init__(
        self, host: str, port: int, connect_timeout: float, around: Plan | None = None
    ) -> None:
        self._host = host
        self._port = port
        self._connect_timeout = connect_timeout
        self._around = around or Plan()
        self.not_honoured = [f"{describe(a)} (not offered)" for a in self._around.not_honoured]
        self._writer: asyncio.StreamWriter | None = None
        self._reader: asyncio.StreamReader | None = None

    async def open(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port), self._connect_timeout
            )
        except TimeoutError:
            raise DeliveryError(
                "printer-stopped", f"{self._host}:{self._port}: connect timed out"
            ) from None
        except OSError as exc:
            raise DeliveryError(
                "printer-stopped", f"{self._host}:{self._port}: {exc.strerror or exc}"
            ) from None
        if self._around.header:
            await self.send(self._around.header)

    async def send(self, chunk: bytes) -> None:
        assert self._writer is not None
        try:
            self._writer.write(chunk)
            # drain() is the back-pressure that keeps memory flat: we never read more from the
            # spool than the socket has taken.
            await self._writer.drain()
        except OSError as exc:
            raise DeliveryError("printer-stopped", f"send failed: {exc}") from None

    async def finish(self) -> None:
        assert self._writer is not None and self._reader is not None
        try:
            if self._around.trailer:
                self._writer.write(self._around.trailer)
            self._writer.write_eof()
            await self._writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain_until_eof(), FINISH_TIMEOUT)
        except OSError as exc:
            raise DeliveryError("printer-stopped", f"finish failed: {exc}") from None
        finally:
            self.abort()

    async def _drain_until_eof(self) -> None:
        assert self._reader is not None
        while await self._reader.read(65536):
            pass  # back-channel data (PJL status and the like) is not used yet

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
