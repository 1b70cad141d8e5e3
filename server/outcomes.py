"""How the jobs an endpoint uploaded ended, for endpoints that have no channel to hear it.

An endpoint shows a job it handed to the server `processing` until the server says how it
ended (docs/DESIGN.md 6). Over the channel that is the `job.outcome` command (server/jobs.py
queues it in the transaction of the job's end); a gateway-mode endpoint asks here instead,
naming the jobs it still waits for. It learns only about jobs it uploaded itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.channel import JobOutcome
from protocol.rest import OutcomesRequest, OutcomesResponse
from protocol.states import TERMINAL_KEYWORDS
from server import access
from server.access import Principal
from server.jobs import OUTCOME
from server.models import Command, Job, now

router = APIRouter(prefix="/api/v1")
# Seconds between a command's created_at and its job's completed_at, both stamped in the one
# transaction; generous, as clocks of two server processes may differ a little.
SLACK = 60.0
EndpointCaller = Annotated[Principal, Depends(access.endpoint)]


@router.post("/endpoint/jobs/outcomes")
def outcomes(body: OutcomesRequest, request: Request, who: EndpointCaller) -> OutcomesResponse:
    """Each asked-about job this endpoint uploaded: its state here and, once it ended, the
    outcome queued for the endpoint (with why). Asking is idempotent; the answer also marks
    those outcomes delivered, so the channel does not send them again later."""
    with access.context(request).store.session() as session:
        rows = session.scalars(
            select(Job).where(
                Job.id.in_(set(body.job_ids)),
                Job.endpoint_id == who.id,
                Job.location == "server",
            )
        ).all()
        ended = {job.id: job.completed_at or 0.0 for job in rows if job.state in TERMINAL_KEYWORDS}
        queued = _queued_outcomes(session, who.id, ended)
        return OutcomesResponse(outcomes=[_outcome(job, queued.get(job.id)) for job in rows])


def _queued_outcomes(
    session: Session, endpoint_id: int, ended: dict[str, float]
) -> dict[str, dict[str, Any]]:
    """The `job.outcome` commands queued for these ended jobs (`ended`: job id -> when it
    ended), marked acked: delivered now. Only commands from around the earliest end are read:
    they were queued in the transaction that ended the job."""
    if not ended:
        return {}
    found: dict[str, dict[str, Any]] = {}
    since = min(ended.values()) - SLACK
    for command in session.scalars(
        select(Command)
        .where(
            Command.endpoint_id == endpoint_id,
            Command.type == OUTCOME,
            Command.created_at >= since,
        )
        .order_by(Command.created_at)
    ):
        job_id = command.body.get("job_id")
        if job_id in ended:
            found[job_id] = command.body
            if command.acked_at is None:
                command.acked_at, command.ok = now(), True
    return found


def _outcome(job: Job, queued: dict[str, Any] | None) -> JobOutcome:
    if queued is not None:
        return JobOutcome.model_validate(queued)
    reasons = [r for r in job.reasons.split(",") if r and r != "none"]
    return JobOutcome(job_id=job.id, state=job.state, reasons=reasons, printer=job.printer_name)
