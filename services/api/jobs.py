"""``GET /jobs``, ``GET /jobs/{id}/trace`` and ``POST /jobs/{id}/cancel``: each user sees,
traces and cancels only their own jobs.

A job is the caller's when its owner is their OS user name or the server user that name is
mapped to by custom login (services/core/users.py); root and the admin token see all. Someone
else's job answers 404, exactly like a job that does not exist, so job ids of other users
cannot be probed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select

from protocol.states import TERMINAL, TRANSITIONS, JobState
from services.api.audit import entry
from services.api.auth import Caller, CallerDep, TokenCallerDep
from services.api.context import Facade, FacadeDep
from services.api.errors import ApiError, responses
from services.api.models import JobInfo, JobTrace, TraceEvent
from services.core import jobs, users
from services.core.messages import JobStateChanged
from services.core.store import Job

router = APIRouter(tags=["jobs"])
# SQLite integers are 64-bit; a larger id can name no job and must not reach the query.
JobId = Annotated[int, Path(ge=1, le=2**63 - 1)]


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


def _info(job: Job) -> JobInfo:
    return JobInfo(
        id=job.id,
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
    )


def _list(facade: Facade, caller: Caller, only_mine: bool) -> list[JobInfo]:
    mine = owners(facade, caller, only_mine)
    query = select(Job).order_by(Job.id)
    if mine is not None:
        query = query.where(Job.owner.in_(mine))
    with facade.store.session() as session:
        return [_info(job) for job in session.scalars(query)]


@router.get("/jobs", responses=responses(403))
async def list_jobs(facade: FacadeDep, caller: CallerDep, mine: bool = False) -> list[JobInfo]:
    """The caller's jobs, oldest first. Root and the admin token see all jobs unless they ask
    for ``mine``: the tray always does, so a tray run as root announces only root's jobs."""
    return await asyncio.to_thread(_list, facade, caller, mine)


def _trace(facade: Facade, caller: Caller, job_id: int) -> JobTrace:
    mine = owners(facade, caller)
    with facade.store.session() as session:
        job = session.get(Job, job_id)
        if job is None or (mine is not None and job.owner not in mine):
            raise ApiError(404, "no-such-job", f"no job {job_id}")
        events = [
            TraceEvent(at=e.at, event=e.event, detail=e.detail) for e in jobs.trace(session, job_id)
        ]
        return JobTrace(job=_info(job), events=events)


@router.get("/jobs/{job_id}/trace", responses=responses(403, 404))
async def job_trace(job_id: JobId, facade: FacadeDep, caller: CallerDep) -> JobTrace:
    """What happened to one of the caller's jobs, oldest first: captured, stored, held,
    reported, released, each route chosen and why, each attempt and its error, and how it
    ended. 404 for unknown or someone else's job, as for cancel."""
    return await asyncio.to_thread(_trace, facade, caller, job_id)


def _cancel(facade: Facade, caller: Caller, job_id: int) -> tuple[str, str]:
    """Cancel with compare-and-set, retried when delivery moves the job meanwhile."""
    mine = owners(facade, caller)
    reasons = "job-canceled-by-operator" if mine is None else "job-canceled-by-user"
    with facade.store.session() as session:
        for _attempt in range(3):
            job = session.get(Job, job_id, populate_existing=True)
            if job is None or (mine is not None and job.owner not in mine):
                raise ApiError(404, "no-such-job", f"no job {job_id}")
            state = JobState(job.state)
            if state in TERMINAL or JobState.CANCELED not in TRANSITIONS[state]:
                raise ApiError(409, "job-finished", f"job {job_id} is already {state.keyword}")
            message = f"canceled by {caller.user}"
            if jobs.transition(
                session, job_id, state, JobState.CANCELED, reasons=reasons, message=message
            ):
                detail = f"{job.name!r} of {job.owner} on {job.printer}, was {state.keyword}"
                entry(caller, "job.cancel", str(job_id), detail).add(session)
                session.commit()
                return job.uuid, reasons
            session.rollback()
    raise ApiError(409, "job-busy", f"job {job_id} is changing state; try again")


@router.post("/jobs/{job_id}/cancel", responses=responses(401, 403, 404, 409))
async def cancel_job(job_id: JobId, facade: FacadeDep, caller: TokenCallerDep) -> JobInfo:
    """Cancel one of the caller's jobs; 404 for unknown or someone else's, 409 when finished."""
    job_uuid, reasons = await asyncio.to_thread(_cancel, facade, caller, job_id)
    # The document goes only after the commit: a crash in between leaves an orphan file the
    # spooler removes on start, never a live job without its document.
    await asyncio.to_thread(facade.spool.delete, job_uuid)
    facade.log.info("job.canceled", job=job_id, user=caller.user, reasons=reasons)
    await facade.publish(JobStateChanged(job_id, int(JobState.CANCELED), reasons))
    return _info(await asyncio.to_thread(_get, facade, job_id))


def _get(facade: Facade, job_id: int) -> Job:
    with facade.store.session() as session:
        job = session.get(Job, job_id)
        assert job is not None  # rows are never deleted
        return job
