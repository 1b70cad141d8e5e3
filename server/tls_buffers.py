"""Read buffers of our TLS connections that grow only for the connections that stream.

asyncio gives every TLS connection a read buffer of 256 KiB, zero-filled and so resident from
the start (``asyncio.sslproto.SSLProtocol.max_size``). An idle channel needs next to none of
it: at 300 channels that buffer was 219 of the 322 KiB one channel cost the server (issue 22,
finding 6). A flat 16 KiB for all made gateway uploads a third slower (201 to 131-145 MB/s for
256 MB on loopback, more and smaller reads), so a connection starts at 16 KiB and its buffer
grows fourfold, up to asyncio's 256 KiB, each time one read fills it.
"""

from __future__ import annotations

import asyncio.sslproto

SMALL = 16 * 1024  # a whole TLS record's payload
LARGE = asyncio.sslproto.SSLProtocol.max_size  # asyncio's own: what a streaming upload gets


class GrowingSSLProtocol(asyncio.sslproto.SSLProtocol):
    """asyncio's TLS protocol, its read buffer starting small (see the module docstring)."""

    max_size = SMALL  # what asyncio allocates when the connection is made

    def buffer_updated(self, nbytes: int) -> None:
        # asyncio asks for max_size each read (get_buffer(-1)) and reallocates when the
        # buffer is smaller, so raising it on this instance is all growing takes.
        if nbytes >= self.max_size and self.max_size < LARGE:
            self.max_size = min(LARGE, self.max_size * 4)
        super().buffer_updated(nbytes)


def install_growing_buffers() -> None:
    """For every TLS connection this process accepts from now on (HTTPS and the gateway):
    asyncio's event loops construct ``sslproto.SSLProtocol`` by that name when one is made."""
    asyncio.sslproto.SSLProtocol = GrowingSSLProtocol  # type: ignore[misc]
