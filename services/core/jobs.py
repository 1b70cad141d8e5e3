"""The one place that changes a job's state.

Every change is a compare-and-set (``UPDATE ... WHERE id = :id AND state = :expected``) so a
replayed or late message can never move a job backwards, and two processes racing for one job
cannot both win. The allowed transitions are the table in ``states.py``.
"""

from __future__ import annotations

import time

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.core.states import TERMINAL, JobState, check
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
    return result.rowcount == 1
