"""Job history and accounting: reports from endpoints, what users see, cancel."""

from __future__ import annotations

import json
from pathlib import Path

from server import jobs
from server.models import Job
from server.store import Store, default_url
from support.server import ServerProcess, add_printer_and_port, authorized_endpoint
from tests.server.clients import header, open_channel, unique, upload


def user_token(server: ServerProcess, name: str) -> str:
    with server.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": name, "password": "pw"})
    with server.http() as client:
        return client.post("/api/v1/login", json={"user": name, "password": "pw"}).json()["token"]


def test_reports_are_recorded_once_and_shown_to_their_owner(server: ServerProcess) -> None:
    endpoint_id, token = authorized_endpoint(server)
    owner, job_id = unique("ida"), unique("job")
    report = {"job_id": job_id, "owner": owner, "state": "completed", "printer": "hall",
              "size": 1234, "created_at": 1000.0, "completed_at": 1010.0}  # fmt: skip
    with server.http(token) as client:
        for _ in range(2):  # at-least-once on the wire, once on the server
            answer = client.post("/api/v1/reports", json={"reports": [report]})
            assert answer.json() == {"results": {job_id: "ok"}}
    with server.http(user_token(server, owner)) as client:
        jobs = client.get("/api/v1/jobs").json()["jobs"]
    assert len(jobs) == 1
    job = jobs[0]
    assert (job["id"], job["state"], job["printer"], job["size"]) == (
        job_id, "completed", "hall", 1234,
    )  # fmt: skip
    assert (job["endpoint_id"], job["created_at"], job["completed_at"]) == (endpoint_id, 1000, 1010)


def test_a_finished_job_never_moves_backwards(server: ServerProcess) -> None:
    _, token = authorized_endpoint(server)
    job_id = unique("job")
    with open_channel(server, token) as ws:
        for i, (kind, body) in enumerate(
            [
                ("job.stored", {"job_id": job_id, "owner": "jo", "size": 5}),
                ("job.state", {"job_id": job_id, "state": "completed"}),
                ("job.state", {"job_id": job_id, "state": "processing"}),  # a late replay
            ]
        ):
            ws.send(json.dumps({"type": kind, "id": f"m{i}", "body": body}))
        acked = set()
        while len(acked) < 3:
            message = json.loads(ws.recv(10))
            if message["type"] == "ack":
                acked.add(message["id"])
    job = server.job(job_id)
    assert job is not None and job["state"] == "completed"


def test_user_cancels_a_held_job_and_its_document_is_deleted(server: ServerProcess) -> None:
    _, token = authorized_endpoint(server)
    port_id = add_printer_and_port(server, unique("raw"), 9)
    owner, job_id = unique("kim"), unique("job")
    reply = upload(
        server.gateway_port, server.ca, header(token, job_id, port_id, b"x", owner=owner), b"x"
    )
    assert reply is not None and reply.code == "stored"
    with server.http(user_token(server, owner)) as client:
        assert client.post(f"/api/v1/jobs/{job_id}/cancel").json()["state"] == "canceled"
        assert client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 409
    assert job_id not in server.documents()
    job = server.job(job_id)
    assert job is not None and (job["state"], job["reasons"]) == (
        "canceled",
        "job-canceled-by-user",
    )


def test_canceling_an_endpoint_held_job_sends_cancel_to_that_endpoint(
    server: ServerProcess,
) -> None:
    _, token = authorized_endpoint(server)
    job_id = unique("job")
    with open_channel(server, token) as ws:
        stored = {"job_id": job_id, "owner": "lee", "size": 5}
        ws.send(json.dumps({"type": "job.stored", "id": "s", "body": stored}))
        while json.loads(ws.recv(10))["type"] != "ack":
            pass
        with server.admin() as admin:
            assert admin.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 200
        while (message := json.loads(ws.recv(10)))["type"] != "cancel":
            pass
        assert message["body"] == {"job_ids": [job_id]}


def test_a_report_over_the_channel_is_acked_and_recorded(server: ServerProcess) -> None:
    _, token = authorized_endpoint(server)
    job_id, owner = unique("job"), unique("max")
    report = {"job_id": job_id, "owner": owner, "state": "aborted", "printer": "lobby"}
    with open_channel(server, token) as ws:
        ws.send(json.dumps({"type": "report", "id": "r1", "body": report}))
        while (message := json.loads(ws.recv(10)))["type"] != "ack":
            pass
    assert message["id"] == "r1" and message["body"]["ok"] is True
    job = server.job(job_id)
    assert job is not None and (job["owner"], job["state"]) == (owner, "aborted")


def test_an_endpoint_report_never_moves_a_job_its_upload_took_over(
    tmp_path: Path, db_url: str | None
) -> None:
    """The endpoint's report is read while the job is still the endpoint's; its upload lands
    before the report is written. The report must not move the job (a "processing" there hid
    the job from Document Output for good)."""
    store = Store(db_url or default_url(tmp_path))
    store.migrate()
    job_id = unique("job")
    try:
        with store.session() as session:
            session.add(Job(id=job_id, owner="ann", location="endpoint", state="pending"))
        with store.session() as reporter:
            assert reporter.get(Job, job_id).location == "endpoint"  # what the report saw
            with store.session() as gateway:  # the upload commits meanwhile
                uploaded = gateway.get(Job, job_id)
                uploaded.location, uploaded.state = "server", "pending"
            assert not jobs.follow(reporter, job_id, "processing", location="endpoint")
        with store.session() as session:
            assert session.get(Job, job_id).state == "pending"
    finally:
        store.close()
