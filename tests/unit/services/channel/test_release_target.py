"""A release names the printer the user stands at; what the server's record says it can do
(colour, duplex, media, PJL) goes with the target, so delivery can tell a raw printer the
job's options, or say which it could not honour."""

from __future__ import annotations

import time

from pydantic import Field

from protocol.channel import PrinterInfo, Release
from protocol.states import JobState
from services.channel.commands import release
from services.core.store import Job, Printer, Store
from services.delivery.destination import destination


class RecordedPrinter(PrinterInfo):
    """PrinterInfo as the server sends it once it carries its raw printer records."""

    color: bool = False
    duplex: bool = False
    media: list[str] = Field(default_factory=list)
    media_default: str = ""
    resolution: int = 600
    pjl: bool = False


def held_job(store: Store) -> Job:
    now = time.time()
    job = Job(uuid="u-1", printer="hall", owner="alice", size=1, sha256="0" * 64,
              state=int(JobState.PENDING_HELD), state_reasons="job-hold-until-specified",
              created_at=now, updated_at=now)  # fmt: skip
    with store.session() as session:
        session.add(Printer(name="hall", kind="pull"))
        session.add(job)
        session.commit()
    return job


def released_to(tmp_path, printer: PrinterInfo):
    store = Store(tmp_path / "pullprint.db")
    held_job(store)
    assert release(store, Release(job_ids=["u-1"], printer=printer)) == ["u-1"]
    with store.session() as session:
        job = session.get(Job, 1)
        return destination(job, session.get(Printer, "hall"))


def test_a_raw_printer_the_server_says_reads_pjl_is_told_the_options(tmp_path):
    printer = RecordedPrinter(
        id=7, name="floor2", host="10.0.0.9", port=9100, protocol="raw",
        color=True, duplex=True, media=["iso_a5_148x210mm"], pjl=True,
    )  # fmt: skip

    where = released_to(tmp_path, printer)

    assert where.capabilities is not None and where.capabilities.pjl
    assert "two-sided-long-edge" in where.capabilities.supported("sides")
    assert where.capabilities.supported("media") == ["iso_a5_148x210mm"]


def test_a_server_that_says_nothing_more_means_a_plain_raw_printer(tmp_path):
    printer = PrinterInfo(id=7, name="floor2", host="10.0.0.9", port=9100, protocol="raw")

    where = released_to(tmp_path, printer)

    assert where.capabilities is not None and not where.capabilities.pjl
    assert where.capabilities.supported("copies") == [(1, 1)]
