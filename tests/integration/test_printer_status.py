"""A printer that reports itself stopped (a jam, no paper) gets no job: the job waits on the
PC with the printer's reason, goes out when the printer is back, and is aborted with that
reason once it has waited ``stopped_timeout``. Jobs to one printer leave in the order they
were printed, also when they all had to wait. Real client processes; the printer is the small
IPP printer of ``tests/stoppable_printer.py``, since ippeveprinter cannot be stopped."""

from __future__ import annotations

from protocol.states import JobState
from services.core import jobs
from services.core.ipp import Operation, Status
from support.client import start_ipp_client
from support.waiting import wait_for
from tests.stoppable_printer import StoppablePrinter


def start_client(make_client, printer: StoppablePrinter, **settings):
    return start_ipp_client(make_client, "jammed", printer.port, **settings)


def print_job(client, text: bytes, user: str = "alice") -> None:
    reply = client.ipp(Operation.PRINT_JOB, printer="jammed", user=user, document=text)
    assert reply.code == Status.OK


def trace(client, job_id: int) -> list[tuple[str, str]]:
    with client.store.session() as session:
        return [(e.event, e.detail) for e in jobs.trace(session, job_id)]


def test_a_stopped_printer_holds_the_job_on_the_pc_until_it_is_back(make_client, stoppable_printer):
    printer = stoppable_printer
    printer.stop_printing("media-jam-error", "Paper jam in tray 2")
    client = start_client(make_client, printer)

    print_job(client, b"the quarterly report")

    def waiting() -> bool:
        job = client.jobs()[0]
        return job.state == JobState.PROCESSING_STOPPED and printer.status_queries >= 2

    wait_for(waiting, 30, "the job to wait for the stopped printer")
    job = client.jobs()[0]
    assert job.state_reasons == "printer-stopped"
    assert "media-jam-error" in job.state_message
    assert "Paper jam in tray 2" in job.state_message
    assert printer.received == []  # asked, twice at least, and sent nothing

    printer.resume()

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "printed once it was back")
    assert printer.documents() == [b"the quarterly report"]
    assert not printer.received[0].while_stopped
    events = trace(client, 1)
    assert any(e == "printer-stopped" and "media-jam-error" in d for e, d in events)
    # After the job, the printer was asked again; the trace's last line says what it said.
    assert events[-1][0] == "delivered"
    assert "the printer is now idle" in events[-1][1]


def test_past_stopped_timeout_the_job_is_aborted_with_the_printers_reason(
    make_client, stoppable_printer
):
    printer = stoppable_printer
    printer.stop_printing("media-empty-error", "Load letter paper in tray 1")
    client = start_client(make_client, printer, stopped_timeout=2)

    print_job(client, b"never printed")

    wait_for(lambda: client.job_state(1) == JobState.ABORTED, 30, "aborted after the timeout")
    job = client.jobs()[0]
    assert job.state_reasons == "printer-stopped"
    assert "media-empty-error" in job.state_message
    assert "stopped_timeout" in job.state_message
    assert printer.received == []
    assert client.spool_files() == []
    # Later jobs are not held back by the aborted one, and the printer being back prints them.
    printer.resume()
    print_job(client, b"after the paper came")
    wait_for(lambda: client.job_state(2) == JobState.COMPLETED, 30, "the next job printed")
    assert printer.documents() == [b"after the paper came"]


def test_jobs_that_waited_for_the_printer_print_in_the_order_they_were_printed(
    make_client, stoppable_printer
):
    printer = stoppable_printer
    printer.stop_printing("media-jam-error", "Paper jam")
    client = start_client(make_client, printer)
    documents = [f"page {n} of the thesis".encode() for n in range(1, 11)]
    for document in documents:
        print_job(client, document)
    wait_for(lambda: client.job_state(1) == JobState.PROCESSING_STOPPED, 30, "the first job waits")
    # The jobs behind the first one are not tried while it waits: they keep their place.
    assert all(client.job_state(n) == JobState.PENDING for n in range(2, 11))

    printer.resume()

    wait_for(lambda: len(printer.received) == 10, 60, "all ten printed")
    assert printer.documents() == documents
    # The printer has the last job a moment before the client records it completed.
    wait_for(
        lambda: all(client.job_state(n) == JobState.COMPLETED for n in range(1, 11)),
        30,
        "all ten completed",
    )
