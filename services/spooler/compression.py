"""Compressed documents (RFC 8011 ``compression``: ``deflate`` is RFC 1951, ``gzip`` RFC 1952):
inflated as they stream in, so the spool, the job's size and sha256, and the printer get the
document itself, and the operations never see the compression.

A small request can inflate to gigabytes: each step yields at most ``STEP`` bytes, and the
spool's ``max_job_size`` counts the inflated bytes, so memory and disk stay bounded.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from services.core.ipp import IppError, Message, Status

WBITS = {"deflate": -zlib.MAX_WBITS, "gzip": 16 + zlib.MAX_WBITS}
SUPPORTED = ("deflate", "gzip", "none")
STEP = 256 * 1024


def take(request: Message) -> str | None:
    """The request's ``compression`` when we inflate it, removed from the request: the
    operation then gets the document as it is. Any other value stays, for the operation to
    refuse with client-error-compression-not-supported."""
    attr = request.operation.attributes.get("compression")
    if attr is None or attr.value not in WBITS:
        return None
    del request.operation.attributes["compression"]
    return str(attr.value)


async def inflate(chunks: AsyncIterator[bytes], coding: str) -> AsyncIterator[bytes]:
    """The inflated document; client-error-compression-error when it is not ``coding`` data
    or ends before its end."""
    inflater = zlib.decompressobj(WBITS[coding])
    try:
        async for chunk in chunks:
            if inflater.eof:
                continue  # read the body to its end; bytes after the stream are not ours
            data = inflater.decompress(chunk, STEP)
            while True:
                if data:
                    yield data
                if not inflater.unconsumed_tail:
                    break
                data = inflater.decompress(inflater.unconsumed_tail, STEP)
        rest = inflater.flush()
    except zlib.error:
        raise IppError(
            Status.CLIENT_ERROR_COMPRESSION_ERROR, f"the document is not {coding} data"
        ) from None
    if not inflater.eof:
        raise IppError(Status.CLIENT_ERROR_COMPRESSION_ERROR, f"the {coding} document ends early")
    if rest:
        yield rest
