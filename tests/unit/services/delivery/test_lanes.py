"""Which job goes next (services/delivery/lanes.py), on a real store."""

from __future__ import annotations

import pytest

from protocol.states import JobState
from services.core import jobs
from services.core.store import Printer, Store
from services.delivery import lanes
from tests.unit.services.core.test_jobs import add_job


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "db" / "pullprint.db")
    yield s
    s.dispose()


def test_a_job_waiting_at_the_server_does_not_hold_back_its_lane(store):
    """Issue 20: an uploaded job stays ``processing`` until the server's outcome, which may
    take hours (a held job waits for its release there). The jobs behind it must not wait
    for that: the lane is free as soon as the upload is done."""
    with store.session() as session:
        session.add(Printer(name="p", kind="direct", host="127.0.0.1", port=9))
        session.commit()
    uploaded = add_job(store, JobState.PROCESSING, "1")  # on printer "p"
    behind = add_job(store, JobState.PENDING, "2")
    assert lanes.due(store)[0] == set()  # still being sent: the lane is busy

    with store.session() as session:
        assert jobs.handed_to_server(session, uploaded, "gateway", "r", "m", "d")
        session.commit()

    assert lanes.due(store)[0] == {"p"}
    job, _printer = lanes.next_job(store, "p")
    assert job.id == behind
