"""State changes of the server's jobs: the client's rules (protocol/states.py), as keywords.

The server moves its own jobs (release, Document Output, retention) exactly as the client's
table allows. It follows an endpoint's reports by REACHABLE instead: a report names where a job
is now, not every state it passed through on the endpoint.

Every state change is a compare-and-set (`UPDATE ... WHERE id = :id AND state = :expected`), so
a replayed or late message can never move a job backwards, and two server tasks racing for the
same job (a release and a cancel, say) cannot both win.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from protocol.channel import JobOutcome
from protocol.states import REACHABLE, TERMINAL_KEYWORDS, TRANSITIONS, JobState, Table
from server import commands, store
from server.models import Job, now

OUTCOME = "job.outcome"


def insert(session: Session, values: dict[str, Any]) -> Job | None:
    """The job row inserted with `values`, or None when a row with its id exists: also one
    another transaction (an upload, a channel report) is inserting at this moment, which a
    plain INSERT would meet as an IntegrityError. The caller then reads the row (`locked`)."""
    at = now()
    row = {"created_at": at, "updated_at": at, "attempts": 0, **values}
    statement = store.insert(session, Job).values(**row).on_conflict_do_nothing()
    if session.execute(statement.returning(Job.id)).first() is None:
        return None
    return session.get(Job, values["id"], populate_existing=True)


def locked(session: Session, job_id: str) -> Job | None:
    """The job row as committed, locked until this transaction ends (on PostgreSQL; SQLite
    has one writer anyway), so what the caller decides from it still holds at its commit."""
    return session.get(Job, job_id, with_for_update=True, populate_existing=True)


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
    message: str = "",
    **values: object,
) -> bool:
    """Move `job_id` from `expected` to `new`; False when someone else moved it first.

    With `location`, only while the job is still there: the check is part of the same
    UPDATE, so a job taken over in between (an endpoint's job uploaded through the gateway)
    is not moved by a decision made about where it was.

    A job an endpoint uploaded that ends here (printed, given up, canceled, expired) queues a
    `job.outcome` for that endpoint in this same transaction, with `message` saying why: the
    endpoint shows the job `processing` until it hears how it ended (docs/DESIGN.md 6).
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
    if result.rowcount != 1:
        return False
    if new in TERMINAL_KEYWORDS and table is TRANSITIONS:
        tell_endpoint(session, job_id, new, message)
    return True


def tell_endpoint(session: Session, job_id: str, state: str, message: str) -> None:
    """Queue the outcome of a job the server got from an endpoint (location `server`, with
    the endpoint that uploaded it). Reports an endpoint made itself (`follow`) are not echoed:
    the endpoint knows those already."""
    row = session.execute(
        select(Job.location, Job.endpoint_id, Job.reasons, Job.printer_name).where(Job.id == job_id)
    ).one()
    if row.location != "server" or row.endpoint_id is None:
        return
    outcome = JobOutcome(
        job_id=job_id,
        state=state,
        reasons=[r for r in row.reasons.split(",") if r and r != "none"],
        message=message[:1024],
        printer=row.printer_name,
    )
    commands.queue(session, row.endpoint_id, OUTCOME, outcome.model_dump())


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
