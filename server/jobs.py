"""Job states and the transitions the server allows, as RFC 8011 keywords.

Every state change is a compare-and-set (`UPDATE ... WHERE id = :id AND state = :expected`), so
a replayed or late message can never move a job backwards, and two server tasks racing for the
same job (a release and a cancel, say) cannot both win.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from server.models import Job, now
from services.core.protocol import TERMINAL_STATES

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending-held": frozenset({"pending", "processing", "canceled", "aborted", "completed"}),
    "pending": frozenset({"processing", "pending-held", "canceled", "aborted", "completed"}),
    "processing": frozenset({"processing-stopped", "completed", "canceled", "aborted", "pending"}),
    "processing-stopped": frozenset({"processing", "pending", "canceled", "aborted", "completed"}),
    "canceled": frozenset(),
    "aborted": frozenset(),
    "completed": frozenset(),
}


def allowed(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def transition(
    session: Session,
    job_id: str,
    expected: str,
    new: str,
    *,
    location: str | None = None,
    **values: object,
) -> bool:
    """Move `job_id` from `expected` to `new`; False when someone else moved it first.

    With `location`, only while the job is still there: the check is part of the same
    UPDATE, so a job taken over in between (an endpoint's job uploaded through the gateway)
    is not moved by a decision made about where it was.
    """
    if not allowed(expected, new):
        return False
    stamp = now()
    extra: dict[str, object] = {"updated_at": stamp, **values}
    if new in TERMINAL_STATES:
        extra.setdefault("completed_at", stamp)
    where = [Job.id == job_id, Job.state == expected]
    if location is not None:
        where.append(Job.location == location)
    result = session.execute(
        update(Job)
        .where(*where)
        .values(state=new, **extra)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def follow(
    session: Session, job_id: str, new: str, *, location: str | None = None, **values: object
) -> bool:
    """Apply a state an endpoint reported, from whatever state the row is in, when legal.

    Endpoints own their jobs, so their reports are accepted as long as they move forward;
    a report about a job that is already terminal is ignored (it is a replay).
    """
    job = session.get(Job, job_id)
    if job is None or job.state == new:
        return False
    return transition(session, job_id, job.state, new, location=location, **values)
