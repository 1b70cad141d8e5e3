"""``GET /jobs``, ``GET /jobs/{id}/trace`` and ``POST /jobs/{id}/cancel``: each user sees,
traces and cancels only their own jobs.

A job is the caller's when its owner is their OS user name or the server user that name is
mapped to by custom login (services/core/users.py); root and the admin token see all. Someone
else's job answers 404, exactly like a job that does not exist, so job ids of other users
cannot be probed.

A job's id here is its uuid (``JobInfo.id``), as on every other wire; ``JobInfo.ipp_job_id``
is the number ``lp`` showed, so a person can tell which job is which. An id that is not a job
id at all (the row number, a typo) is a 404 ``no-such-job`` like an unknown one.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import JOB_ID_PATTERN
from protocol.states import TERMINAL, TRANSITIONS, JobState
from services.api.audit import entry
from services.api.auth import Caller, CallerDep, TokenCallerDep
from services.api.context import Facade, FacadeDep
from services.api.errors import ApiError, responses
from services.api.models import JobInfo, JobTrace, TraceEvent
from services.core import jobs, users
from services.core.messages import JobStateChanged
from services.core.store import Job, Printer

router = APIRouter(tags=["jobs"])
# Checked by the handler, not by FastAPI: a malformed id names no job, a 404, not a 422.
JobId = Annotated[str, Path(description="the job's uuid (JobInfo.id)")]


def owners(facade: Facade, caller: Caller, mine: bool = False) -> set[str] | None:
    """The owner names that are the caller's, or None for "everyone's" (admins, unless they
    ask for their own only)."""
    if caller.admin and not mine:
        return None
    names = {caller.user}
    mapped = users.load_map(facade.store).get(caller.user)
    if mapped:
        names.add(mapped)
    return names


def _port_kinds(session: Session) -> dict[str, str]:
    """Each port's kind by name: how a held job is released depends on it (JobInfo.port_kind)."""
    return dict(session.execute(select(Printer.name, Printer.kind)).tuples().all())


def _info(job: Job, kinds: dict[str, str]) -> JobInfo:
    return JobInfo(
        id=job.uuid,
        ipp_job_id=job.id,
        printer=job.printer,
        owner=job.owner,
        name=job.name,
        state=JobState(job.state).keyword,
        state_reasons=[r for r in job.state_reasons.split(",") if r],
        state_message=job.state_message,
        route=job.route,
        size=job.size,
        created_at=job.created_at,
        completed_at=job.completed_at,
        port_kind=kinds.get(job.printer),
    )


def _list(facade: Facade, caller: Caller, only_mine: bool) -> list[JobInfo]:
    mine = owners(facade, caller, only_mine)
    query = select(Job).order_by(Job.id)
    if mine is not None:
        query = query.where(Job.owner.in_(mine))
    with facade.store.session() as session:
        kinds = _port_kinds(session)
        return [_info(job, kinds) for job in session.scalars(query)]


@router.get("/jobs", responses=responses(403))
async def list_jobs(facade: FacadeDep, caller: CallerDep, mine: bool = False) -> list[JobInfo]:
    """The caller's jobs, oldest first. Root and the admin token see all jobs unless they ask
    for ``mine``: the tray always does, so a tray run as root announces only root's jobs."""
    return await asyncio.to_thread(_list, facade, caller, mine)


def _find(session: Session, job_id: str, mine: set[str] | None) -> Job:
    """The caller's job with this uuid, or the 404 for unknown, malformed and other's ids."""
    job = None
    if re.fullmatch(JOB_ID_PATTERN, job_id):
        query = select(Job).where(Job.uuid == job_id).execution_options(populate_existing=True)
        job = session.scalars(query).one_or_none()
    if job is None or (mine is not None and job.owner not in mine):
        # Not echoed whole: it came from the caller and may be anything up to a URL's length.
        raise ApiError(404, "no-such-job", f"no job {job_id[:64]}")
    return job


def _trace(facade: Facade, caller: Caller, job_id: str) -> JobTrace:
    mine = owners(facade, caller)
    with facade.store.session() as session:
        job = _find(session, job_id, mine)
        events = [
            TraceEvent(at=e.at, event=e.event, detail=e.detail) for e in jobs.trace(session, job.id)
        ]
        return JobTrace(job=_info(job, _port_kinds(session)), events=events)


@router.get("/jobs/{job_id}/trace", responses=responses(403, 404))
async def job_trace(job_id: JobId, facade: FacadeDep, caller: CallerDep) -> JobTrace:
    """What happened to one of the caller's jobs, oldest first: captured, stored, held,
    reported, released, each route chosen and why, each attempt and its error, and how it
    ended. 404 for unknown or someone else's job, as for cancel."""
    return await asyncio.to_thread(_trace, facade, caller, job_id)


def _cancel(facade: Facade, caller: Caller, job_id: str) -> tuple[JobInfo, str]:
    """Cancel with compare-and-set, retried when delivery moves the job meanwhile; the job as
    it is now and the reasons given."""
    mine = owners(facade, caller)
    reasons = "job-canceled-by-operator" if mine is None else "job-canceled-by-user"
    with facade.store.session() as session:
        for _attempt in range(3):
            job = _find(session, job_id, mine)
            state = JobState(job.state)
            if state in TERMINAL or JobState.CANCELED not in TRANSITIONS[state]:
                # For people: the number lp showed them.
                raise ApiError(409, "job-finished", f"job {job.id} is already {state.keyword}")
            if jobs.too_late_to_cancel(job):
                raise ApiError(409, "job-printing", f"job {job.id}: {jobs.TOO_LATE}")
            message = f"canceled by {caller.user}"
            if jobs.transition(
                session, job.id, state, JobState.CANCELED, reasons=reasons, message=message
            ):
                detail = f"{job.name!r} of {job.owner} on {job.printer}, was {state.keyword}"
                entry(caller, "job.cancel", job.uuid, detail).add(session)
                session.commit()
                session.refresh(job)
                return _info(job, _port_kinds(session)), reasons
            session.rollback()
    raise ApiError(409, "job-busy", f"job {job_id} is changing state; try again")


@router.post("/jobs/{job_id}/cancel", responses=responses(401, 403, 404, 409))
async def cancel_job(job_id: JobId, facade: FacadeDep, caller: TokenCallerDep) -> JobInfo:
    """Cancel one of the caller's jobs; 404 for unknown or someone else's, 409 when finished."""
    info, reasons = await asyncio.to_thread(_cancel, facade, caller, job_id)
    # The document goes only after the commit: a crash in between leaves an orphan file the
    # spooler removes on start, never a live job without its document.
    await asyncio.to_thread(facade.spool.delete, info.id)
    facade.log.info("job.canceled", job=info.id, user=caller.user, reasons=reasons)
    await facade.publish(JobStateChanged(info.id, int(JobState.CANCELED), reasons))
    return info
