"""The first real print path: a job printed to our spooler reaches a raw TCP printer."""

from __future__ import annotations

import time
from pathlib import Path

from protocol.states import JobState
from support.printers import direct_printer
from support.waiting import wait_for
from tests.documents import make_document, sha256_file


def start_client(make_client, raw_printer, **settings):
    client = make_client([direct_printer(raw_printer)], **settings)
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    return client


def test_printed_job_arrives_at_raw_printer_byte_for_byte(make_client, raw_printer, tmp_path):
    client = start_client(make_client, raw_printer)
    document = tmp_path / "report.pdf"
    digest = make_document(document, 3 * 1024 * 1024 + 17)

    result = client.run_cli("print", str(document), "-P", "office", "-U", "alice")

    assert result.returncode == 0, result.stderr
    assert "job 1 stored on office" in result.stdout
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, what="job 1 completed")
    [printed] = raw_printer.jobs()
    assert sha256_file(printed) == digest
    [job] = client.jobs()
    assert (job.owner, job.name, job.format) == ("alice", "report.pdf", "application/pdf")
    assert job.sha256 == digest and job.attempts == 1
    # A delivered document is removed from the spool; the row stays for history.
    wait_for(lambda: client.spool_files() == [], what="spool emptied")


def test_printer_down_for_five_seconds_gets_job_when_back(make_client, raw_printer, tmp_path):
    raw_printer.stop()
    client = start_client(make_client, raw_printer)
    document = tmp_path / "doc.bin"
    digest = make_document(document, 200_000)

    assert client.run_cli("print", str(document), "-P", "office").returncode == 0
    wait_for(lambda: client.job_state(1) == JobState.PROCESSING_STOPPED, what="processing-stopped")
    [job] = client.jobs()
    assert job.state_reasons == "printer-stopped"
    assert "127.0.0.1" in job.state_message

    time.sleep(5)  # the printer really is down for five seconds
    raw_printer.start()

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, what="completed after printer back")
    [printed] = raw_printer.jobs()
    assert sha256_file(printed) == digest
    assert client.jobs()[0].attempts >= 2


def test_jobs_of_unknown_printer_are_refused_and_leave_nothing(make_client, raw_printer, tmp_path):
    client = start_client(make_client, raw_printer)
    document = tmp_path / "doc.bin"
    make_document(document, 10_000)

    result = client.run_cli("print", str(document), "-P", "nowhere")

    assert result.returncode == 1
    assert "client-error-not-found" in result.stderr
    assert client.jobs() == [] and client.spool_files() == []


def test_pending_job_survives_delivery_being_down(make_client, raw_printer, tmp_path: Path):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")
    client.wait_printer()
    document = tmp_path / "doc.bin"
    digest = make_document(document, 100_000)
    assert client.run_cli("print", str(document), "-P", "office").returncode == 0
    assert client.job_state(1) == JobState.PENDING

    client.start("delivery")  # rebuilds its work from the store, no notification needed

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, what="completed")
    assert sha256_file(raw_printer.jobs()[0]) == digest
