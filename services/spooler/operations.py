"""IPP operations of our printer objects (RFC 8011 section 4), one function each.

Print-Job is where the "nothing is lost" rule lives: the document is streamed to the spool,
made durable, the row committed, and only then does the client get ``successful-ok``. Any
failure before that leaves nothing behind and answers an IPP error.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from services.core import ipp
from services.core.ipp import Group, IppError, Message, Operation, Status, Tag
from services.core.logs import get_log
from services.core.messages import JobStored
from services.core.messages import Message as BusMessage
from services.core.spool import DocumentTooLarge, Spool
from services.core.states import TERMINAL, JobState
from services.core.store import Job, Store
from services.spooler.printer import DOCUMENT_FORMATS, PrinterObject, select_attributes

log = get_log("spooler")

Body = AsyncIterator[bytes]


@dataclass
class Context:
    """What operations need from the running spooler."""

    store: Store
    spool: Spool
    max_job_size: int
    port: int
    publish: Callable[[BusMessage], Awaitable[None]]


async def dispatch(ctx: Context, request: Message, printer: PrinterObject, body: Body) -> Message:
    check_request(request)
    handler = HANDLERS.get(request.code)
    if handler is None:
        raise IppError(
            Status.SERVER_ERROR_OPERATION_NOT_SUPPORTED, f"operation {request.code:#06x}"
        )
    return await handler(ctx, request, printer, body)


def check_request(request: Message) -> None:
    """RFC 8011 4.1.4: version, request-id, and charset/language first, in that order."""
    if request.version[0] not in (1, 2):
        raise IppError(Status.SERVER_ERROR_VERSION_NOT_SUPPORTED, "IPP/1.x and 2.x only")
    if request.request_id <= 0:
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "request-id must be positive")
    if not request.groups or request.groups[0].tag != Tag.OPERATION:
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "operation attributes must come first")
    names = list(request.groups[0].attributes)
    if names[:2] != ["attributes-charset", "attributes-natural-language"]:
        raise IppError(
            Status.CLIENT_ERROR_BAD_REQUEST,
            "attributes-charset and attributes-natural-language must come first",
        )


async def get_printer_attributes(
    ctx: Context, request: Message, printer: PrinterObject, _body: Body
) -> Message:
    requested = request.operation.attributes.get("requested-attributes")
    queued = await asyncio.to_thread(_queued_jobs, ctx.store, printer.name)
    response = ipp.response(request, Status.OK)
    response.groups.append(
        select_attributes(printer.attributes(queued), requested.values if requested else None)
    )
    return response


async def validate_job(
    _ctx: Context, request: Message, _printer: PrinterObject, _body: Body
) -> Message:
    _job_template(request)
    return ipp.response(request, Status.OK)


async def print_job(ctx: Context, request: Message, printer: PrinterObject, body: Body) -> Message:
    template = _job_template(request)
    job_uuid = str(uuid.uuid4())
    writer = ctx.spool.writer(job_uuid, ctx.max_job_size)
    try:
        async for chunk in body:
            writer.write(chunk)
        await asyncio.to_thread(writer.commit)
    except DocumentTooLarge:
        raise IppError(
            Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE,
            f"document larger than max_job_size ({ctx.max_job_size} bytes)",
        ) from None
    except BaseException:
        writer.abort()  # client gone, disk full, cancelled: nothing of the job stays
        raise
    state = JobState.PENDING_HELD if printer.held else JobState.PENDING
    try:
        job = await asyncio.to_thread(
            _insert_job, ctx.store, job_uuid, printer, template, writer.size, writer.sha256, state
        )
    except BaseException:
        ctx.spool.delete(job_uuid)
        raise
    log.info(
        "job.stored",
        job=job.id,
        uuid=job.uuid,
        printer=printer.name,
        owner=job.owner,
        size=job.size,
        state=state.keyword,
    )
    await ctx.publish(JobStored(job.id, job.uuid, printer.name, int(state)))
    response = ipp.response(request, Status.OK)
    response.groups.append(_job_group(ctx, job))
    return response


def _job_template(request: Message) -> dict[str, object]:
    """The job attributes we keep, checked before a single document byte is read."""
    op = request.operation
    charset = str(op.get("attributes-charset", "")).lower()
    if charset not in ("utf-8", "us-ascii"):
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, f"charset {charset!r} not supported")
    fmt = op.get("document-format", "application/octet-stream")
    if fmt not in DOCUMENT_FORMATS:
        raise IppError(Status.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED, f"format {fmt!r}")
    job = request.group(Tag.JOB) or Group(Tag.JOB)
    impressions = job.get("job-impressions", op.get("job-impressions"))
    return {
        "owner": str(op.get("requesting-user-name") or "anonymous")[:255],
        "name": str(op.get("job-name") or op.get("document-name") or "untitled")[:255],
        "format": fmt,
        "impressions": impressions if isinstance(impressions, int) else None,
    }


def _insert_job(
    store: Store,
    job_uuid: str,
    printer: PrinterObject,
    template: dict[str, object],
    size: int,
    sha256: str,
    state: JobState,
) -> Job:
    now = time.time()
    job = Job(
        uuid=job_uuid,
        printer=printer.name,
        size=size,
        sha256=sha256,
        state=int(state),
        state_reasons="job-hold-until-specified" if printer.held else "none",
        created_at=now,
        updated_at=now,
        **template,
    )
    with store.session() as session:
        session.add(job)
        session.commit()
    return job


def _queued_jobs(store: Store, printer: str) -> int:
    with store.session() as session:
        query = select(func.count(Job.id)).where(
            Job.printer == printer, Job.state.not_in([int(s) for s in TERMINAL])
        )
        return int(session.execute(query).scalar_one())


def _job_group(ctx: Context, job: Job) -> Group:
    g = Group(Tag.JOB)
    g.add("job-id", Tag.INTEGER, job.id)
    g.add("job-uri", Tag.URI, f"ipp://127.0.0.1:{ctx.port}/jobs/{job.id}")
    g.add("job-uuid", Tag.URI, f"urn:uuid:{job.uuid}")
    g.add("job-state", Tag.ENUM, job.state)
    g.add("job-state-reasons", Tag.KEYWORD, *job.state_reasons.split(","))
    return g


Handler = Callable[[Context, Message, PrinterObject, Body], Awaitable[Message]]
HANDLERS: dict[int, Handler] = {
    Operation.PRINT_JOB: print_job,
    Operation.VALIDATE_JOB: validate_job,
    Operation.GET_PRINTER_ATTRIBUTES: get_printer_attributes,
}
