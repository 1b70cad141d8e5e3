"""The one place that changes a job's state, and the job's trace.

Every change is a compare-and-set (``UPDATE ... WHERE id = :id AND state = :expected``) so a
replayed or late message can never move a job backwards, and two processes racing for one job
cannot both win. The allowed transitions are the table in ``states.py``.

Each change also writes one ``job_events`` row in the same transaction, so the trace can never
say something happened that the store does not show, or miss a change it does. ``record``
adds the events that change no state (the route chosen and why, the server acknowledging the
job). The first rows (captured, stored, held) are written by the insert trigger of migration V3.
"""

from __future__ import annotations

import time

from sqlalchemy import ColumnElement, and_, func, insert, not_, or_, select, update
from sqlalchemy.orm import Session

from protocol.states import TERMINAL, IllegalTransition, JobState, check
from services.core import outbox
from services.core.store import Job, JobEvent

S = JobState
# The trace's word for a change when the caller names none: by the new state, and for the two
# ways into ``pending`` by where it came from.
EVENTS: dict[tuple[JobState | None, JobState], str] = {
    (S.PENDING_HELD, S.PENDING): "released",
    (S.PROCESSING, S.PENDING): "requeued",
    (None, S.PENDING): "queued",
    (None, S.PENDING_HELD): "held",
    (None, S.PROCESSING): "attempt",
    (None, S.PROCESSING_STOPPED): "attempt-failed",
    (None, S.COMPLETED): "delivered",
    (None, S.ABORTED): "aborted",
    (None, S.CANCELED): "canceled",
}
# Events after which the backoff starts again from its first step (``failures_in_a_row``).
FRESH_START = ("reset", "woke")
# The trace events of a job that keeps finding its printer stopped: they continue one stretch
# of waiting; any other event (a failure of another kind, a reset, a wake) ends it.
STOPPED_STRETCH = ("printer-stopped", "attempt", "route", "requeued", "reported")


def event_for(old: JobState, new: JobState) -> str:
    return EVENTS.get((old, new)) or EVENTS[(None, new)]


def record(session: Session, job_id: int, event: str, detail: str = "") -> None:
    """Add one line to a job's trace (in the caller's transaction; the caller commits)."""
    session.execute(
        insert(JobEvent).values(job_id=job_id, at=time.time(), event=event, detail=detail[:1024])
    )


def trace(session: Session, job_id: int) -> list[JobEvent]:
    """A job's trace, oldest first."""
    return list(
        session.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id))
    )


def failures_in_a_row(session: Session, job_id: int) -> int:
    """Failed attempts since the job last started afresh (a printer reset, a wake from sleep):
    the exponent of its backoff, so a reset job that fails again waits one second, not the
    maximum its attempt number would give."""
    since = session.scalar(
        select(func.max(JobEvent.id)).where(
            JobEvent.job_id == job_id, JobEvent.event.in_(FRESH_START)
        )
    )
    return int(
        session.scalar(
            select(func.count(JobEvent.id)).where(
                JobEvent.job_id == job_id,
                JobEvent.event == "attempt-failed",
                JobEvent.id > (since or 0),
            )
        )
        or 0
    )


def stopped_since(session: Session, job_id: int) -> float | None:
    """When delivery first found the job's printer stopped, in the stretch of attempts that
    has found it stopped ever since: what ``stopped_timeout`` counts from. Read from the trace,
    so it survives a restart of delivery and starts again after a reset or a wake."""
    ended = session.scalar(
        select(func.max(JobEvent.id)).where(
            JobEvent.job_id == job_id, JobEvent.event.not_in(STOPPED_STRETCH)
        )
    )
    return session.scalar(
        select(func.min(JobEvent.at)).where(
            JobEvent.job_id == job_id,
            JobEvent.event == "printer-stopped",
            JobEvent.id > (ended or 0),
        )
    )


def stopped_at(session: Session, printer: str | None = None) -> list[int]:
    """The ``processing-stopped`` jobs (waiting to be tried again), all or those waiting for
    ``printer``: the jobs of that input port and the pull jobs released to a printer of that
    name."""
    query = select(Job.id).where(Job.state == int(JobState.PROCESSING_STOPPED))
    if printer is not None:
        query = query.where(
            or_(Job.printer == printer, func.json_extract(Job.target, "$.name") == printer)
        )
    return list(session.scalars(query.order_by(Job.id)))


def uuids(session: Session, row_ids: list[int]) -> list[str]:
    """The uuids of these rows, in their order: how the jobs are named outside the store."""
    by_row = dict(session.execute(select(Job.id, Job.uuid).where(Job.id.in_(row_ids))).all())
    return [by_row[row_id] for row_id in row_ids if row_id in by_row]


def reset_printer(session: Session, printer: str, who: str) -> list[int]:
    """``pullprint printer reset`` / ``POST /printers/{name}/reset``: every job stuck waiting
    for this printer is due now, its backoff starting again from one second. The caller
    commits and then wakes delivery."""
    detail = f"printer {printer} reset by {who}: retrying now"
    return [j for j in stopped_at(session, printer) if retry_now(session, j, "reset", detail)]


def retry_now(session: Session, job_id: int, event: str, detail: str) -> bool:
    """A ``processing-stopped`` job becomes due at once (printer reset, wake from sleep).

    The state stays: RFC 8011 takes processing-stopped back to processing, which delivery does
    within moments. Only the wait ends, and the trace says why. False when the job was no
    longer waiting (delivery took it, or someone canceled it)."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == int(JobState.PROCESSING_STOPPED))
        .values(next_attempt_at=0.0, updated_at=time.time())
    )
    if result.rowcount != 1:
        return False
    record(session, job_id, event, detail)
    return True


# RFC 8011 5.3.8 "job-queued-for-marker": the last part of the document is on its way to the
# printer. From then on a cancel cannot stop the job, so it is refused rather than reported.
ALL_SENT = "job-queued-for-marker"
TOO_LATE = (
    "the printer (or the server that prints it) already has it whole; "
    "it can no longer be canceled here"
)


def waiting_at_server() -> ColumnElement[bool]:
    """The jobs handed to the server (uploaded through its gateway), as SQL: ``processing``
    with an uploaded route, which only ``handed_to_server`` writes. No other process may move
    them: the server prints them, and only its outcome (``server_outcome``) ends them here.
    The route column marks them (docs/DESIGN.md 6 says why not a reason keyword)."""
    # coalesce: a NULL route must make this false, not NULL, or its negation drops the row.
    uploaded = func.coalesce(Job.route, "").in_(outbox.UPLOADED_ROUTES)
    return and_(Job.state == int(S.PROCESSING), uploaded)


def at_server(job: Job) -> bool:
    return job.state == int(S.PROCESSING) and job.route in outbox.UPLOADED_ROUTES


def handed_to_server(
    session: Session, job_id: int, route: str, reasons: str, message: str, detail: str
) -> bool:
    """The server's gateway has stored the whole job (its reply comes after its fsync and
    commit): the job stays ``processing``, now waiting at the server, with ``reasons`` and
    ``message`` saying where (held for release there, or printing at a printer). Not
    ``completed``: the server has not printed it yet. False when it was no longer processing."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == int(S.PROCESSING), not_(waiting_at_server()))
        .values(route=route, state_reasons=reasons, state_message=message, updated_at=time.time())
    )
    if result.rowcount != 1:
        return False
    record(session, job_id, "uploaded", detail)
    return True


def server_outcome(
    session: Session, job_uuid: str, new: JobState, reasons: str, message: str
) -> int | None:
    """The server says how a job we handed it ended: ``processing`` -> ``new`` (completed,
    aborted or canceled) with its reasons and message. The row id when it moved; None when the
    job is not waiting at the server (unknown, or the outcome was applied already: outcomes
    arrive at least once)."""
    if new not in TERMINAL:
        raise IllegalTransition(f"outcome {new.keyword}")
    check(S.PROCESSING, new)
    # Or still waiting for the gateway's ack of its last part: the server may print the job
    # and its outcome reach us before delivery has written down that the upload is done.
    # That the server tells how the job ended proves the server had all of it.
    ours = or_(
        waiting_at_server(), and_(Job.state == int(S.PROCESSING), Job.state_reasons == ALL_SENT)
    )
    job_id = session.scalar(select(Job.id).where(Job.uuid == job_uuid, ours))
    if job_id is None:
        return None
    values = {"state_reasons": reasons, "state_message": message}
    detail = f"the server says: {message}" if message else "the server says so"
    moved = _apply(session, job_id, S.PROCESSING, new, [ours], values, None, detail)
    return job_id if moved else None


def all_sent(session: Session, job_id: int) -> bool:
    """Mark a ``processing`` job as past cancelling, just before its last part goes; False when
    it is no longer processing (canceled just before)."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == int(S.PROCESSING))
        .values(
            state_reasons=ALL_SENT,
            state_message="the printer is getting the last part",
            updated_at=time.time(),
        )
    )
    return result.rowcount == 1


def too_late_to_cancel(job: Job) -> bool:
    """The printer, or the server, has (or is getting) every byte: a cancel here would not
    stop it printing."""
    return job.state == int(S.PROCESSING) and (job.state_reasons == ALL_SENT or at_server(job))


def transition(
    session: Session,
    job_id: int,
    expected: JobState,
    new: JobState,
    *,
    reasons: str = "none",
    message: str = "",
    event: str | None = None,
    detail: str | None = None,
    **columns: object,
) -> bool:
    """Move one job from ``expected`` to ``new``; False when it was no longer in ``expected``.

    ``reasons`` holds RFC ``job-state-reasons`` keywords (comma separated); detail beyond them
    goes into ``message`` (``job-state-message``), never into new states. Extra ``columns``
    (attempts, route, ...) change in the same statement so the row is never half-updated.
    The trace gets ``event`` (by default named after the change, see ``EVENTS``) with
    ``detail`` (by default ``message``).
    The caller commits, so a state change, its outbox row and its trace line share one
    transaction.
    """
    check(expected, new)
    where: list[ColumnElement[bool]] = []
    if new == S.CANCELED:
        where.append(Job.state_reasons != ALL_SENT)  # see too_late_to_cancel
    if expected == S.PROCESSING:
        where.append(not_(waiting_at_server()))  # only the server's outcome ends those
    values = {"state_reasons": reasons, "state_message": message, **columns}
    text = message if detail is None else detail
    return _apply(session, job_id, expected, new, where, values, event, text)


def _apply(
    session: Session,
    job_id: int,
    expected: JobState,
    new: JobState,
    where: list[ColumnElement[bool]],
    values: dict[str, object],
    event: str | None,
    detail: str,
) -> bool:
    """The compare-and-set itself, with its outbox row and trace line (see ``transition``)."""
    now = time.time()
    values = {"state": int(new), "updated_at": now, **values}
    if new in TERMINAL:
        values["completed_at"] = now
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.state == int(expected), *where).values(**values)
    )
    if result.rowcount != 1:
        return False
    outbox.job_changed(session, job_id, new)
    record(session, job_id, event or event_for(expected, new), detail)
    return True


INCOMING = "job-incoming"


def attach_document(
    session: Session, job_id: int, new: JobState, *, reasons: str, **columns: object
) -> bool:
    """Give a Create-Job job its document: it leaves ``pending-held``/``job-incoming`` for
    ``new`` (``pending``, or still ``pending-held`` on a pull port, now waiting for release).

    False when the job was no longer incoming (canceled or timed out meanwhile).
    """
    if new not in (JobState.PENDING, JobState.PENDING_HELD):
        raise IllegalTransition(f"incoming -> {new.keyword}")
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.state == int(JobState.PENDING_HELD),
            Job.state_reasons == INCOMING,
        )
        .values(state=int(new), state_reasons=reasons, updated_at=time.time(), **columns)
    )
    if result.rowcount != 1:
        return False
    size = columns.get("size")
    record(session, job_id, "stored", f"the document arrived ({size} bytes) and is on disk")
    if new == JobState.PENDING_HELD:
        record(session, job_id, "held", "waiting for release at a printer")
    return True
