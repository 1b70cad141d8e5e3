"""IPP operations of our printer objects (RFC 8011 section 4), one function each, and the
dispatch table. The operations that bring documents in live in ``capture.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import Select, func, select

from protocol.states import TERMINAL, TRANSITIONS, JobState
from services.core import ipp, jobs
from services.core.ipp import IppError, Message, Operation, Status, Tag
from services.core.logs import get_log
from services.core.messages import JobStateChanged
from services.core.store import Job
from services.spooler import job as job_attrs
from services.spooler import template as job_options
from services.spooler.capture import create_job, job_template, print_job, send_document
from services.spooler.context import Body, Context, own_job
from services.spooler.groups import select_printer
from services.spooler.identify import identify_printer
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
    if request.code not in printer.operations:  # what operations-supported leaves out
        raise IppError(
            Status.SERVER_ERROR_OPERATION_NOT_SUPPORTED,
            f"{Operation(request.code).name.title().replace('_', '-')}: "
            f"{printer.name} has no IPP printer behind it to pass this on to",
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
    ctx: Context, request: Message, printer: PrinterObject, _body: Body
) -> Message:
    """What Print-Job would answer, storing nothing (RFC 8011 4.2.3)."""
    job_template(request, ctx.owner(request), printer)
    return job_options.answer(request, job_options.check(request, printer))


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
        _job_ids(request),
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
    await _cancel(ctx, job)
    return ipp.response(request, Status.OK)


async def _cancel(ctx: Context, job: Job) -> None:
    await _move(ctx, job, JobState.CANCELED, "job-canceled-by-user", "canceled by its owner")
    ctx.spool.delete(job.uuid)


async def cancel_my_jobs(
    ctx: Context, request: Message, printer: PrinterObject, _body: Body
) -> Message:
    """PWG 5100.11 4.2: the requesting user's jobs on this printer, or those of them
    ``job-ids`` names. Named jobs are checked first, so a request naming one that cannot be
    canceled cancels none; without ``job-ids`` the jobs a printer already has whole are left,
    and the answer says so."""
    owner = ctx.owner(request)
    job_ids = _job_ids(request)
    if job_ids is None:
        rows = await asyncio.to_thread(_list_jobs, ctx, printer.name, owner, "not-completed", None)
        targets = [job for job in rows if not jobs.too_late_to_cancel(job)]
        late = [job.id for job in rows if jobs.too_late_to_cancel(job)]
    else:
        targets = [await _cancelable(ctx, printer, owner, job_id) for job_id in job_ids]
        late = []
    for job in targets:
        try:
            await _cancel(ctx, job)
        except IppError:  # it moved meanwhile (printed whole, or finished)
            late.append(job.id)
    if not late:
        return ipp.response(request, Status.OK)
    return ipp.response(
        request, Status.OK, f"not canceled, {jobs.TOO_LATE}: {', '.join(map(str, late))}"
    )


async def _cancelable(ctx: Context, printer: PrinterObject, owner: str, job_id: int) -> Job:
    job = await asyncio.to_thread(ctx.get_job, job_id)
    if job is None or job.printer != printer.name:
        raise IppError(Status.CLIENT_ERROR_NOT_FOUND, f"no job {job_id} on {printer.name}")
    if job.owner != owner:
        raise IppError(Status.CLIENT_ERROR_NOT_AUTHORIZED, f"job {job_id} is not yours")
    if JobState(job.state) in TERMINAL:
        raise IppError(
            Status.CLIENT_ERROR_NOT_POSSIBLE, f"job {job_id} is {JobState(job.state).keyword}"
        )
    if jobs.too_late_to_cancel(job):
        raise IppError(Status.CLIENT_ERROR_NOT_POSSIBLE, f"job {job_id}: {jobs.TOO_LATE}")
    return job


async def close_job(ctx: Context, request: Message, printer: PrinterObject, _body: Body) -> Message:
    """PWG 5100.11 4.3: no more documents for this job. A job has one document, and is closed
    once it has it; one closed before any document came has nothing to print."""
    job = await own_job(ctx, request, printer)
    state = JobState(job.state)
    if state in TERMINAL:
        raise IppError(Status.CLIENT_ERROR_NOT_POSSIBLE, f"job is {state.keyword}")
    if jobs.INCOMING in job.state_reasons:
        await _move(ctx, job, JobState.ABORTED, "aborted-by-system", "closed without a document")
        return ipp.response(request, Status.OK, "closed without a document: nothing to print")
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


def _list_jobs(
    ctx: Context,
    printer: str,
    owner: str,
    which: str,
    limit: int | None,
    job_ids: list[int] | None = None,
) -> list[Job]:
    query = select(Job).where(Job.printer == printer, Job.owner == owner).order_by(Job.id)
    if job_ids is not None:  # PWG 5100.11: these jobs, whatever which-jobs says
        return _rows(ctx, query.where(Job.id.in_(job_ids)))
    if which == "not-completed":
        query = query.where(Job.state.not_in(TERMINAL_VALUES))
    elif which == "completed":
        query = query.where(Job.state.in_(TERMINAL_VALUES))
    return _rows(ctx, query.limit(limit))


def _rows(ctx: Context, query: Select[tuple[Job]]) -> list[Job]:
    with ctx.store.session() as session:
        return list(session.scalars(query))


def _job_ids(request: Message) -> list[int] | None:
    """The ``job-ids`` operation attribute (PWG 5100.11), or None when absent."""
    attr = request.operation.attributes.get("job-ids")
    if attr is None:
        return None
    if attr.tag != Tag.INTEGER or not all(isinstance(v, int) and v > 0 for v in attr.values):
        raise IppError(
            Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            "job-ids must be positive integers",
        )
    return list(attr.values)


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
    Operation.CANCEL_MY_JOBS: cancel_my_jobs,
    Operation.CLOSE_JOB: close_job,
    Operation.IDENTIFY_PRINTER: identify_printer,
}
