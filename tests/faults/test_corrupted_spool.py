"""A spooled document that changed on disk is caught by its sha256 and never printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from protocol.states import JobState
from services.core.ipp import Operation
from services.core.store import Outbox
from support.printers import direct_printer
from support.waiting import wait_for
from tests.documents import make_document

MB = 1024 * 1024
# Reading the whole 32 MB document into memory would add 32 MB; one 1 MiB block plus
# allocator noise stays far below this.
ALLOWED_GROWTH = 16 * MB


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


@pytest.mark.timeout(60)
def test_corrupted_spool_file_is_aborted_and_reported_never_printed(
    make_client, raw_printer, tmp_path
):
    # A pull port: the job waits on disk (where it rots) until it is released.
    client = make_client([direct_printer(raw_printer), {"name": "hall", "kind": "pull"}])
    client.start("sync", "spooler", "delivery")
    client.wait_printer("hall")
    document = tmp_path / "held.bin"
    make_document(document, 32 * MB)
    client.ipp(Operation.PRINT_JOB, printer="hall", document=document.read_bytes())
    [job] = client.jobs()
    assert job.state == JobState.PENDING_HELD
    flip_byte(client.root / "state" / "spool" / job.uuid, 20 * MB + 7)
    delivery = client.processes["delivery"]
    baseline = peak_rss(delivery.pid)

    assert client.run_cli("release", str(job.id), "-P", "office").returncode == 0

    wait_for(lambda: client.job_state(job.id) == JobState.ABORTED, what="the job aborted")
    [aborted] = client.jobs()
    assert aborted.state_reasons == "aborted-by-system"
    assert "corrupt" in aborted.state_message and job.sha256 in aborted.state_message
    assert aborted.attempts == 1
    log = (client.root / "log" / "delivery.log").read_text()
    assert "delivery.aborted" in log and "corrupt" in log
    assert "delivery.completed" not in log
    # Reported like every other abort: a report row in the outbox for the channel to send.
    with client.store.session() as session:
        reports = [r for r in session.scalars(select(Outbox)) if r.type == "report"]
    assert [json.loads(r.body)["state"] for r in reports] == ["aborted"]
    assert json.loads(reports[0].body)["job_id"] == job.uuid
    assert raw_printer.jobs() == [] and raw_printer.partial_size() == 0
    assert client.spool_files() == []
    growth = peak_rss(delivery.pid) - baseline
    assert growth < ALLOWED_GROWTH, f"delivery grew {growth / MB:.0f} MB while verifying"

    # An intact job after it prints as usual.
    client.ipp(Operation.PRINT_JOB, printer="hall", document=b"intact " * 1000)
    intact = client.jobs()[-1]
    assert client.run_cli("release", str(intact.id), "-P", "office").returncode == 0
    wait_for(lambda: client.job_state(intact.id) == JobState.COMPLETED, what="intact job")
    assert [p.read_bytes() for p in raw_printer.jobs()] == [b"intact " * 1000]
