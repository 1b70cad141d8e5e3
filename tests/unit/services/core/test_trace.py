"""The job trace in the store: written in the transaction of the change it describes, started
by the insert itself, and the printer reset and wake helpers that make waiting jobs due."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time

import pytest

from protocol.states import JobState
from services.core import jobs, migrations
from services.core.logs import get_log
from services.core.store import SCHEMA_VERSION, Job, Store
from services.core.wake import WakeDetector
from services.delivery.router import Route, explain

S = JobState


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "pullprint.db")
    yield s
    s.dispose()


def add_job(store: Store, state: JobState, reasons: str = "none", **columns) -> int:
    now = time.time()
    with store.session() as session:
        job = Job(
            uuid=f"job-{now}",
            printer="floor1",
            owner="alice",
            name="report.pdf",
            format="application/pdf",
            size=1234,
            sha256="ab" * 32,
            state=int(state),
            state_reasons=reasons,
            created_at=now,
            updated_at=now,
            **columns,
        )
        session.add(job)
        session.commit()
        return job.id


def events(store: Store, job_id: int) -> list[tuple[str, str]]:
    with store.session() as session:
        return [(e.event, e.detail) for e in jobs.trace(session, job_id)]


def test_a_stored_job_starts_its_trace_in_the_commit_that_stores_it(store):
    pending = add_job(store, S.PENDING)
    held = add_job(store, S.PENDING_HELD, "job-hold-until-specified")

    assert [e for e, _ in events(store, pending)] == ["captured", "stored"]
    assert events(store, pending)[0][1] == (
        "on floor1 from alice: 'report.pdf', 1234 bytes application/pdf"
    )
    assert [e for e, _ in events(store, held)] == ["captured", "stored", "held"]


def test_a_create_job_job_is_stored_when_its_document_arrives(store):
    job_id = add_job(store, S.PENDING_HELD, jobs.INCOMING)
    assert [e for e, _ in events(store, job_id)] == ["captured"]
    with store.session() as session:
        assert jobs.attach_document(session, job_id, S.PENDING, reasons="none", size=10)
        session.commit()
    assert events(store, job_id)[1:] == [
        ("stored", "the document arrived (10 bytes) and is on disk")
    ]


def test_every_transition_writes_its_line_in_the_same_transaction(store):
    job_id = add_job(store, S.PENDING_HELD, "job-hold-until-specified")
    with store.session() as session:
        jobs.transition(session, job_id, S.PENDING_HELD, S.PENDING, detail="at printer p by bob")
        jobs.transition(session, job_id, S.PENDING, S.PROCESSING, detail="attempt 1", attempts=1)
        jobs.record(session, job_id, "route", "direct: p answered at 127.0.0.1:9100")
        session.rollback()  # nothing of it happened, so nothing of it is traced
    assert [e for e, _ in events(store, job_id)] == ["captured", "stored", "held"]

    with store.session() as session:
        jobs.transition(session, job_id, S.PENDING_HELD, S.PENDING, detail="at printer p by bob")
        jobs.transition(session, job_id, S.PENDING, S.PROCESSING, detail="attempt 1", attempts=1)
        jobs.transition(session, job_id, S.PROCESSING, S.CANCELED, message="canceled by bob")
        # A replayed change moves nothing and traces nothing.
        assert not jobs.transition(session, job_id, S.PENDING, S.PROCESSING)
        session.commit()
    assert events(store, job_id)[3:] == [
        ("released", "at printer p by bob"),
        ("attempt", "attempt 1"),
        ("canceled", "canceled by bob"),
    ]


def test_reset_makes_the_printers_waiting_jobs_due_and_restarts_their_backoff(store):
    later = time.time() + 3600
    mine = add_job(store, S.PROCESSING_STOPPED, next_attempt_at=later)
    released_here = add_job(
        store, S.PROCESSING_STOPPED, next_attempt_at=later, target=json.dumps({"name": "floor1"})
    )
    with store.session() as session:
        session.get(Job, released_here).printer = "pull-port"  # released at floor1
        session.commit()
    elsewhere = add_job(store, S.PROCESSING_STOPPED, next_attempt_at=later)
    with store.session() as session:
        session.get(Job, elsewhere).printer = "floor2"
        for _ in range(5):
            jobs.record(session, mine, "attempt-failed", "attempt n: floor1 does not answer")
        session.commit()
        assert jobs.failures_in_a_row(session, mine) == 5

    with store.session() as session:
        assert jobs.reset_printer(session, "floor1", "root") == [mine, released_here]
        session.commit()
        assert jobs.failures_in_a_row(session, mine) == 0
        assert session.get(Job, mine).next_attempt_at == 0
        assert session.get(Job, elsewhere).next_attempt_at == later
        assert session.get(Job, mine).state == S.PROCESSING_STOPPED
    assert events(store, mine)[-1] == ("reset", "printer floor1 reset by root: retrying now")


def test_migration_3_upgrades_a_version_2_store_and_old_jobs_have_an_empty_trace(tmp_path):
    path = tmp_path / "pullprint.db"
    conn = sqlite3.connect(path)
    conn.executescript(migrations.V1 + migrations.V2 + "PRAGMA user_version=2;")
    conn.execute(
        "INSERT INTO jobs VALUES (1, 'u', 'p', 'o', 'n', 'f', 1, 's', NULL, 3, 'none', '', 0, 0,"
        " NULL, 0, 0, NULL, NULL, 0)"
    )
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert events(store, 1) == []
    store.dispose()


def test_route_reasons_say_why():
    args = ("floor1", "10.0.0.5:9100", "did not answer within 2 s")
    assert explain(Route.DIRECT, "local", "local", *args) == (
        "direct: floor1 answered at 10.0.0.5:9100"
    )
    assert explain(Route.VIA_SERVER, "local", "local", *args) == (
        "via-server: floor1 at 10.0.0.5:9100 did not answer within 2 s"
    )
    assert explain(Route.GATEWAY, "local", "gateway", *args) == (
        "gateway: route switched to gateway"
    )
    assert explain(Route.GATEWAY, "gateway", "local", *args) == "gateway: gateway mode"
    assert explain(Route.WAIT, "local", "local", *args).startswith("wait: floor1 at 10.0.0.5")
    refused = ("floor1", "10.0.0.5:9100", "refused the connection (nothing listens on that port)")
    assert explain(Route.VIA_SERVER, "local", "local", *refused) == (
        "via-server: floor1 at 10.0.0.5:9100 refused the connection (nothing listens on that port)"
    )


class Clocks:
    def __init__(self) -> None:
        self.wall, self.mono = 1000.0, 50.0

    def tick(self, seconds: float, asleep: float = 0.0) -> None:
        self.mono += seconds
        self.wall += seconds + asleep


def test_the_wake_detector_sees_the_wall_clock_jump_ahead_of_the_monotonic_one():
    clocks, woke = Clocks(), []

    async def on_wake(slept: float) -> None:
        woke.append(round(slept))

    detector = WakeDetector(
        get_log("test"), on_wake, wall=lambda: clocks.wall, monotonic=lambda: clocks.mono
    )

    async def run() -> list[bool]:
        seen = []
        for asleep in (0, 0.5, 0, 3600, 0, -7200, 0):  # awake, ntp, awake, slept, ..., set back
            clocks.tick(5, asleep)
            seen.append(await detector.check())
        return seen

    assert asyncio.run(run()) == [False, False, False, True, False, False, False]
    assert woke == [3600]


def test_the_test_clock_file_moves_only_the_detectors_wall_clock(tmp_path, monkeypatch):
    from services.core import wake

    offset = tmp_path / "clock"
    monkeypatch.setenv(wake.TEST_CLOCK_ENV, str(offset))
    before = wake.wall_clock()
    offset.write_text("3600")
    assert 3599 < wake.wall_clock() - before < 3700
    offset.write_text("garbage")
    assert abs(wake.wall_clock() - time.time()) < 5
