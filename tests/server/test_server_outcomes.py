"""Issue 20: the server tells an endpoint how every job it uploaded ended (printed, given up,
canceled), over the channel (`job.outcome`, queued with the job's end) and, for endpoints
without a channel, at POST /api/v1/endpoint/jobs/outcomes. Real server, real printers."""

from __future__ import annotations

import json
from collections.abc import Callable

from support.ports import free_port
from support.server import ServerProcess, add_printer_and_port, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import open_channel, unique
from tests.server.peers import RawSink
from tests.server.test_server_output import add_user, next_message, state_of, store

OUTCOMES = "/api/v1/endpoint/jobs/outcomes"


def outcome_over_channel(server: ServerProcess, token: str) -> dict:
    """The first `job.outcome` the endpoint's channel gets, acked as a client acks it."""
    with open_channel(server, token) as ws:
        message = next_message(ws, "job.outcome")
        ws.send(json.dumps({"type": "ack", "id": message["id"], "body": {"ok": True}}))
    return message["body"]


def test_an_endpoint_hears_that_document_output_gave_up_and_why(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("--retry-attempts", "2")
    _, token = authorized_endpoint(server, "uploader")
    printer = unique("off")
    port_id = add_printer_and_port(server, printer, free_port(), kind="direct")
    job_id = store(server, token, port_id, unique("olga"), b"never printed")
    wait_for(lambda: state_of(server, job_id) == "aborted", 60, "Document Output to give up")

    body = outcome_over_channel(server, token)

    assert body["job_id"] == job_id and body["state"] == "aborted"
    assert body["reasons"] == ["aborted-by-system"] and body["printer"] == printer
    assert body["message"].startswith(
        f"the server gave up printing it at {printer} after 2 attempts; last error: connect"
    )
    # The same answer over REST, for an endpoint without a channel; only to that endpoint.
    with server.http(token) as client:
        reply = client.post(OUTCOMES, json={"job_ids": [job_id, "no-such-job"]})
    assert reply.status_code == 200, reply.text
    assert reply.json()["outcomes"] == [body]
    _, other = authorized_endpoint(server, "someone-else")
    with server.http(other) as client:
        assert client.post(OUTCOMES, json={"job_ids": [job_id]}).json() == {"outcomes": []}
    user_token = add_user(server, unique("user"))
    with server.http(user_token) as client:
        assert client.post(OUTCOMES, json={"job_ids": [job_id]}).status_code == 403
    with server.http(token) as client:
        bad = client.post(OUTCOMES, json={"job_ids": ["../etc"]})
        assert bad.status_code == 422 and "Traceback" not in bad.text


def test_an_endpoint_hears_its_uploaded_job_was_printed(
    server: ServerProcess, raw_sink: RawSink
) -> None:
    _, token = authorized_endpoint(server, "uploader")
    printer = unique("raw")
    port_id = add_printer_and_port(server, printer, raw_sink.port, kind="direct")
    job_id = store(server, token, port_id, unique("paul"), b"printed for real")

    # The channel first: a REST answer that already says "completed" counts as delivered, and
    # the channel would then rightly not send it (a race this test once lost).
    body = outcome_over_channel(server, token)

    assert raw_sink.documents() == [b"printed for real"]
    assert (body["job_id"], body["state"], body["printer"]) == (job_id, "completed", printer)
    assert body["message"].startswith(f"printed at {printer} by the server")
    with server.http(token) as client:
        assert client.post(OUTCOMES, json={"job_ids": [job_id]}).json()["outcomes"] == [body]


def test_an_endpoint_hears_its_uploaded_job_was_canceled_on_the_server(
    server: ServerProcess,
) -> None:
    _, token = authorized_endpoint(server, "uploader")
    port_id = add_printer_and_port(server, unique("raw"), free_port())  # a pull port: held
    job_id = store(server, token, port_id, unique("rita"), b"held on the server")
    with server.admin() as admin:
        admin.post(f"/api/v1/jobs/{job_id}/cancel").raise_for_status()

    body = outcome_over_channel(server, token)

    assert (body["job_id"], body["state"]) == (job_id, "canceled")
    assert body["reasons"] == ["job-canceled-by-user"]
    assert body["message"] == "canceled on the server"
