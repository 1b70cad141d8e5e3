"""A document changed on disk after delivery's check (between the check and the send) stops at
the record that does not open: the job is aborted with the reason, the printer connection is
dropped, and nothing after that record is sent. The printer is faked at its edge."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from services.core.spool import CHUNK_SIZE, Spool, SpoolKeyError
from services.core.store import Job
from services.delivery import document
from services.delivery.transport import DeliveryError


class RecordingPrinter:
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.aborted = False
        self.finished = False

    async def open(self) -> None:
        pass

    async def send(self, chunk: bytes) -> None:
        self.received.append(chunk)

    async def finish(self) -> None:
        self.finished = True

    def abort(self) -> None:
        self.aborted = True


async def processing() -> bool:
    return True


def spooled(tmp_path: Path, records: int) -> tuple[Spool, Job]:
    spool = Spool(tmp_path / "spool", key_dir=tmp_path / "state")
    job = Job(uuid=str(uuid.uuid4()), size=records * CHUNK_SIZE, sha256="")
    writer = spool.writer(job.uuid, max_size=job.size)
    for number in range(records):
        writer.write(bytes([number]) * CHUNK_SIZE)
    writer.commit()
    return spool, job


def test_a_record_changed_after_the_check_stops_the_send_and_aborts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool, job = spooled(tmp_path, records=3)
    monkeypatch.setattr(document, "verify", lambda spool, job: None)  # it passed, then...
    path = spool.path(job.uuid)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF  # ...a byte of the last record changes on disk
    path.write_bytes(bytes(data))
    printer = RecordingPrinter()

    with pytest.raises(DeliveryError) as failure:
        asyncio.run(document.send(printer, spool, job, processing, processing))

    assert failure.value.final and failure.value.reason == "aborted-by-system"
    assert "failed authentication" in str(failure.value)
    assert printer.aborted and not printer.finished
    assert printer.received == [bytes([0]) * CHUNK_SIZE, bytes([1]) * CHUNK_SIZE]


def test_a_damaged_machine_key_keeps_the_job_waiting(tmp_path: Path) -> None:
    _spool, job = spooled(tmp_path, records=1)
    (tmp_path / "state" / "spool.key").write_bytes(b"not a key")
    fresh = Spool(tmp_path / "spool", key_dir=tmp_path / "state")  # a restart reads the key again
    printer = RecordingPrinter()

    with pytest.raises(DeliveryError) as failure:
        asyncio.run(document.send(printer, fresh, job, processing, processing))

    assert not failure.value.final  # retried, never aborted: the admin can restore the key
    assert "spool.key" in str(failure.value)
    assert printer.received == []
    assert isinstance(failure.value.__context__, SpoolKeyError)
