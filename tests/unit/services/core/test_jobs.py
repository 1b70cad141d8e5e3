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


def test_a_job_handed_to_the_server_stays_processing_until_the_server_says_how_it_ended(store):
    """Issue 20: an upload is not a print. After the gateway's ack the job is ``processing``,
    saying where it is; nothing on this machine ends it (no completed, no cancel, no requeue
    to send it again); only the server's outcome does, once, with the server's reason."""
    job_id = add_job(store, JobState.PROCESSING)
    with store.session() as session:
        message = "uploaded; the server prints it at floor1; waiting for the printer"
        assert jobs.handed_to_server(
            session, job_id, "via-server", "job-outgoing", message, "uploaded; attempt 1"
        )
        session.commit()
        job = session.get(Job, job_id)
        assert (job.state, job.route, job.state_reasons) == (
            JobState.PROCESSING,
            "via-server",
            "job-outgoing",
        )
        assert job.state_message == message and job.completed_at is None
        assert jobs.at_server(job) and jobs.too_late_to_cancel(job)
        for new in (JobState.COMPLETED, JobState.CANCELED, JobState.PENDING, JobState.ABORTED):
            assert not jobs.transition(session, job_id, JobState.PROCESSING, new)
        assert not jobs.handed_to_server(session, job_id, "gateway", "x", "again", "again")

        why = "the server gave up printing it at floor1 after 2 attempts; last error: refused"
        uuid = job.uuid
        assert jobs.server_outcome(session, uuid, JobState.ABORTED, "aborted-by-system", why)
        # Outcomes arrive at least once: the second changes nothing.
        assert jobs.server_outcome(session, uuid, JobState.COMPLETED, "none", "late") is None
        session.commit()
        session.refresh(job)
        assert (job.state, job.state_reasons, job.state_message) == (
            JobState.ABORTED,
            "aborted-by-system",
            why,
        )
        assert job.completed_at is not None
        steps = [(e.event, e.detail) for e in jobs.trace(session, job_id)]
        assert steps[-2:] == [
            ("uploaded", "uploaded; attempt 1"),
            ("aborted", f"the server says: {why}"),
        ]


def test_an_outcome_is_only_for_jobs_waiting_at_the_server(store):
    """A job printed directly, or one still being sent, is not the server's to end; an outcome
    must be an end state."""
    sending = add_job(store, JobState.PROCESSING)
    with store.session() as session:
        uuid = session.get(Job, sending).uuid
        assert jobs.server_outcome(session, uuid, JobState.COMPLETED, "none", "") is None
        assert jobs.server_outcome(session, "no-such-job", JobState.COMPLETED, "none", "") is None
        with pytest.raises(IllegalTransition):
            jobs.server_outcome(session, uuid, JobState.PROCESSING_STOPPED, "none", "")
        assert session.get(Job, sending).state == JobState.PROCESSING


def test_an_outcome_that_overtakes_the_gateways_ack_still_ends_the_job(store):
    """The server can print a small job and its outcome reach the channel before delivery has
    written down that the upload finished: the outcome must not be lost (nothing would send
    it again), and the late hand-over then changes nothing."""
    job_id = add_job(store, JobState.PROCESSING)
    with store.session() as session:
        assert jobs.all_sent(session, job_id)  # the last part is on its way to the gateway
        uuid = session.get(Job, job_id).uuid
        done = "printed at floor1 by the server (attempt 1)"
        assert jobs.server_outcome(session, uuid, JobState.COMPLETED, "none", done) == job_id
        assert not jobs.handed_to_server(session, job_id, "gateway", "r", "late", "late")
        session.commit()
        job = session.get(Job, job_id)
        assert (job.state, job.state_message) == (JobState.COMPLETED, done)
