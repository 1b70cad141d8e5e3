"""The one spelling of job states, and how the server's rules relate to the client's."""

from __future__ import annotations

import typing

import pytest

from protocol.states import (
    KEYWORDS,
    REACHABLE,
    TERMINAL,
    TERMINAL_KEYWORDS,
    TRANSITIONS,
    JobState,
    Keyword,
)
from server import jobs as server_jobs


def test_keywords_are_rfc_8011s_in_enum_order() -> None:
    assert KEYWORDS == (
        "pending",
        "pending-held",
        "processing",
        "processing-stopped",
        "canceled",
        "aborted",
        "completed",
    )
    assert typing.get_args(Keyword) == KEYWORDS
    assert {"canceled", "aborted", "completed"} == TERMINAL_KEYWORDS
    assert all(JobState.from_keyword(s.keyword) is s for s in JobState)
    with pytest.raises(KeyError):
        JobState.from_keyword("expired")


def test_reachable_is_every_path_through_the_table_and_never_out_of_an_end() -> None:
    for state in JobState:
        assert TRANSITIONS[state] <= REACHABLE[state]
        assert state not in REACHABLE[state]
    for state in TERMINAL:
        assert REACHABLE[state] == frozenset()
    # A held job released and printed on the endpoint is reported completed at once.
    assert JobState.COMPLETED in REACHABLE[JobState.PENDING_HELD]
    assert JobState.COMPLETED not in TRANSITIONS[JobState.PENDING_HELD]


@pytest.mark.parametrize("old", list(JobState))
@pytest.mark.parametrize("new", list(JobState))
def test_the_server_moves_its_own_jobs_by_the_clients_table(old: JobState, new: JobState) -> None:
    assert server_jobs.allowed(old.keyword, new.keyword) == (new in TRANSITIONS[old])
    followed = server_jobs.allowed(old.keyword, new.keyword, REACHABLE)
    assert followed == (new in REACHABLE[old])


def test_the_server_refuses_words_that_are_not_states() -> None:
    assert not server_jobs.allowed("pending", "expired")
    assert not server_jobs.allowed("held", "pending")


def test_states_carry_rfc_8011_values_and_keywords():
    assert [(s.value, s.keyword) for s in JobState] == [
        (3, "pending"),
        (4, "pending-held"),
        (5, "processing"),
        (6, "processing-stopped"),
        (7, "canceled"),
        (8, "aborted"),
        (9, "completed"),
    ]


def test_terminal_states_have_no_way_out():
    assert all(TRANSITIONS[state] == frozenset() for state in TERMINAL)
