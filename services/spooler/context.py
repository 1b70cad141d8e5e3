"""What the IPP operations need from the running spooler, and the store reads they share."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from services.core.ipp import IppError, Message, Status
from services.core.messages import Message as BusMessage
from services.core.spool import Spool
from services.core.store import Job, Store
from services.spooler.printer import PrinterObject

Body = AsyncIterator[bytes]


@dataclass
class Context:
    store: Store
    spool: Spool
    max_job_size: int
    # Below this many free bytes in the spool's file system we answer server-error-busy
    # rather than fill the disk that holds every user's held jobs.
    min_free_disk: int
    port: int
    publish: Callable[[BusMessage], Awaitable[None]]
    # One request's attributes: at most this many values and bytes, arrived within this
    # many seconds; so a hostile request costs a bounded amount (issue 19, finding 4).
    max_attributes: int
    max_attribute_bytes: int
    attributes_timeout: float
    # Custom login: OS user -> server user. Empty with login_type "os" (names are the same).
    user_map: dict[str, str] = field(default_factory=dict)

    def owner(self, request: Message) -> str:
        """Whose job this is: the server user the requesting OS user logged in as, if any."""
        user = requesting_user(request)
        return self.user_map.get(user, user)

    def check_free_disk(self) -> None:
        free = shutil.disk_usage(self.spool.directory).free
        if free < self.min_free_disk:
            raise IppError(
                Status.SERVER_ERROR_BUSY,
                f"spool disk nearly full ({free // 2**20} MiB free); try again later",
            )

    def get_job(self, job_id: int) -> Job | None:
        with self.store.session() as session:
            return session.get(Job, job_id)


def requesting_user(request: Message) -> str:
    return str(request.operation.get("requesting-user-name") or "anonymous")[:255]


def requested_job_id(request: Message) -> int | None:
    """The job a request names: ``job-id``, or the number ending its ``job-uri``."""
    op = request.operation
    job_id = op.get("job-id")
    if not isinstance(job_id, int) and isinstance(op.get("job-uri"), str):
        tail = op.get("job-uri").rsplit("/", 1)[-1]
        job_id = int(tail) if tail.isascii() and tail.isdigit() and len(tail) <= 9 else None
    if not isinstance(job_id, int) or isinstance(job_id, bool):
        return None
    return job_id


async def own_job(ctx: Context, request: Message, printer: PrinterObject) -> Job:
    """The job the request names, if it is on this printer and the requester owns it."""
    job_id = requested_job_id(request)
    if job_id is None:
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "job-id or job-uri is required")
    job = await asyncio.to_thread(ctx.get_job, job_id)
    if job is None or job.printer != printer.name:
        raise IppError(Status.CLIENT_ERROR_NOT_FOUND, f"no job {job_id} on {printer.name}")
    if job.owner != ctx.owner(request):
        raise IppError(Status.CLIENT_ERROR_NOT_AUTHORIZED, "not your job")
    return job
