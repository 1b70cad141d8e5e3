"""Which printer a request is for, as RFC 8011 says (issue 21): its printer-uri, not the HTTP
path it was posted to; a job-uri alone finds its job's printer (a request posted to /jobs/N,
as clients do with the job-uri we hand out)."""

from __future__ import annotations

import httpx

from protocol.states import JobState
from services.core import ipp
from services.core.ipp import Operation, Status, Tag
from support.client import Client

HALL = {"name": "hall", "kind": "pull"}
LOBBY = {"name": "lobby", "kind": "pull"}


def post(client: Client, path: str, request: ipp.Message, document: bytes = b"") -> ipp.Message:
    reply = httpx.post(
        f"http://127.0.0.1:{client.spooler_port}{path}",
        content=ipp.encode(request) + document,
        headers={"Content-Type": "application/ipp"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return ipp.parse(reply.content)[0]


def print_job(client: Client, printer_uri: str) -> ipp.Message:
    request = ipp.request(Operation.PRINT_JOB)
    request.operation.add("printer-uri", Tag.URI, printer_uri)
    request.operation.add("requesting-user-name", Tag.NAME, "root")
    return request


def test_the_printer_uri_chooses_the_printer_and_a_job_uri_finds_its_job(make_client):
    client = make_client([HALL, LOBBY])
    client.start("sync", "spooler")
    client.wait_printer("hall")
    client.wait_printer("lobby")
    base = f"ipp://127.0.0.1:{client.spooler_port}/printers"

    # Posted to /printers/hall, naming lobby: it is lobby's job.
    stored = post(client, "/printers/hall", print_job(client, f"{base}/lobby"), b"%PDF to lobby")
    assert stored.code == Status.OK
    [job] = client.jobs()
    assert (job.printer, JobState(job.state)) == ("lobby", JobState.PENDING_HELD)

    # Naming a printer we do not have: not found, whatever the path, and nothing stored.
    bogus = post(client, "/printers/hall", print_job(client, f"{base}/bogus"), b"%PDF")
    assert bogus.code == Status.CLIENT_ERROR_NOT_FOUND
    assert bogus.operation.get("status-message") == f"no printer at {base}/bogus"
    assert len(client.jobs()) == 1

    # The job-uri handed out, posted where it points.
    job_uri = stored.groups[-1].get("job-uri")
    assert job_uri == f"ipp://127.0.0.1:{client.spooler_port}/jobs/{job.id}"
    asked = ipp.request(Operation.GET_JOB_ATTRIBUTES)
    asked.operation.add("job-uri", Tag.URI, job_uri)
    asked.operation.add("requesting-user-name", Tag.NAME, "root")
    reply = post(client, f"/jobs/{job.id}", asked)
    assert reply.code == Status.OK, reply.operation.get("status-message")
    assert reply.groups[-1].get("job-id") == job.id

    gone = ipp.request(Operation.GET_JOB_ATTRIBUTES)
    gone.operation.add("job-uri", Tag.URI, f"ipp://127.0.0.1:{client.spooler_port}/jobs/999")
    gone.operation.add("requesting-user-name", Tag.NAME, "root")
    assert post(client, "/jobs/999", gone).code == Status.CLIENT_ERROR_NOT_FOUND


def test_a_printer_uri_that_is_not_a_uri_is_a_bad_request(make_client):
    client = make_client([HALL])
    client.start("sync", "spooler")
    client.wait_printer("hall")
    reply = post(client, "/printers/hall", print_job(client, "ipp://[bad/printers/hall"), b"%PDF")
    assert reply.code == Status.CLIENT_ERROR_BAD_REQUEST
    assert reply.operation.get("status-message") == "printer-uri is not a URI"
    assert client.jobs() == [] and "Traceback" not in client.logs()
