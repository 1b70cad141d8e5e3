"""The operations that bring a document in: Print-Job, Create-Job and Send-Document.

This is where "nothing is lost" lives: the document is streamed to the spool, made durable,
the row committed, and only then does the client get ``successful-ok``. Any failure before
that leaves nothing behind and answers an IPP error.
"""

from __future__ import annotations

import asyncio
import errno
import time
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.states import TERMINAL, JobState
from services.core import ipp, jobs, outbox
from services.core.capabilities import decode_attributes
from services.core.ipp import Group, IppError, Message, Status, Tag
from services.core.logs import get_log
from services.core.messages import JobStored
from services.core.spool import DocumentTooLarge
from services.core.store import Job, Store
from services.spooler import job as job_attrs
from services.spooler import template as job_options
from services.spooler.context import Body, Context, own_job
from services.spooler.printer import PrinterObject

log = get_log("spooler")
INCOMING = jobs.INCOMING
# Check free disk every this many bytes while a document streams in.
DISK_CHECK_EVERY = 8 * 1024 * 1024


def job_template(request: Message, owner: str, printer: PrinterObject) -> dict[str, object]:
    """The job attributes we keep, checked before a single document byte is read."""
    op = request.operation
    fmt = document_format(op.get("document-format", printer.document_format_default), printer)
    compression = op.get("compression", "none")
    if compression != "none":
        raise IppError(Status.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED, f"{compression!r}")
    job = request.group(Tag.JOB) or Group(Tag.JOB)
    impressions = job.get("job-impressions", op.get("job-impressions"))
    return {
        "owner": owner,
        "name": str(op.get("job-name") or op.get("document-name") or "untitled")[:255],
        "format": fmt,
        "impressions": impressions if isinstance(impressions, int) else None,
    }


def document_format(fmt: object, printer: PrinterObject) -> str:
    """``fmt`` if the port presents it in document-format-supported; else refused as RFC 8011
    says, before a byte is stored: a printer that takes only PDF would abort the job at
    delivery, long after the sender could have chosen another format."""
    if not isinstance(fmt, str) or not printer.takes(fmt):
        raise IppError(
            Status.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
            f"format {fmt!r}; {printer.name} takes {', '.join(printer.document_formats)}",
        )
    return fmt


async def print_job(ctx: Context, request: Message, printer: PrinterObject, body: Body) -> Message:
    template = job_template(request, ctx.owner(request), printer)
    checked = job_options.check(request, printer)
    if checked.refused:  # before a document byte is read: nothing is stored
        return job_options.answer(request, checked)
    template["options"] = checked.encoded()
    job = await capture_job(ctx, printer, template, body, hold=checked.hold)
    return job_response(ctx, request, job, checked)


async def capture_job(
    ctx: Context,
    printer: PrinterObject,
    template: dict[str, object],
    body: Body,
    *,
    hold: bool = False,
) -> Job:
    """Store a whole job (document, then row) and announce it; shared with raw capture.
    ``hold``: job-hold-until indefinite on a port that otherwise prints at once."""
    ctx.check_free_disk()
    job_uuid = str(uuid.uuid4())
    size, sha256 = await store_document(ctx, job_uuid, body)
    state = JobState.PENDING_HELD if printer.held else JobState.PENDING
    now = time.time()
    job = Job(
        uuid=job_uuid,
        printer=printer.name,
        size=size,
        sha256=sha256,
        state=int(state),
        state_reasons=_waiting_reason(printer),
        created_at=now,
        updated_at=now,
        **template,
    )
    try:
        await asyncio.to_thread(_insert, ctx, job, hold)
    except BaseException:
        ctx.spool.delete(job_uuid)
        raise
    await _announce(ctx, job)
    return job


async def create_job(
    ctx: Context, request: Message, printer: PrinterObject, _body: Body
) -> Message:
    """A job without its document yet: held as ``job-incoming`` so nothing delivers it, and
    aborted if Send-Document does not follow within multiple-operation-time-out."""
    template = job_template(request, ctx.owner(request), printer)
    checked = job_options.check(request, printer)
    if checked.refused:
        return job_options.answer(request, checked)
    template["options"] = checked.encoded()
    ctx.check_free_disk()
    now = time.time()
    job = Job(
        uuid=str(uuid.uuid4()),
        printer=printer.name,
        size=0,
        sha256="",
        state=int(JobState.PENDING_HELD),
        state_reasons=INCOMING,
        created_at=now,
        updated_at=now,
        **template,
    )
    await asyncio.to_thread(_insert, ctx, job, False)
    log.info("job.created", job=job.uuid, ipp_job_id=job.id, printer=printer.name, owner=job.owner)
    return job_response(ctx, request, job, checked)


async def send_document(
    ctx: Context, request: Message, printer: PrinterObject, body: Body
) -> Message:
    op = request.operation
    job = await own_job(ctx, request, printer)
    if "last-document" not in op.attributes:
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "last-document is required")
    if JobState(job.state) in TERMINAL:
        raise IppError(Status.CLIENT_ERROR_NOT_POSSIBLE, f"job is {JobState(job.state).keyword}")
    if INCOMING not in job.state_reasons:
        raise IppError(
            Status.SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED, "job has its document"
        )
    if op.get("last-document") is not True:
        raise IppError(
            Status.SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED, "one document per job"
        )
    fmt = document_format(op.get("document-format", job.format), printer)
    ctx.check_free_disk()
    size, sha256 = await store_document(ctx, job.uuid, body)
    state = JobState.PENDING_HELD if printer.held else JobState.PENDING
    hold = job_options.holds(printer, decode_attributes(job.options))
    try:
        attached = await asyncio.to_thread(
            _attach, ctx, job, state, printer, (size, sha256, fmt), hold
        )
    except BaseException:
        ctx.spool.delete(job.uuid)
        raise
    if not attached:  # canceled or timed out while the document was arriving
        ctx.spool.delete(job.uuid)
        raise IppError(Status.SERVER_ERROR_JOB_CANCELED, "job was canceled meanwhile")
    job = await asyncio.to_thread(ctx.get_job, job.id)
    assert job is not None
    await _announce(ctx, job)
    return job_response(ctx, request, job)


async def store_document(ctx: Context, job_uuid: str, body: Body) -> tuple[int, str]:
    """Stream ``body`` into the spool and make it durable; returns (size, sha256)."""
    writer = ctx.spool.writer(job_uuid, ctx.max_job_size)
    next_check = DISK_CHECK_EVERY
    try:
        async for chunk in body:
            writer.write(chunk)
            if writer.size >= next_check:
                ctx.check_free_disk()
                next_check += DISK_CHECK_EVERY
        if writer.size == 0:
            # Nothing would reach the printer, yet the job would end "printed" (issue 20).
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "the document is empty")
        await asyncio.to_thread(writer.commit)
    except DocumentTooLarge:
        raise IppError(
            Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE,
            f"document larger than max_job_size ({ctx.max_job_size} bytes)",
        ) from None
    except OSError as exc:
        writer.abort()
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # RFC 8011 B.1.5.6 names a disk full condition as server-error-temporary-error:
            # the client may send the same request again later.
            raise IppError(
                Status.SERVER_ERROR_TEMPORARY_ERROR,
                f"spool disk full after {writer.size} bytes; nothing was kept, try again later",
            ) from None
        raise
    except BaseException:
        writer.abort()  # client gone, disk nearly full, cancelled: nothing of the job stays
        raise
    return writer.size, writer.sha256


def job_response(
    ctx: Context, request: Message, job: Job, checked: job_options.Checked | None = None
) -> Message:
    """The new job's description, after the unsupported-attributes group if there is one."""
    response = job_options.answer(request, checked) if checked else ipp.response(request, Status.OK)
    response.groups.append(
        job_attrs.select(
            job_attrs.attributes(job, ctx.port),
            [
                "job-id",
                "job-uri",
                "job-uuid",
                "job-state",
                "job-state-reasons",
                "job-state-message",
            ],
        )
    )
    return response


def _waiting_reason(printer: PrinterObject) -> str:
    return "job-hold-until-specified" if printer.held else "none"


def _insert(ctx: Context, job: Job, hold: bool) -> None:
    with ctx.store.session() as session:
        session.add(job)
        if job.state == JobState.PENDING_HELD and job.state_reasons != INCOMING:
            session.flush()
            outbox.job_stored(session, job)  # same transaction: the server learns of it
        elif hold:
            session.flush()
            _hold(session, job.id)
            session.refresh(job)
        session.commit()


def _hold(session: Session, job_id: int) -> None:
    """job-hold-until indefinite on a port that prints at once: the job waits for its
    owner's Release-Job, in the transaction that stores it (never printed meanwhile). Not
    reported to the server: it is not a pull job, no printer releases it."""
    jobs.transition(
        session,
        job_id,
        JobState.PENDING,
        JobState.PENDING_HELD,
        reasons="job-hold-until-specified",
        message="held (job-hold-until indefinite) until its owner releases it",
        detail="job-hold-until indefinite: waits for Release-Job",
    )


def _attach(
    ctx: Context,
    job: Job,
    state: JobState,
    printer: PrinterObject,
    document: tuple[int, str, str],
    hold: bool,
) -> bool:
    size, sha, fmt = document
    with ctx.store.session() as session:
        attached = jobs.attach_document(
            session,
            job.id,
            state,
            reasons=_waiting_reason(printer),
            size=size,
            sha256=sha,
            format=fmt,
        )
        if attached and hold:
            _hold(session, job.id)
        if attached and state == JobState.PENDING_HELD:
            stored = session.get(Job, job.id, populate_existing=True)
            assert stored is not None
            outbox.job_stored(session, stored)
        session.commit()
        return attached


async def _announce(ctx: Context, job: Job) -> None:
    log.info(
        "job.stored",
        job=job.uuid,
        ipp_job_id=job.id,
        printer=job.printer,
        owner=job.owner,
        size=job.size,
        state=JobState(job.state).keyword,
    )
    await ctx.publish(JobStored(job.uuid, job.printer, job.state))


def abort_abandoned(store: Store, cutoff: float) -> list[str]:
    """Abort Create-Job jobs created before ``cutoff`` whose Send-Document never came; the
    uuids of those aborted."""
    aborted = []
    with store.session() as session:
        stale = session.execute(
            select(Job.id, Job.uuid).where(
                Job.state == int(JobState.PENDING_HELD),
                Job.state_reasons == INCOMING,
                Job.created_at < cutoff,
            )
        ).all()
        for row_id, job_uuid in stale:
            if jobs.transition(
                session,
                row_id,
                JobState.PENDING_HELD,
                JobState.ABORTED,
                reasons="aborted-by-system",
                message="no document arrived in time",
            ):
                aborted.append(job_uuid)
        session.commit()
    return aborted
