"""State changes of the server's jobs: the client's rules (protocol/states.py), as keywords.

The server moves its own jobs (release, Document Output, retention) exactly as the client's
table allows. It follows an endpoint's reports by REACHABLE instead: a report names where a job
is now, not every state it passed through on the endpoint.

Every state change is a compare-and-set (`UPDATE ... WHERE id = :id AND state = :expected`), so
a replayed or late message can never move a job backwards, and two server tasks racing for the
same job (a release and a cancel, say) cannot both win.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from protocol.states import REACHABLE, TERMINAL_KEYWORDS, TRANSITIONS, JobState, Table
from server.models import Job, now


def allowed(current: str, new: str, table: Table = TRANSITIONS) -> bool:
    """Whether `table` lets a job move from `current` to `new` (RFC 8011 keywords)."""
    try:
        return JobState.from_keyword(new) in table[JobState.from_keyword(current)]
    except KeyError:
        return False


def transition(
    session: Session,
    job_id: str,
    expected: str,
    new: str,
    *,
    location: str | None = None,
    table: Table = TRANSITIONS,
    **values: object,
) -> bool:
    """Move `job_id` from `expected` to `new`; False when someone else moved it first.

    With `location`, only while the job is still there: the check is part of the same
    UPDATE, so a job taken over in between (an endpoint's job uploaded through the gateway)
    is not moved by a decision made about where it was.
    """
    if not allowed(expected, new, table):
        return False
    stamp = now()
    extra: dict[str, object] = {"updated_at": stamp, **values}
    if new in TERMINAL_KEYWORDS:
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
    return transition(session, job_id, job.state, new, location=location, table=REACHABLE, **values)
