"""Which job goes next (services/delivery/lanes.py), on a real store."""

from __future__ import annotations

import time

import pytest

from protocol.states import JobState
from services.core import jobs
from services.core.store import Job, Printer, Store
from services.delivery import lanes


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "db" / "pullprint.db")
    yield s
    s.dispose()


def add_job(store: Store, state: JobState, digit: str) -> int:
    now = time.time()
    with store.session() as session:
        job = Job(
            uuid=digit * 8 + "-0000-0000-0000-" + "0" * 12,
            printer="front",
            owner="o",
            size=1,
            sha256="0" * 64,
            state=int(state),
            created_at=now,
            updated_at=now,
        )
        session.add(job)
        session.commit()
        return job.id


def test_a_job_waiting_at_the_server_does_not_hold_back_its_lane(store):
    """Issue 20: an uploaded job stays ``processing`` until the server's outcome, which may
    take hours (a held job waits for its release there). The jobs behind it must not wait
    for that: the lane is free as soon as the upload is done."""
    with store.session() as session:
        session.add(Printer(name="front", kind="direct", host="127.0.0.1", port=9))
        session.commit()
    uploaded = add_job(store, JobState.PROCESSING, "1")
    behind = add_job(store, JobState.PENDING, "2")
    assert lanes.due(store)[0] == set()  # still being sent: the lane is busy

    with store.session() as session:
        assert jobs.handed_to_server(session, uploaded, "gateway", "r", "m", "d")
        session.commit()

    assert lanes.due(store)[0] == {"front"}
    job, _printer = lanes.next_job(store, "front")
    assert job.id == behind
