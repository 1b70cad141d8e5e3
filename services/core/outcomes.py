"""Applying the server's word on how a job we uploaded ended.

A job handed to the server stays ``processing`` here until the server says it printed it, gave
up on it (with why) or canceled it (docs/DESIGN.md 6). The channel hears that as a
``job.outcome`` command; in gateway mode delivery asks for it over REST. Both apply it here, by
the job's uuid, as often as it arrives: only the first moves the job.
"""

from __future__ import annotations

from protocol.channel import JobOutcome
from protocol.states import TERMINAL, JobState
from services.core import jobs
from services.core.logs import get_log
from services.core.store import Store

log = get_log("outcomes")
# What the owner reads when the server gave no message of its own.
MESSAGES = {
    JobState.COMPLETED: "printed by the server",
    JobState.ABORTED: "the server could not print it",
    JobState.CANCELED: "canceled on the server",
}


def apply(store: Store, outcome: JobOutcome) -> tuple[JobState, str] | None:
    """The job leaves ``processing`` for the outcome's state, with the server's reasons and
    message (what the owner is told); the new state and reasons for the bus. None when there
    is nothing to change: the job is not waiting at the server (unknown, or already ended by
    this same outcome), or the state is not an end (a job still under way on the server)."""
    state = JobState.from_keyword(outcome.state)
    if state not in TERMINAL:
        return None
    reasons = ",".join(outcome.reasons) or "none"
    message = outcome.message or MESSAGES[state]
    with store.session() as session:
        moved = jobs.server_outcome(session, outcome.job_id, state, reasons, message)
        session.commit()
    if moved is None:
        return None
    log.info("job.outcome", job=outcome.job_id, state=state.keyword, reasons=reasons)
    return state, reasons
