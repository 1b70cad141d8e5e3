"""Ten jobs held on the PC, released at a printer that has just jammed: none of them goes into
the jammed printer, and once it is back all ten come out in the order they were printed.

Real server, real client processes, release through the server and the persistent channel;
the printer is the stoppable IPP printer of ``tests/stoppable_printer.py`` (ippeveprinter
cannot report ``stopped``)."""

from __future__ import annotations

from protocol.states import JobState
from services.core.ipp import Operation, Status
from support.server import add_printer_and_port
from support.waiting import wait_for
from tests.e2e.test_local_mode import PULL_PORT, add_user, release, server_job


def test_ten_released_jobs_wait_for_a_jammed_printer_and_arrive_in_order(
    online_client, cloud, stoppable_printer
):
    printer = stoppable_printer
    add_user(cloud, "alice")
    add_printer_and_port(
        cloud, "floor1", printer.port, protocol="ipp", path="/ipp/print", port_name="hall"
    )
    client = online_client([PULL_PORT])
    documents = [f"chapter {n}\n".encode() * 500 for n in range(1, 11)]
    for document in documents:
        reply = client.ipp(Operation.PRINT_JOB, printer="hall", user="alice", document=document)
        assert reply.code == Status.OK
    jobs = client.jobs()
    for job in jobs:
        wait_for(lambda job=job: server_job(cloud, job.uuid), 30, "the server to know each job")
    printer.stop_printing("media-jam-error", "Paper jam in the duplexer")

    assert release(cloud, "alice", "floor1") == [job.uuid for job in jobs]

    first = jobs[0].id
    wait_for(lambda: client.job_state(first) == JobState.PROCESSING_STOPPED, 30, "first waits")
    assert "media-jam-error" in client.jobs()[0].state_message
    assert all(client.job_state(job.id) == JobState.PENDING for job in jobs[1:])
    assert printer.received == []

    printer.resume()

    wait_for(lambda: len(printer.received) == 10, 60, "all ten printed")
    assert printer.documents() == documents
    assert {r.user for r in printer.received} == {"alice"}
    assert not any(r.while_stopped for r in printer.received)
    wait_for(
        lambda: all(client.job_state(job.id) == JobState.COMPLETED for job in jobs),
        30,
        "all ten completed",
    )
