"""Which job goes next: one lane per printer jobs are sent to, first in, first out.

A lane is the printer a job goes to: the printer a pull job was released at (its target), or
else the printer of the job's own port. Within a lane jobs leave strictly in the order they
were captured, one at a time, and a job waiting for its next attempt holds back the jobs
behind it: a user who releases ten jobs gets them in the order printed, never the second
before the first because the first met a jam. Lanes of different printers never wait for
each other.
"""

from __future__ import annotations

import time

from sqlalchemy import func, not_, select

from protocol.states import JobState
from services.core import jobs
from services.core.store import Job, Printer, Store

DUE_STATES = (int(JobState.PENDING), int(JobState.PROCESSING_STOPPED))
# A job's lane, as SQL (the expression, not a constant value).
lane_of_job = func.coalesce(func.json_extract(Job.target, "$.name"), Job.printer)


def due(store: Store) -> tuple[set[str], float | None]:
    """Lanes whose first job is due now, and when the first job of another becomes due.

    Only a lane's first job counts: those behind it wait for it, however due they are.
    """
    now = time.time()
    with store.session() as session:
        rows = session.execute(
            select(lane_of_job, Job.state, Job.next_attempt_at)
            .join(Printer, Printer.name == Job.printer)
            .where(Job.state.in_((*DUE_STATES, int(JobState.PROCESSING))))
            # A job the server has now waits there, not in the lane: the jobs behind it go.
            .where(not_(jobs.waiting_at_server()))
            .order_by(Job.id)
        ).all()
    # A job being sent is its lane's first, never due: its worker goes on with the lane.
    first: dict[str, float] = {}
    for lane, state, at in rows:
        first.setdefault(lane, float("inf") if state == JobState.PROCESSING else at)
    ready = {lane for lane, at in first.items() if at <= now}
    later = [at for at in first.values() if now < at < float("inf")]
    return ready, min(later) if later else None


def next_job(store: Store, lane: str) -> tuple[Job, Printer] | None:
    """The lane's first job if it is due; None when the lane is empty or its first job waits."""
    with store.session() as session:
        row = session.execute(
            select(Job, Printer)
            .join(Printer, Printer.name == Job.printer)
            .where(lane_of_job == lane, Job.state.in_(DUE_STATES))
            .order_by(Job.id)
            .limit(1)
        ).first()
        if row is None or row[0].next_attempt_at > time.time():
            return None
        return row[0], row[1]
