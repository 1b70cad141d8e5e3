"""Sleep and wake (issue #12), with a simulated time jump: the running services read their wall
clock through core/wake.py, which adds the seconds written in PULLPRINT_TEST_CLOCK_FILE (tests
only; see that module). Writing 3600 there looks to them like an hour asleep."""

from __future__ import annotations

import time

import pytest

from protocol.states import JobState
from services.core import jobs, wake
from support.printers import direct_printer
from support.waiting import wait_for
from tests.integration.test_printer_reset import LONG_BACKOFF, backing_off, print_to


@pytest.fixture
def clock_file(tmp_path, monkeypatch):
    """The test clock offset every process started from now on reads (Client copies the
    environment)."""
    path = tmp_path / "clock-offset"
    path.write_text("0")
    monkeypatch.setenv(wake.TEST_CLOCK_ENV, str(path))
    return path


def log_of(client, name: str) -> str:
    return (client.root / "log" / f"{name}.log").read_text()


def test_after_a_wake_waiting_jobs_are_retried_and_expired_held_jobs_canceled(
    make_client, raw_printer, clock_file
):
    retention = 3
    client = make_client(
        [direct_printer(raw_printer), {"name": "hall", "kind": "pull"}],
        retry_backoff_max=LONG_BACKOFF,
        # Neither the rescan timer nor the retention sweep comes round during the test: what
        # happens, the wake does.
        rescan_interval=600,
        retention=retention,
    )
    client.start("sync", "spooler", "delivery", "channel")
    client.wait_printer("office")
    client.wait_printer("hall")
    raw_printer.stop()
    stuck = print_to(client, "office", b"waiting while the machine sleeps")
    backing_off(client, stuck)
    held = print_to(client, "hall", b"never released")
    time.sleep(retention + 0.5)  # the retention runs out "while asleep"
    raw_printer.start()
    assert client.job_state(held) == JobState.PENDING_HELD
    assert client.job_state(stuck) == JobState.PROCESSING_STOPPED

    clock_file.write_text("3600")

    wait_for(lambda: client.job_state(stuck) == JobState.COMPLETED, 20, "the retry after wake")
    wait_for(lambda: client.job_state(held) == JobState.CANCELED, 20, "the expiry after wake")
    assert [p.read_bytes() for p in raw_printer.jobs()] == [b"waiting while the machine sleeps"]
    for service in ("delivery", "channel"):
        assert "machine.woke slept=3600" in log_of(client, service)
    # Named by uuid, as on every wire, so the line can be followed to the server's logs.
    stuck_uuid = next(job.uuid for job in client.jobs() if job.id == stuck)
    assert f"delivery.woke retried={stuck_uuid}\n" in log_of(client, "delivery")
    with client.store.session() as session:
        woke = [e.detail for e in jobs.trace(session, stuck) if e.event == "woke"]
        canceled = [e.detail for e in jobs.trace(session, held) if e.event == "canceled"]
    assert woke == ["the machine woke after 3600 s asleep: retrying now"]
    assert canceled == ["not released within the retention period; deleted"]
    assert client.spool_files() == []
