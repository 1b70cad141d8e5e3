"""One job row, inserted by two transactions at once (issue 22): an endpoint announces a job on
its channel, reports it, or uploads it, and with several server processes two of these can
commit at the same moment. Each used to read "no row" and then insert one, so the second
failed on the primary key: a report was lost, an upload answered `internal`. Now the second
finds the row the first committed and goes on with it, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from protocol.channel import Report, StoredJob
from server import accounting, jobs
from server.models import Endpoint, Job
from server.store import Store

JOB = "job-race-1"


@pytest.fixture
def store(store: Store) -> Store:
    """conftest's database of the test's own, migrated."""
    store.migrate()
    return store


@pytest.fixture
def endpoint_id(store: Store) -> int:
    with store.session() as session:
        endpoint = Endpoint(hostname="pc-1", state="authorized", secret_hash="x")
        session.add(endpoint)
        session.flush()
        return endpoint.id


def race(store: Store, second: Callable[[Session], Any], first: Callable[[Session], Any]) -> Any:
    """Run `second`; the moment it sends its INSERT into jobs (it has read "no row" by then),
    `first` runs on another connection and commits. What `first` and `second` returned."""
    ran: list[Any] = []

    def first_commits(_conn, _cursor, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO jobs") and not ran:
            ran.append("running")
            with store.session() as other:
                ran.append(first(other))

    event.listen(store.engine, "before_cursor_execute", first_commits)
    try:
        with store.session() as session:
            result = second(session)
    finally:
        event.remove(store.engine, "before_cursor_execute", first_commits)
    assert ran, "the second never inserted: no race happened"
    return ran[1], result


def announced(endpoint_id: int) -> Callable[[Session], str]:
    stored = StoredJob(job_id=JOB, owner="alice", size=10, state="pending-held")
    return lambda session: accounting.record_stored(session, endpoint_id, stored)


def reported(endpoint_id: int) -> Callable[[Session], str]:
    report = Report(job_id=JOB, owner="alice", state="completed", printer="floor1", size=10)
    return lambda session: accounting.record_report(session, endpoint_id, report)


def state(store: Store) -> tuple[str, str | None]:
    with store.session() as session:
        job = session.get(Job, JOB)
        assert job is not None
        return job.state, job.printer_name


def test_a_report_meeting_the_announcement_of_its_job_is_kept(
    store: Store, endpoint_id: int
) -> None:
    first, second = race(store, reported(endpoint_id), announced(endpoint_id))
    assert (first, second) == ("ok", "ok")
    assert state(store) == ("completed", "floor1")


def test_an_announcement_meeting_the_report_of_its_job_is_a_duplicate(
    store: Store, endpoint_id: int
) -> None:
    first, second = race(store, announced(endpoint_id), reported(endpoint_id))
    assert (first, second) == ("ok", "duplicate")
    assert state(store) == ("completed", "floor1")


def test_an_upload_meeting_the_announcement_of_its_job_takes_the_row_over(
    store: Store, endpoint_id: int
) -> None:
    """What the gateway's commit does (server/gateway.py `_commit`): insert, or else take the
    row that is there, locked, and make it the server's."""

    def upload(session: Session) -> str:
        values = {"id": JOB, "owner": "alice", "location": "server", "state": "pending"}
        if jobs.insert(session, values) is not None:
            return "inserted"
        job = jobs.locked(session, JOB)
        assert job is not None and job.location == "endpoint"  # the announcement's
        job.location, job.state = "server", "pending"
        return "taken over"

    first, second = race(store, upload, announced(endpoint_id))
    assert (first, second) == ("ok", "taken over")
    with store.session() as session:
        job = session.get(Job, JOB)
        assert job is not None and (job.location, job.state) == ("server", "pending")
