"""A server going away mid-session is an ordinary failure: it is logged as the channel going
offline with the reason, not as a crash with a traceback, also when it surfaces from the
connection's task group."""

from __future__ import annotations

from websockets.exceptions import ConnectionClosedError

from services.channel.service import EXPECTED_FAILURES, _describe, _unwrap


def test_a_closed_connection_inside_the_task_group_is_an_expected_failure() -> None:
    closed = ConnectionClosedError(None, None)
    grouped = ExceptionGroup("unhandled errors in a TaskGroup", [closed])
    assert _unwrap(grouped) is closed
    assert isinstance(_unwrap(grouped), EXPECTED_FAILURES)
    assert _describe(_unwrap(grouped)) == str(closed)


def test_a_group_of_several_failures_stays_a_group() -> None:
    grouped = ExceptionGroup("two", [ValueError("a"), KeyError("b")])
    assert _unwrap(grouped) is grouped
    assert not isinstance(_unwrap(grouped), EXPECTED_FAILURES)
