"""Streaming a spooled document to a transport, after checking it is the one captured.

Before the first byte is sent, the document is read once and checked against the size and
sha256 recorded at capture; a document that changed on disk is aborted, never printed. While
sending, the job's row is looked at every few megabytes so a cancel stops the transfer, and
before the last part the job is marked past cancelling (services/core/jobs.py ``all_sent``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterator

from services.core.spool import Spool, SpoolIntegrityError, SpoolKeyError
from services.core.store import Job
from services.delivery.transport import DeliveryError, Transport

# With 256 KiB chunks: look for a cancel every 4 MiB sent.
CANCEL_CHECK_CHUNKS = 16
# The integrity pre-pass reads in larger blocks: it only hashes, so fewer calls are cheaper,
# and one block is all it ever holds in memory.
VERIFY_CHUNK = 1024 * 1024


class Canceled(Exception):
    """The job left ``processing`` (canceled) while we were sending it."""


def _digest(chunks: Iterator[bytes]) -> tuple[int, str]:
    """Size and sha256 of a stream of chunks, holding one chunk at a time."""
    sha = hashlib.sha256()
    size = 0
    for chunk in chunks:
        sha.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest()


def verify(spool: Spool, job: Job) -> None:
    """Check the spooled document against the size and sha256 recorded at capture.

    One streamed pass before the transport opens: a document that rotted on disk (or was
    changed behind our back) must never reach a printer or the server.
    """
    try:
        size, digest = _digest(spool.read_chunks(job.uuid, VERIFY_CHUNK))
    except FileNotFoundError:
        raise DeliveryError(
            "document-access-error", "the spooled document is missing", final=True
        ) from None
    except SpoolIntegrityError as exc:
        raise DeliveryError(
            "aborted-by-system",
            f"{exc}; the spooled document is corrupt (captured as {job.size} bytes with "
            f"sha256 {job.sha256}); not printed",
            final=True,
        ) from None
    if (size, digest) != (job.size, job.sha256):
        raise DeliveryError(
            "aborted-by-system",
            f"spooled document is corrupt: {size} bytes with sha256 {digest}, "
            f"captured as {job.size} bytes with sha256 {job.sha256}; not printed",
            final=True,
        )


async def send(
    transport: Transport,
    spool: Spool,
    job: Job,
    still_processing: Callable[[], Awaitable[bool]],
    last_part: Callable[[], Awaitable[bool]],
) -> None:
    """Stream the document from the spool; read no faster than the printer takes it.

    Every few megabytes ``still_processing`` is asked whether the job was canceled meanwhile
    (by its owner or the server): then the transfer stops instead of printing a canceled job
    to the end. Before the last part goes, ``last_part`` marks the job as past cancelling
    (False: it was canceled just before), so a cancel is either in time to stop the transfer
    or refused: never "canceled" for a job the printer has whole.
    """
    try:
        # Only now, with somewhere to send it: a job waiting for an unreachable printer is
        # not read again on every retry.
        await asyncio.to_thread(verify, spool, job)
        await transport.open()
        sent = 0
        for number, chunk in enumerate(spool.read_chunks(job.uuid), 1):
            if number % CANCEL_CHECK_CHUNKS == 0 and not await still_processing():
                raise Canceled
            sent += len(chunk)
            if sent >= job.size and not await last_part():  # verify() checked the size
                raise Canceled
            await transport.send(chunk)
        if job.size == 0 and not await last_part():
            raise Canceled
        await transport.finish()
    except FileNotFoundError:
        transport.abort()
        raise DeliveryError(
            "document-access-error", "the spooled document is missing", final=True
        ) from None
    except SpoolIntegrityError as exc:
        # Changed on disk after the check: stop at the bad record, never send the rest.
        transport.abort()
        raise DeliveryError(
            "aborted-by-system", f"{exc}; sending stopped there; not printed whole", final=True
        ) from None
    except SpoolKeyError as exc:
        # The machine key is damaged: the job waits (nothing is lost) until an admin puts
        # the key back; the reason says which file.
        transport.abort()
        raise DeliveryError("document-access-error", str(exc)) from None
    except BaseException:
        transport.abort()
        raise
