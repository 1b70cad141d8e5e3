"""Disk full while a job arrives: the sender gets an IPP error, nothing half-written stays, and
the spooler takes the next job that fits. The spool directory is a small tmpfs of its own."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from protocol.states import JobState
from services.core.ipp import Operation, Status, Tag
from support.client import Client
from support.printers import direct_printer
from support.waiting import wait_for

MB = 1024 * 1024
SPOOL_DISK = 4 * MB


@pytest.fixture
def small_spool_disk() -> Iterator[Callable[[Client], None]]:
    """Mount a ``SPOOL_DISK`` tmpfs as a client's spool directory (before its processes
    start); after the test the client's processes are stopped first, then it is unmounted."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs as the spool needs root")
    mounted: list[tuple[Client, str]] = []

    def mount(client: Client) -> None:
        spool = client.root / "state" / "spool"
        spool.mkdir(parents=True)
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SPOOL_DISK},mode=0700", "tmpfs", str(spool)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append((client, str(spool)))

    yield mount
    for client, path in mounted:
        client.close()  # nothing may hold the mount when it goes
        if subprocess.run(["umount", path], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", path], check=True)


def print_job(client: Client, document: bytes):
    return client.ipp(Operation.PRINT_JOB, document=document)


@pytest.mark.timeout(60)
def test_job_larger_than_the_free_space_gets_an_ipp_error_and_leaves_nothing(
    make_client, raw_printer, small_spool_disk
):
    # No free-space floor, so the write itself runs into the full disk.
    client = make_client([direct_printer(raw_printer)], min_free_disk=0)
    small_spool_disk(client)
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    too_big = os.urandom(SPOOL_DISK + MB)

    for round_ in (1, 2):  # the second round proves the first one's space came back
        reply = print_job(client, too_big)

        assert reply.code == Status.SERVER_ERROR_TEMPORARY_ERROR
        assert "disk full" in reply.operation.get("status-message")
        assert len(client.jobs()) == round_ - 1  # only the small jobs before it
        assert not [p for p in client.spool_files() if p.suffix == ".part"]

        small = f"small job {round_}".encode() * 5000
        assert print_job(client, small).code == Status.OK
        job = client.jobs()[-1]
        wait_for(lambda job=job: client.job_state(job.id) == JobState.COMPLETED, what="printed")
        assert raw_printer.jobs()[-1].read_bytes() == small

    assert [j.size for j in client.jobs()] == [55000, 55000]  # no row for either big job
    assert client.spool_files() == []
    log = (client.root / "log" / "spooler.log").read_text()
    assert log.count("status=server-error-temporary-error") == 2
    assert "Traceback" not in log


@pytest.mark.timeout(60)
def test_send_document_on_a_full_disk_keeps_the_job_waiting_for_its_document(
    make_client, raw_printer, small_spool_disk
):
    client = make_client([direct_printer(raw_printer)], min_free_disk=0)
    small_spool_disk(client)
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    created = client.ipp(Operation.CREATE_JOB)
    job_id = created.group(Tag.JOB).get("job-id")

    def send(document: bytes):
        return client.ipp(
            Operation.SEND_DOCUMENT,
            document=document,
            job_id=(Tag.INTEGER, job_id),
            last_document=(Tag.BOOLEAN, True),
        )

    assert send(os.urandom(SPOOL_DISK + MB)).code == Status.SERVER_ERROR_TEMPORARY_ERROR
    assert client.spool_files() == []
    [job] = client.jobs()
    assert (job.state, job.state_reasons) == (JobState.PENDING_HELD, "job-incoming")

    # The client may send the same document again once there is room: this one fits.
    assert send(b"fits now" * 1000).code == Status.OK
    wait_for(lambda: client.job_state(job_id) == JobState.COMPLETED, what="printed")
    assert raw_printer.jobs()[0].read_bytes() == b"fits now" * 1000
