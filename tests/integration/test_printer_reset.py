"""Resetting one printer (issue #12): its stuck jobs are retried at once, no process restarts,
and the other printers never stop printing."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from sqlalchemy import update

from protocol.states import JobState
from services.core.ipp import Operation, Status
from services.core.store import Job
from support.printers import VirtualPrinter, direct_printer
from support.waiting import wait_for
from tests.integration.test_api import Api, run_as

# What many failed attempts against a dead printer come to: the next one an hour away.
LONG_BACKOFF = 3600


def print_to(client, printer: str, data: bytes) -> int:
    reply = client.ipp(Operation.PRINT_JOB, printer=printer, user="alice", document=data)
    assert reply.code == Status.OK
    return max(job.id for job in client.jobs())


def backing_off(client, job_id: int) -> None:
    """Wait for the job's first failed attempt, then push its next one out as a long
    ``retry_backoff_max`` would after many (waiting for 2**12 s of real backoff is no test)."""
    wait_for(
        lambda: client.job_state(job_id) == JobState.PROCESSING_STOPPED, 30, "a failed attempt"
    )
    with client.store.session() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == int(JobState.PROCESSING_STOPPED))
            .values(next_attempt_at=time.time() + LONG_BACKOFF)
        )
        session.commit()


def test_reset_prints_the_dead_printers_job_at_once_while_the_other_kept_printing(
    make_client, tmp_path
):
    alive = VirtualPrinter(tmp_path / "alive")
    dead = VirtualPrinter(tmp_path / "dead")
    alive.start()
    try:
        client = make_client(
            [direct_printer(alive, "alive"), direct_printer(dead, "dead")],
            retry_backoff_max=LONG_BACKOFF,
            rescan_interval=30,
        )
        client.start("sync", "spooler", "delivery", "api")
        client.wait_printer("alive")
        client.wait_printer("dead")
        api = Api(client)
        pids = {name: p.pid for name, p in client.processes.items()}

        stuck = print_to(client, "dead", b"for the dead printer")
        backing_off(client, stuck)
        for n in range(3):  # the other printer prints on, one job after another
            job = print_to(client, "alive", b"alive %d" % n)
            wait_for(lambda j=job: client.job_state(j) == JobState.COMPLETED, 30, "alive printed")
        assert client.job_state(stuck) == JobState.PROCESSING_STOPPED

        dead.start()  # the printer is back, but the job would wait an hour
        refused = api.call("POST", "/printers/dead/reset")
        assert refused.status_code == 401
        started = time.monotonic()
        reset = api.admin("POST", "/printers/dead/reset")
        assert reset.status_code == 200, reset.text
        stuck_uuid = next(job.uuid for job in client.jobs() if job.id == stuck)
        assert reset.json() == {"ok": True, "printer": "dead", "retried": [stuck_uuid]}
        meanwhile = print_to(client, "alive", b"alive during the reset")

        wait_for(lambda: client.job_state(stuck) == JobState.COMPLETED, 15, "printed after reset")
        assert time.monotonic() - started < 15 < LONG_BACKOFF
        assert [p.read_bytes() for p in dead.jobs()] == [b"for the dead printer"]
        wait_for(lambda: client.job_state(meanwhile) == JobState.COMPLETED, 30, "alive printed")
        assert len(alive.jobs()) == 4
        assert {name: p.pid for name, p in client.processes.items()} == pids  # no restarts
        shown = client.run_cli("jobs", "--trace", str(stuck)).stdout
        assert "reset" in shown and "printer dead reset by root: retrying now" in shown
        assert api.admin("POST", "/printers/nowhere/reset").status_code == 404
    finally:
        alive.stop()
        dead.stop()


def test_pullprint_printer_reset_retries_now_without_the_facade(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)], retry_backoff_max=LONG_BACKOFF)
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    raw_printer.stop()
    stuck = print_to(client, "office", b"reset from the command line")
    backing_off(client, stuck)
    raw_printer.start()

    done = client.run_cli("printer", "reset", "office")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "printer office reset; 1 job(s) retried now"
    wait_for(lambda: client.job_state(stuck) == JobState.COMPLETED, 15, "printed after reset")
    unknown = client.run_cli("printer", "reset", "nowhere")
    assert unknown.returncode == 1 and "no printer nowhere" in unknown.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_reset_is_for_admins_and_a_trace_only_for_the_jobs_owner(make_client):
    client = make_client([{"name": "hall", "kind": "pull"}])
    client.start("api", "spooler", "sync")
    api = Api(client)
    os.chmod(client.root, 0o755)  # nobody must reach run/users/<uid>/ below it
    client.wait_printer("hall")
    client.ipp(Operation.PRINT_JOB, printer="hall", user="alice", document=b"a")
    alices = client.jobs()[-1].uuid  # the facade names jobs by uuid
    client.ipp(Operation.PRINT_JOB, printer="hall", user="nobody", document=b"n")
    nobody_job = client.jobs()[-1]
    nobodys = nobody_job.uuid

    def as_nobody() -> dict:
        session = httpx.get(api.base + "/session").json()
        with open(session["token_file"]) as f:
            auth = {"Authorization": "Bearer " + f.read()}
        own = httpx.get(f"{api.base}/jobs/{nobodys}/trace")
        others = httpx.get(f"{api.base}/jobs/{alices}/trace")
        reset = httpx.post(f"{api.base}/printers/hall/reset", headers=auth)
        return {"own": own.json(), "others": others.status_code, "reset": reset.status_code}

    result = run_as("nobody", as_nobody)

    assert [e["event"] for e in result["own"]["events"]] == ["captured", "stored", "held"]
    assert result["own"]["job"]["id"] == nobodys
    assert result["own"]["job"]["ipp_job_id"] == nobody_job.id
    assert result["others"] == 404
    assert result["reset"] == 403
    # root (the admin) may read anyone's trace
    assert api.call("GET", f"/jobs/{alices}/trace").json()["job"]["owner"] == "alice"
