from __future__ import annotations

import time

import pytest

from protocol.states import IllegalTransition, JobState
from services.core import jobs
from services.core.store import SCHEMA_VERSION, Job, Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "db" / "pullprint.db")
    yield s
    s.dispose()


def add_job(store: Store, state: JobState, digit: str = "0") -> int:
    now = time.time()
    with store.session() as session:
        job = Job(
            uuid=digit * 8 + "-0000-0000-0000-" + "0" * 12,
            printer="p",
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


def test_transition_is_compare_and_set(store):
    job_id = add_job(store, JobState.PENDING)
    with store.session() as session:
        assert jobs.transition(session, job_id, JobState.PENDING, JobState.PROCESSING, attempts=1)
        # A replayed message expecting the old state changes nothing.
        assert not jobs.transition(session, job_id, JobState.PENDING, JobState.PROCESSING)
        assert jobs.transition(session, job_id, JobState.PROCESSING, JobState.COMPLETED)
        session.commit()
        job = session.get(Job, job_id)
        assert job.state == JobState.COMPLETED and job.attempts == 1 and job.completed_at


def test_illegal_transitions_are_refused(store):
    job_id = add_job(store, JobState.COMPLETED)
    with store.session() as session, pytest.raises(IllegalTransition):
        jobs.transition(session, job_id, JobState.COMPLETED, JobState.PENDING)


def test_store_uses_wal_full_sync_and_records_schema_version(store):
    assert store.schema_version() == SCHEMA_VERSION
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (store.path.stat().st_mode & 0o777) == 0o600


def test_a_job_whose_last_part_is_on_its_way_can_no_longer_be_canceled(store):
    """``all_sent`` marks it just before the last part goes; from then on no cancel moves it,
    whoever asks (the owner, the facade, the server's cancel command). A cancel in time wins:
    then ``all_sent`` finds it canceled, and the last part is not sent."""
    late, early = add_job(store, JobState.PROCESSING), add_job(store, JobState.PROCESSING, "1")
    with store.session() as session:
        assert jobs.all_sent(session, late)
        session.commit()
        job = session.get(Job, late)
        assert jobs.too_late_to_cancel(job) and job.state_reasons == jobs.ALL_SENT
        assert not jobs.transition(session, late, JobState.PROCESSING, JobState.CANCELED)
        assert jobs.transition(session, late, JobState.PROCESSING, JobState.COMPLETED)

        assert jobs.transition(session, early, JobState.PROCESSING, JobState.CANCELED)
        assert not jobs.all_sent(session, early)
