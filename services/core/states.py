"""Job states exactly as RFC 8011 names and numbers them, and the allowed transitions.

Stdlib only, like supervisor's ``states.py``: small enough to read in one screen, importable by
the tray and the server without pulling in the store.
"""

from __future__ import annotations

from enum import IntEnum


class JobState(IntEnum):
    """``job-state`` values exactly as RFC 8011 section 5.3.7 numbers them."""

    PENDING = 3
    PENDING_HELD = 4
    PROCESSING = 5
    PROCESSING_STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9

    @property
    def keyword(self) -> str:
        return self.name.lower().replace("_", "-")


TERMINAL = frozenset({JobState.CANCELED, JobState.ABORTED, JobState.COMPLETED})

S = JobState
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    S.PENDING: frozenset({S.PROCESSING, S.PENDING_HELD, S.CANCELED, S.ABORTED}),
    S.PENDING_HELD: frozenset({S.PENDING, S.CANCELED, S.ABORTED}),
    # processing -> pending: an attempt was interrupted (the process died mid-send); the job is
    # sent again from the start, which is safe because it was never marked completed.
    S.PROCESSING: frozenset({S.COMPLETED, S.PROCESSING_STOPPED, S.PENDING, S.CANCELED, S.ABORTED}),
    S.PROCESSING_STOPPED: frozenset({S.PROCESSING, S.CANCELED, S.ABORTED}),
    S.CANCELED: frozenset(),
    S.ABORTED: frozenset(),
    S.COMPLETED: frozenset(),
}


class IllegalTransition(Exception):
    """A transition the table does not allow: a bug in the caller, never retried."""


def check(old: JobState, new: JobState) -> None:
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(f"{old.keyword} -> {new.keyword}")
