"""The rate-limit count (server/throttle.py) on a real SQLite file: a burst of parallel
attempts gets no further than the limit, refused attempts leave nothing counted, and
Retry-After says when the oldest counted attempt ages out."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server import throttle
from server.models import Attempt
from server.store import Store, default_url
from server.throttle import Limited, Rule


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(default_url(tmp_path))
    db.migrate()
    yield db
    db.close()


def counted(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(Attempt)) or 0)


def test_a_burst_of_parallel_attempts_gets_no_further_than_the_limit(store: Store) -> None:
    rule, start = Rule("login-user", 3, 600), threading.Barrier(12)
    passed: list[list[int]] = []

    def attempt() -> None:
        start.wait()
        with contextlib.suppress(Limited):
            passed.append(throttle.take(store, [(rule, "alice")]))

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Attempts racing each other may refuse each other too (failing closed): at most 3.
    assert len(passed) <= 3
    assert counted(store) == len(passed)  # the refused ones took their rows back


def test_retry_after_is_when_the_oldest_attempt_ages_out(store: Store) -> None:
    rule = Rule("register", 2, 600)
    for _ in range(2):
        throttle.take(store, [(rule, "10.0.0.1")])
    with pytest.raises(Limited) as refused:
        throttle.take(store, [(rule, "10.0.0.1")])
    assert 598 <= refused.value.retry_after <= 600
    throttle.take(store, [(rule, "10.0.0.2")])  # another key counts on its own
    assert counted(store) == 3


def test_a_forgotten_attempt_does_not_count(store: Store) -> None:
    rule = Rule("login-user", 1, 600)
    ids = throttle.take(store, [(rule, "alice")])
    with store.session() as session:
        throttle.forget(session, ids)
    throttle.take(store, [(rule, "alice")])  # the success before did not use up the one
