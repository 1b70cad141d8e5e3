from __future__ import annotations

import json
import time

from protocol.states import JobState
from services.core import jobs, outbox
from services.core.store import Job, Store


def new_job(store: Store, state: JobState, number: int) -> Job:
    now = time.time()
    with store.session() as session:
        job = Job(
            uuid=f"{number:08d}-0000-0000-0000-000000000000",
            printer="p",
            owner="ann",
            size=3,
            sha256="0" * 64,
            state=int(state),
            created_at=now,
            updated_at=now,
        )
        session.add(job)
        session.flush()
        if state == JobState.PENDING_HELD:
            outbox.job_stored(session, job)
        session.commit()
        return job


def queued(store: Store) -> list[tuple[str, dict]]:
    with store.session() as session:
        return [(row.type, json.loads(row.body)) for row in outbox.unsent(session)]


def test_held_job_is_announced_and_each_change_reported_once(tmp_path):
    store = Store(tmp_path / "pullprint.db")
    job = new_job(store, JobState.PENDING_HELD, 1)
    with store.session() as session:
        jobs.transition(session, job.id, JobState.PENDING_HELD, JobState.PENDING)
        jobs.transition(session, job.id, JobState.PENDING, JobState.PROCESSING, attempts=1)
        jobs.transition(session, job.id, JobState.PROCESSING, JobState.COMPLETED, route="direct")
        outbox.job_stored(session, job)  # a replay queues nothing new
        session.commit()

    messages = queued(store)
    assert [t for t, _ in messages] == [
        "job.stored",
        "job.state",
        "job.state",
        "job.state",
        "report",
    ]
    assert messages[0][1]["owner"] == "ann" and messages[-1][1]["state"] == "completed"


def test_jobs_handed_to_the_server_are_not_reported_by_us(tmp_path):
    store = Store(tmp_path / "pullprint.db")
    job = new_job(store, JobState.PENDING, 2)
    with store.session() as session:
        jobs.transition(session, job.id, JobState.PENDING, JobState.PROCESSING, attempts=1)
        jobs.transition(
            session, job.id, JobState.PROCESSING, JobState.COMPLETED, route="via-server"
        )
        session.commit()

    assert queued(store) == []
