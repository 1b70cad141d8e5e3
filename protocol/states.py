"""Job states exactly as RFC 8011 names and numbers them, and the allowed transitions.

The one place states are spelled, for the client, the server and the tray alike (who may import
it: docs/DESIGN.md). Stdlib only, like supervisor's ``states.py``: small enough to read in one
screen, importable without pulling in a store.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal


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

    @classmethod
    def from_keyword(cls, keyword: str) -> JobState:
        """``KeyError`` for a word that is not an RFC 8011 job state."""
        return BY_KEYWORD[keyword]


BY_KEYWORD: dict[str, JobState] = {state.keyword: state for state in JobState}
KEYWORDS: tuple[str, ...] = tuple(BY_KEYWORD)
# The wire's type for a state keyword (channel messages, REST payloads): the same words.
Keyword = Literal[KEYWORDS]  # type: ignore[valid-type]

TERMINAL = frozenset({JobState.CANCELED, JobState.ABORTED, JobState.COMPLETED})
TERMINAL_KEYWORDS = frozenset(state.keyword for state in TERMINAL)

# Which states a job may move to from each state.
Table = dict[JobState, frozenset[JobState]]

S = JobState
TRANSITIONS: Table = {
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


def _reachable(start: JobState) -> frozenset[JobState]:
    seen: set[JobState] = set()
    todo = list(TRANSITIONS[start])
    while todo:
        state = todo.pop()
        if state not in seen:
            seen.add(state)
            todo.extend(TRANSITIONS[state])
    return frozenset(seen - {start})


# What an observer that sees only some of the steps may accept: the server follows an
# endpoint's reports, which name where a job is now, not every state it passed (a held job
# released and printed on the endpoint is reported completed). Every such jump is a path
# through TRANSITIONS, so a report can still never move a job backwards out of a terminal state.
REACHABLE: Table = {state: _reachable(state) for state in JobState}


class IllegalTransition(Exception):
    """A transition the table does not allow: a bug in the caller, never retried."""


def check(old: JobState, new: JobState) -> None:
    if new not in TRANSITIONS[old]:
        raise IllegalTransition(f"{old.keyword} -> {new.keyword}")
