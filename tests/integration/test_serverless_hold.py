"""Local storage without a server: pull jobs are held until released locally, and held jobs
expire after ``retention``."""

from __future__ import annotations

import json

from protocol.states import JobState
from services.core.ipp import Operation
from support.printers import direct_printer
from support.waiting import wait_for


def test_held_job_released_locally_prints_on_the_named_printer(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer), {"name": "hall", "kind": "pull"}])
    client.start("sync", "spooler", "delivery", "channel")
    client.wait_printer("hall")
    client.ipp(Operation.PRINT_JOB, printer="hall", document=b"held here")
    assert client.job_state(1) == JobState.PENDING_HELD

    result = client.run_cli("release", "1", "-P", "office")

    assert result.returncode == 0, result.stderr
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, what="released job printed")
    assert raw_printer.jobs()[0].read_bytes() == b"held here"
    assert json.loads(client.jobs()[0].target)["name"] == "office"
    again = client.run_cli("release", "1", "-P", "office")
    assert again.returncode == 1 and "not held" in again.stderr


def test_held_jobs_expire_after_retention(make_client, raw_printer):
    client = make_client(
        [direct_printer(raw_printer), {"name": "hall", "kind": "pull"}],
        retention=1,
        rescan_interval=0.5,
    )
    client.start("sync", "spooler", "channel")
    client.wait_printer("hall")
    client.ipp(Operation.PRINT_JOB, printer="hall", document=b"forgotten")

    wait_for(lambda: client.job_state(1) == JobState.CANCELED, what="held job expired")
    assert client.jobs()[0].state_reasons == "job-canceled-by-operator"
    # What the owner reads in My jobs and the notification says why, not "canceled".
    assert client.jobs()[0].state_message == "not released within the retention period; deleted"
    assert client.spool_files() == []
