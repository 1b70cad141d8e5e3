"""Release and Document Output: held jobs reach real printers (raw TCP and ippeveprinter)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest

from support.ports import free_port
from support.server import ServerProcess, add_printer_and_port, authorized_endpoint, printer_id
from support.waiting import wait_for
from tests.server.clients import header, open_channel, unique, upload
from tests.server.peers import IppEvePrinter, RawSink


@pytest.fixture(scope="module")
def token(shared_server: ServerProcess) -> str:
    return authorized_endpoint(shared_server, "output-test")[1]


def add_user(server: ServerProcess, name: str, password: str = "secret-pw") -> str:
    """Create a user and log in; returns the user token."""
    with server.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": name, "password": password})
    with server.http() as client:
        login = client.post("/api/v1/login", json={"user": name, "password": password})
        return login.raise_for_status().json()["token"]


def store(server: ServerProcess, token: str, port_id: int, owner: str, body: bytes, **kw: object
          ) -> str:  # fmt: skip
    job_id = unique("job")
    head = header(token, job_id, port_id, body, owner=owner, **kw)
    reply = upload(server.gateway_port, server.ca, head, body)
    assert reply is not None and reply.code == "stored", reply
    return job_id


def state_of(server: ServerProcess, job_id: str) -> str:
    job = server.job(job_id)
    assert job is not None
    return job["state"]


def test_released_job_is_delivered_to_a_raw_printer(
    server: ServerProcess, token: str, raw_sink: RawSink
) -> None:
    printer = unique("raw")
    port_id = add_printer_and_port(server, printer, raw_sink.port)
    user = unique("alice")
    user_token = add_user(server, user)
    body = os.urandom(300_000)
    job_id = store(server, token, port_id, user, body)
    assert state_of(server, job_id) == "pending-held"
    assert raw_sink.documents() == []  # held: nothing prints before the release

    with server.http(user_token) as client:
        released = client.post("/api/v1/release", json={"user": user, "printer": printer})
    assert released.json() == {"printer": printer, "job_ids": [job_id]}
    wait_for(lambda: raw_sink.documents() == [body], 30, "document at the raw printer")
    wait_for(lambda: state_of(server, job_id) == "completed", 30, "job completed")
    assert job_id not in server.documents()  # finished documents are deleted, rows stay
    job = server.job(job_id)
    assert job is not None and job["printer"] == printer and job["completed_at"]


def test_user_cannot_release_another_users_jobs(
    server: ServerProcess, token: str, raw_sink: RawSink
) -> None:
    printer = unique("raw")
    port_id = add_printer_and_port(server, printer, raw_sink.port)
    alice, mallory = unique("alice"), unique("mallory")
    add_user(server, alice)
    mallory_token = add_user(server, mallory)
    job_id = store(server, token, port_id, alice, b"alice's payslip")
    with server.http(mallory_token) as client:
        refused = client.post("/api/v1/release", json={"user": alice, "printer": printer})
        assert refused.status_code == 403
        assert client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 404
        assert job_id not in [j["id"] for j in client.get("/api/v1/jobs").json()["jobs"]]
    assert state_of(server, job_id) == "pending-held"
    assert raw_sink.documents() == []


def test_direct_port_upload_prints_at_once(
    server: ServerProcess, token: str, raw_sink: RawSink
) -> None:
    port_id = add_printer_and_port(server, unique("raw"), raw_sink.port, kind="direct")
    body = b"%!PS direct job\n" * 1000
    job_id = store(server, token, port_id, unique("bob"), body)
    wait_for(lambda: raw_sink.documents() == [body], 30, "direct job printed")
    wait_for(lambda: state_of(server, job_id) == "completed", 30, "job completed")


def test_deliver_to_upload_prints_at_once_at_that_printer(
    server: ServerProcess, token: str, raw_sink: RawSink
) -> None:
    printer = unique("released-here")
    port_id = add_printer_and_port(server, printer, raw_sink.port)  # a pull port
    target = printer_id(server, printer)
    job_id = store(server, token, port_id, unique("carol"), b"fallback job", deliver_to=target)
    wait_for(lambda: raw_sink.documents() == [b"fallback job"], 30, "deliver_to job printed")
    wait_for(lambda: state_of(server, job_id) == "completed", 30, "job completed")
    job = server.job(job_id)
    assert job is not None and job["printer"] == printer  # the server's name for where it went


def test_unreachable_printer_is_retried_until_it_answers(
    server: ServerProcess, token: str, tmp_path: object
) -> None:
    port = free_port()  # nothing listens here yet
    port_id = add_printer_and_port(server, unique("late"), port, kind="direct")
    job_id = store(server, token, port_id, unique("dave"), b"patience")
    wait_for(lambda: state_of(server, job_id) == "processing-stopped", 30, "retry state")
    sink = RawSink(tmp_path / "late", port)  # type: ignore[operator]
    try:
        wait_for(lambda: sink.documents() == [b"patience"], 30, "printed after retries")
        wait_for(lambda: state_of(server, job_id) == "completed", 30, "job completed")
        assert len(sink.documents()) == 1  # a completed delivery is never sent again
    finally:
        sink.stop()
    job = server.job(job_id)
    assert job is not None and job["attempts"] >= 2


def test_ten_released_jobs_arrive_in_the_order_they_were_printed(
    server: ServerProcess, token: str, tmp_path: object
) -> None:
    port = free_port()  # the printer is off when the user releases: every job must wait
    printer = unique("queue")
    port_id = add_printer_and_port(server, printer, port)
    user = unique("frank")
    user_token = add_user(server, user)
    bodies = [f"page {n} of the thesis ".encode() * 2000 for n in range(1, 11)]
    job_ids = [store(server, token, port_id, user, body) for body in bodies]

    with server.http(user_token) as client:
        released = client.post("/api/v1/release", json={"user": user, "printer": printer})
    assert released.json()["job_ids"] == job_ids
    wait_for(lambda: state_of(server, job_ids[0]) == "processing-stopped", 30, "first waits")
    # The others are not tried while the first waits: they keep their place behind it.
    assert [state_of(server, j) for j in job_ids[1:]] == ["pending"] * 9

    sink = RawSink(tmp_path / "queue", port)  # type: ignore[operator]
    try:
        wait_for(lambda: len(sink.documents()) == 10, 60, "all ten printed")
        arrived = [(sink.directory / f"job-{n}.bin").read_bytes() for n in range(1, 11)]
        assert arrived == bodies
    finally:
        sink.stop()


def test_released_job_is_delivered_to_ippeveprinter(
    server: ServerProcess, token: str, ippeveprinter: IppEvePrinter
) -> None:
    printer = unique("ipp")
    port_id = add_printer_and_port(
        server, printer, ippeveprinter.port, protocol="ipp", path="/ipp/print"
    )
    user = unique("erin")
    body = b"%PDF-1.4\n" + os.urandom(200_000)
    job_id = store(server, token, port_id, user, body)
    with server.admin() as admin:
        released = admin.post("/api/v1/release", json={"user": user, "printer": printer})
        assert released.json()["job_ids"] == [job_id]
    wait_for(lambda: ippeveprinter.documents() == [body], 60, "document at ippeveprinter")
    wait_for(lambda: state_of(server, job_id) == "completed", 30, "job completed")


def test_endpoint_held_job_is_released_over_the_channel(
    server: ServerProcess, raw_sink: RawSink
) -> None:
    """A pull job held on a client: the server tells that client to print it, once acked."""
    printer = unique("raw")
    port_id = add_printer_and_port(server, printer, raw_sink.port)
    _, endpoint_token = authorized_endpoint(server, "holder")
    user, job_id = unique("frank"), unique("held")
    with open_channel(server, endpoint_token) as ws:
        stored = {"owner": user, "job_id": job_id, "port_id": port_id, "size": 42}
        ws.send(json.dumps({"type": "job.stored", "id": "m1", "body": stored}))
        assert json.loads(ws.recv(10))["type"] in ("ack", "heartbeat")
        wait_for(lambda: server.job(job_id) is not None, 10, "job known to the server")
        assert state_of(server, job_id) == "pending-held"
        with server.admin() as admin:
            admin.post("/api/v1/release", json={"user": user, "printer": printer})
        command = next_message(ws, "release")
        assert command["body"]["job_ids"] == [job_id]
        assert command["body"]["printer"]["port"] == raw_sink.port
        ws.send(json.dumps({"type": "ack", "id": command["id"], "body": {"ok": True}}))
        done = {"job_id": job_id, "state": "completed", "printer": printer}
        ws.send(json.dumps({"type": "job.state", "id": "m2", "body": done}))
        wait_for(lambda: state_of(server, job_id) == "completed", 10, "completed reported")
    assert raw_sink.documents() == []  # the client prints it, not the server


def next_message(ws: object, type_: str) -> dict:
    for _ in range(100):
        message = json.loads(ws.recv(10))  # type: ignore[attr-defined]
        if message["type"] == type_:
            return message
    raise AssertionError(f"no {type_} message")


def test_held_jobs_expire_after_the_retention_setting(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("--expiry-interval", "0.2")
    _, endpoint_token = authorized_endpoint(server)
    port_id = add_printer_and_port(server, unique("raw"), 9)
    job_id = store(server, endpoint_token, port_id, unique("hank"), b"forgotten")
    assert job_id in server.documents()
    with server.admin() as admin:
        admin.put("/api/v1/admin/settings/retention", json={"value": 0}).raise_for_status()
    wait_for(lambda: state_of(server, job_id) == "canceled", 30, "held job expired")
    assert job_id not in server.documents()


def test_ipp_client_error_aborts_the_job_without_retrying(
    server: ServerProcess, token: str, ippeveprinter: IppEvePrinter
) -> None:
    printer = unique("ipp")
    port_id = add_printer_and_port(
        server, printer, ippeveprinter.port, protocol="ipp", path="/ipp/print", kind="direct"
    )
    job_id = store(server, token, port_id, unique("ivan"), b"?", format="application/x-unknown")
    wait_for(lambda: state_of(server, job_id) == "aborted", 30, "job aborted")
    job = server.job(job_id)
    assert job is not None and job["attempts"] == 1 and job["reasons"] == "aborted-by-system"
    assert ippeveprinter.documents() == []


def test_a_released_job_uploaded_by_its_endpoint_ignores_the_endpoints_late_states(
    server: ServerProcess, raw_sink: RawSink
) -> None:
    """Released while its endpoint delivers by the gateway: once the upload is stored the
    server prints it, and the endpoint's own state reports arriving after cannot move it."""
    printer = unique("raw")
    port_id = add_printer_and_port(server, printer, raw_sink.port)
    _, endpoint_token = authorized_endpoint(server, "uploader")
    user, job_id = unique("gina"), unique("held")
    body = b"released, then uploaded"
    with open_channel(server, endpoint_token) as ws:
        stored = {"owner": user, "job_id": job_id, "port_id": port_id, "size": len(body)}
        ws.send(json.dumps({"type": "job.stored", "id": "m1", "body": stored}))
        wait_for(lambda: server.job(job_id) is not None, 10, "job known to the server")
        raw_sink.stop()  # the printer is away: the uploaded job waits on the server
        target = printer_id(server, printer)
        reply = upload(
            server.gateway_port, server.ca, header(endpoint_token, job_id, port_id, body,
                                                   owner=user, deliver_to=target), body,
        )  # fmt: skip
        assert reply is not None and reply.status == "ok", reply
        wait_for(lambda: state_of(server, job_id) == "processing-stopped", 30, "retrying")
        late = {"job_id": job_id, "state": "completed", "printer": printer}
        ws.send(json.dumps({"type": "job.state", "id": "m2", "body": late}))
        next_message(ws, "ack")
    assert state_of(server, job_id) == "processing-stopped"  # not the endpoint's "completed"


def test_a_job_for_an_ipps_printer_is_not_sent_in_plain_by_the_server(
    server: ServerProcess, token: str, raw_sink: RawSink
) -> None:
    """The server keeps no pins of printers' certificates (endpoints do, issue 21): it refuses
    to print at an IPPS printer rather than send there unverified or in plain."""
    port_id = add_printer_and_port(
        server, unique("ipps"), raw_sink.port, protocol="ipps", path="/ipp/print", kind="direct"
    )
    job_id = store(server, token, port_id, unique("ines"), b"%PDF- for the secure printer")
    wait_for(lambda: state_of(server, job_id) == "aborted", 30, "job aborted")
    job = server.job(job_id)
    assert job is not None and job["attempts"] == 1 and job["reasons"] == "aborted-by-system"
    said = [
        line for line in server.logs().splitlines() if "output.aborted" in line and job_id in line
    ]
    assert said and "does not print to IPPS printers" in said[0]
    assert raw_sink.count == 0  # not even a connection
