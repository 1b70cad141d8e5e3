"""The one place that changes a job's state.

Every change is a compare-and-set (``UPDATE ... WHERE id = :id AND state = :expected``) so a
replayed or late message can never move a job backwards, and two processes racing for one job
cannot both win. The allowed transitions are the table in ``states.py``.
"""

from __future__ import annotations

import time

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.core import outbox
from services.core.states import TERMINAL, IllegalTransition, JobState, check
from services.core.store import Job


def transition(
    session: Session,
    job_id: int,
    expected: JobState,
    new: JobState,
    *,
    reasons: str = "none",
    message: str = "",
    **columns: object,
) -> bool:
    """Move one job from ``expected`` to ``new``; False when it was no longer in ``expected``.

    ``reasons`` holds RFC ``job-state-reasons`` keywords (comma separated); detail beyond them
    goes into ``message`` (``job-state-message``), never into new states. Extra ``columns``
    (attempts, route, ...) change in the same statement so the row is never half-updated.
    The caller commits, so a state change and its outbox row can share one transaction.
    """
    check(expected, new)
    now = time.time()
    values: dict[str, object] = {
        "state": int(new),
        "state_reasons": reasons,
        "state_message": message,
        "updated_at": now,
        **columns,
    }
    if new in TERMINAL:
        values["completed_at"] = now
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.state == int(expected)).values(**values)
    )
    if result.rowcount != 1:
        return False
    outbox.job_changed(session, job_id, new)
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
    return result.rowcount == 1
