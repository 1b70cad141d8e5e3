"""IPP operations of our printer objects (RFC 8011 section 4), one function each, and the
dispatch table. The operations that bring documents in live in ``capture.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select

from protocol.states import TERMINAL, TRANSITIONS, JobState
from services.core import ipp, jobs
from services.core.ipp import IppError, Message, Operation, Status, Tag
from services.core.logs import get_log
from services.core.messages import JobStateChanged
from services.core.store import Job
from services.spooler import job as job_attrs
from services.spooler.capture import create_job, job_template, print_job, send_document
from services.spooler.context import Body, Context, own_job
from services.spooler.groups import select_printer
from services.spooler.printer import PrinterObject

log = get_log("spooler")
TERMINAL_VALUES = [int(s) for s in TERMINAL]


async def dispatch(ctx: Context, request: Message, printer: PrinterObject, body: Body) -> Message:
    check_request(request)
    handler = HANDLERS.get(request.code)
    if handler is None:
        raise IppError(
            Status.SERVER_ERROR_OPERATION_NOT_SUPPORTED, f"operation {request.code:#06x}"
        )
    return await handler(ctx, request, printer, body)


def check_request(request: Message) -> None:
    """RFC 8011 4.1: version, request-id, charset/language first, and a target."""
    if request.version[0] not in (1, 2):
        raise IppError(Status.SERVER_ERROR_VERSION_NOT_SUPPORTED, "IPP/1.x and 2.x only")
    if request.request_id <= 0:
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "request-id must be positive")
    if not request.groups or request.groups[0].tag != Tag.OPERATION:
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "operation attributes must come first")
    op = request.groups[0]
    if list(op.attributes)[:2] != ["attributes-charset", "attributes-natural-language"]:
        raise IppError(
            Status.CLIENT_ERROR_BAD_REQUEST,
            "attributes-charset and attributes-natural-language must come first",
        )
    charset = str(op.get("attributes-charset", "")).lower()
    if charset not in ("utf-8", "us-ascii"):
        raise IppError(Status.CLIENT_ERROR_CHARSET_NOT_SUPPORTED, f"charset {charset!r}")
    if "printer-uri" not in op.attributes and "job-uri" not in op.attributes:
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "printer-uri or job-uri is required")


async def get_printer_attributes(
    ctx: Context, request: Message, printer: PrinterObject, _body: Body
) -> Message:
    requested = request.operation.attributes.get("requested-attributes")
    queued = await asyncio.to_thread(_queued_jobs, ctx, printer.name)
    response = ipp.response(request, Status.OK)
    response.groups.append(
        select_printer(printer.attributes(queued), requested.values if requested else None)
    )
    return response


async def validate_job(
    ctx: Context, request: Message, _printer: PrinterObject, _body: Body
) -> Message:
    job_template(request, ctx.owner(request))
    return ipp.response(request, Status.OK)


async def get_jobs(ctx: Context, request: Message, printer: PrinterObject, _body: Body) -> Message:
    """Only the requesting user's jobs, whatever my-jobs says: on a shared machine (VDI,
    terminal server) nobody lists another user's documents."""
    op = request.operation
    which = op.get("which-jobs", "not-completed")
    if which not in ("not-completed", "completed", "all"):
        raise IppError(Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED, f"{which!r}")
    limit = op.get("limit")
    rows = await asyncio.to_thread(
        _list_jobs,
        ctx,
        printer.name,
        ctx.owner(request),
        which,
        limit if isinstance(limit, int) and limit > 0 else None,
    )
    requested = op.attributes.get("requested-attributes")
    response = ipp.response(request, Status.OK)
    for row in rows:
        group = job_attrs.attributes(row, ctx.port)
        response.groups.append(
            job_attrs.select(
                group, requested.values if requested else None, job_attrs.DEFAULT_GET_JOBS
            )
        )
    return response


async def get_job_attributes(
    ctx: Context, request: Message, printer: PrinterObject, _body: Body
) -> Message:
    job = await own_job(ctx, request, printer)
    requested = request.operation.attributes.get("requested-attributes")
    response = ipp.response(request, Status.OK)
    group = job_attrs.attributes(job, ctx.port)
    response.groups.append(job_attrs.select(group, requested.values if requested else None))
    return response


async def cancel_job(
    ctx: Context, request: Message, printer: PrinterObject, _body: Body
) -> Message:
    job = await own_job(ctx, request, printer)
    await _move(ctx, job, JobState.CANCELED, "job-canceled-by-user", "canceled by its owner")
    ctx.spool.delete(job.uuid)
    return ipp.response(request, Status.OK)


async def hold_job(ctx: Context, request: Message, printer: PrinterObject, _body: Body) -> Message:
    job = await own_job(ctx, request, printer)
    if job.state != JobState.PENDING:
        raise IppError(Status.CLIENT_ERROR_NOT_POSSIBLE, "only pending jobs can be held")
    await _move(ctx, job, JobState.PENDING_HELD, "job-hold-until-specified", "held by owner")
    return ipp.response(request, Status.OK)


async def release_job(
    ctx: Context, request: Message, printer: PrinterObject, _body: Body
) -> Message:
    job = await own_job(ctx, request, printer)
    if job.state != JobState.PENDING_HELD or jobs.INCOMING in job.state_reasons:
        raise IppError(Status.CLIENT_ERROR_NOT_POSSIBLE, "job is not held")
    if printer.held:
        raise IppError(
            Status.CLIENT_ERROR_NOT_POSSIBLE, "jobs of a pull port are released at a printer"
        )
    await _move(ctx, job, JobState.PENDING, "none", "released by owner")
    return ipp.response(request, Status.OK)


async def _move(ctx: Context, job: Job, new: JobState, reasons: str, message: str) -> None:
    """Change a job's state for its owner; the job may move under us (delivery), so the
    compare-and-set is retried against the state it has now."""
    for _attempt in range(3):
        old = JobState(job.state)
        if new == JobState.CANCELED and jobs.too_late_to_cancel(job):
            raise IppError(Status.CLIENT_ERROR_NOT_POSSIBLE, jobs.TOO_LATE)
        if new not in TRANSITIONS[old]:
            raise IppError(Status.CLIENT_ERROR_NOT_POSSIBLE, f"job is {old.keyword}")
        if await asyncio.to_thread(_transition, ctx, job.id, old, new, reasons, message):
            log.info("job.state", job=job.uuid, state=new.keyword, reasons=reasons)
            await ctx.publish(JobStateChanged(job.uuid, int(new), reasons))
            return
        fresh = await asyncio.to_thread(ctx.get_job, job.id)
        assert fresh is not None
        job = fresh
    raise IppError(Status.SERVER_ERROR_BUSY, "job is changing state; try again")


def _transition(
    ctx: Context, job_id: int, old: JobState, new: JobState, reasons: str, message: str
) -> bool:
    with ctx.store.session() as session:
        moved = jobs.transition(session, job_id, old, new, reasons=reasons, message=message)
        session.commit()
        return moved


def _queued_jobs(ctx: Context, printer: str) -> int:
    with ctx.store.session() as session:
        query = select(func.count(Job.id)).where(
            Job.printer == printer, Job.state.not_in(TERMINAL_VALUES)
        )
        return int(session.execute(query).scalar_one())


def _list_jobs(ctx: Context, printer: str, owner: str, which: str, limit: int | None) -> list[Job]:
    query = select(Job).where(Job.printer == printer, Job.owner == owner).order_by(Job.id)
    if which == "not-completed":
        query = query.where(Job.state.not_in(TERMINAL_VALUES))
    elif which == "completed":
        query = query.where(Job.state.in_(TERMINAL_VALUES))
    with ctx.store.session() as session:
        return list(session.scalars(query.limit(limit)))


Handler = Callable[[Context, Message, PrinterObject, Body], Awaitable[Message]]
HANDLERS: dict[int, Handler] = {
    Operation.PRINT_JOB: print_job,
    Operation.VALIDATE_JOB: validate_job,
    Operation.CREATE_JOB: create_job,
    Operation.SEND_DOCUMENT: send_document,
    Operation.CANCEL_JOB: cancel_job,
    Operation.GET_JOB_ATTRIBUTES: get_job_attributes,
    Operation.GET_JOBS: get_jobs,
    Operation.GET_PRINTER_ATTRIBUTES: get_printer_attributes,
    Operation.HOLD_JOB: hold_job,
    Operation.RELEASE_JOB: release_job,
}
