"""Kill -9 at the worst moments: nothing lost, nothing completed sent twice."""

from __future__ import annotations

import os
import signal

from protocol.states import JobState
from services.core.ipp import Operation, Status, Tag
from support.printers import VirtualPrinter, direct_printer
from support.waiting import wait_for
from tests.documents import make_document, sha256_file

MB = 1024 * 1024


def test_killed_delivery_resends_interrupted_job_once_and_completes(make_client, tmp_path):
    # A printer slower than the network (20 MB/s), so the kill lands mid-stream.
    printer = VirtualPrinter(tmp_path / "printed", rate=20 * MB)
    printer.start()
    try:
        client = make_client([direct_printer(printer)])
        client.start("sync", "spooler", "delivery")
        client.wait_printer()
        document = tmp_path / "big.bin"
        digest = make_document(document, 50 * MB)
        assert client.run_cli("print", str(document), "-P", "office").returncode == 0

        wait_for(lambda: printer.partial_size() > 5 * MB, what="delivery mid-stream")
        # The printer stops reading, so the kill lands mid-stream however slow this machine
        # is between here and the kill (a loaded run once let the whole job through first).
        os.kill(printer.process.pid, signal.SIGSTOP)
        try:
            assert client.job_state(1) == JobState.PROCESSING
            client.processes["delivery"].kill9()
        finally:
            os.kill(printer.process.pid, signal.SIGCONT)
        client.start("delivery")

        wait_for(lambda: client.job_state(1) == JobState.COMPLETED, timeout=60, what="completed")
        # The printer got the cut-off first attempt (as a real raw printer would) and exactly
        # one complete copy; nothing more arrives afterwards.
        wait_for(lambda: printer.partial_size() == 0, what="printer finished writing")
        complete = [p for p in printer.jobs() if sha256_file(p) == digest]
        assert len(complete) == 1
        assert len(printer.jobs()) == 2
        [job] = client.jobs()
        assert job.attempts == 2

        # A restart after completion sends nothing again.
        client.restart("delivery")
        wait_for(lambda: "service.started" in client.logs(), what="delivery restarted")
        assert len(printer.jobs()) == 2
    finally:
        printer.stop()


def test_killed_delivery_between_jobs_loses_none(make_client, raw_printer, tmp_path):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")
    client.wait_printer()
    digests = []
    for i in range(5):
        document = tmp_path / f"doc{i}.bin"
        digests.append(make_document(document, 300_000 + i))
        assert client.run_cli("print", str(document), "-P", "office").returncode == 0

    client.start("delivery")
    wait_for(lambda: len(raw_printer.jobs()) >= 2, what="some jobs delivered")
    client.processes["delivery"].kill9()
    client.start("delivery")

    wait_for(
        lambda: all(j.state == JobState.COMPLETED for j in client.jobs()), what="all completed"
    )
    printed = [sha256_file(p) for p in raw_printer.jobs()]
    whole = [d for d in printed if d in digests]
    # Every job arrived whole; the one in flight during the kill may have arrived once more,
    # whole or cut off where the kill landed (as a real raw printer would print it).
    assert set(whole) == set(digests)
    assert len(printed) - len(digests) <= 1


def test_cancel_while_sending_stops_the_transfer(make_client, tmp_path):
    printer = VirtualPrinter(tmp_path / "printed", rate=4 * MB)
    printer.start()
    try:
        client = make_client([direct_printer(printer)])
        client.start("sync", "spooler", "delivery")
        client.wait_printer()
        document = tmp_path / "long.bin"
        make_document(document, 40 * MB)
        assert client.run_cli("print", str(document), "-P", "office", "-U", "eve").returncode == 0
        wait_for(lambda: printer.partial_size() > 2 * MB, what="delivery under way")

        reply = client.ipp(Operation.CANCEL_JOB, user="eve", job_id=(Tag.INTEGER, 1))

        assert reply.code == Status.OK
        log = client.root / "log" / "delivery.log"
        wait_for(lambda: "delivery.stopped" in log.read_text(), what="delivery to stop")
        wait_for(lambda: printer.partial_size() == 0, what="the printer to see the end")
        assert all(p.stat().st_size < 40 * MB for p in printer.jobs())
        assert client.job_state(1) == JobState.CANCELED
    finally:
        printer.stop()
