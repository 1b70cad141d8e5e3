"""A cancel that comes after the printer has the whole job is refused, not reported (issue 19,
finding 11): before, it was accepted, the server heard "canceled", and the job printed.

The printer here is a raw socket that reads every byte and then keeps the connection open until
the test lets it go, as a printer does while it works through a job: the job is ``processing``
with ``job-queued-for-marker`` for as long as the test needs. A cancel in time still stops a
transfer (tests/e2e and test_api_jobs show that path)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from protocol.states import JobState
from services.core import jobs
from services.core.ipp import Operation, Status, Tag
from support.waiting import wait_for
from tests.integration.test_api import start_api


class SlowPrinter:
    """Takes a job to the last byte, then answers (closes) only when ``finish`` is called."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = bytearray()
        self.whole = threading.Event()
        self.release = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.whole.is_set():  # the first connections may be reachability probes
            connection, _ = self.listener.accept()
            with connection:
                while data := connection.recv(65536):
                    self.received += data
                if self.received:
                    self.whole.set()
                    self.release.wait(60)

    def finish(self) -> None:
        self.release.set()


@pytest.fixture
def slow_printer() -> Iterator[SlowPrinter]:
    printer = SlowPrinter()
    yield printer
    printer.finish()
    printer.listener.close()


def test_a_cancel_after_the_printer_has_every_byte_is_refused(make_client, slow_printer):
    office = {"name": "office", "kind": "direct", "host": "127.0.0.1", "port": slow_printer.port}
    api = start_api(make_client, "spooler", "sync", "delivery", printers=[office])
    api.client.wait_printer()
    document = b"%PDF quarterly figures" * 1000
    reply = api.client.ipp(
        Operation.PRINT_JOB, user="root", document=document, job_name=(Tag.NAME, "figures")
    )
    assert reply.code == Status.OK
    assert slow_printer.whole.wait(30), "the printer never got the whole job"
    [job] = wait_for(
        lambda: [j for j in api.client.jobs() if j.state_reasons == jobs.ALL_SENT],
        30,
        "the job marked as queued for the marker",
    )

    by_ipp = api.client.ipp(Operation.CANCEL_JOB, user="root", job_id=(Tag.INTEGER, job.id))
    by_facade = api.admin("POST", f"/jobs/{job.uuid}/cancel")

    assert by_ipp.code == Status.CLIENT_ERROR_NOT_POSSIBLE
    assert "can no longer be canceled" in by_ipp.operation.get("status-message")
    assert by_facade.status_code == 409, by_facade.text
    assert by_facade.json()["detail"]["code"] == "job-printing"
    assert "can no longer be canceled" in by_facade.json()["detail"]["message"]
    assert api.client.job_state(job.id) == JobState.PROCESSING

    slow_printer.finish()
    wait_for(lambda: api.client.job_state(job.id) == JobState.COMPLETED, 60, "job completed")
    assert bytes(slow_printer.received) == document
