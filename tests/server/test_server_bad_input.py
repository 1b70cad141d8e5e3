"""Bad input on REST and the channel gets a clear 4xx or protocol error, and changes nothing."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed

from protocol.channel import CLOSE_PROTOCOL
from support.server import ServerProcess, authorized_endpoint
from tests.server.clients import open_channel, unique


@pytest.mark.parametrize(
    "path", ["/api/v1/endpoints", "/api/v1/login", "/api/v1/release", "/api/v1/admin/users"]
)
def test_malformed_json_is_a_400(server: ServerProcess, path: str) -> None:
    with server.admin() as client:
        response = client.post(
            path, content=b'{"hostname": "pc",', headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == "malformed-json"


def test_wrong_fields_are_a_422_and_register_nothing(server: ServerProcess) -> None:
    with server.admin() as client:
        before = client.get("/api/v1/admin/endpoints").json()
        response = client.post("/api/v1/endpoints", json={"hostname": "", "extra": 1})
        assert response.status_code == 422
        assert response.json()["detail"]["code"] == "invalid"
        assert client.get("/api/v1/admin/endpoints").json() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/endpoints/987654/token", {"secret": "x"}),
        ("POST", "/api/v1/admin/endpoints/987654/authorize", None),
        ("POST", "/api/v1/admin/endpoints/987654/revoke", None),
        ("POST", "/api/v1/release", {"user": "nobody", "printer": "no-such-printer"}),
        ("POST", "/api/v1/jobs/no-such-job/cancel", None),
        ("POST", "/api/v1/admin/ports", {"name": "p", "kind": "pull", "printers": ["nope"]}),
    ],
)
def test_unknown_ids_are_a_404(
    server: ServerProcess, method: str, path: str, body: dict | None
) -> None:
    with server.admin() as client:
        response = client.request(method, path, json=body)
    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "not-found"


def test_admin_routes_need_the_admin_token(server: ServerProcess) -> None:
    _, endpoint_token = authorized_endpoint(server)
    with server.http(endpoint_token) as client:
        assert client.get("/api/v1/admin/users").status_code == 403
    with server.http() as client:
        assert client.get("/api/v1/admin/users").status_code == 401


def test_duplicate_names_are_a_409(server: ServerProcess) -> None:
    name = unique("user")
    with server.admin() as client:
        assert client.post("/api/v1/admin/users", json={"name": name, "password": "x"}).is_success
        again = client.post("/api/v1/admin/users", json={"name": name, "password": "y"})
    assert again.status_code == 409


def test_channel_garbage_closes_with_a_protocol_error(server: ServerProcess) -> None:
    _, token = authorized_endpoint(server)
    with open_channel(server, token) as ws:
        ws.send("{not json")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_PROTOCOL


def test_channel_invalid_body_and_unknown_type_are_nacked(server: ServerProcess) -> None:
    _, token = authorized_endpoint(server)
    job_id = unique("job")
    with open_channel(server, token) as ws:
        ws.send(json.dumps({"type": "job.stored", "id": "a1", "body": {"job_id": job_id}}))
        ws.send(json.dumps({"type": "print.everything", "id": "a2", "body": {}}))
        ghost = {"job_id": unique("ghost"), "state": "completed"}
        ws.send(json.dumps({"type": "job.state", "id": "a3", "body": ghost}))
        acks = {}
        while len(acks) < 3:
            message = json.loads(ws.recv(10))
            if message["type"] == "ack":
                acks[message["id"]] = message["body"]
    assert (acks["a1"]["ok"], acks["a1"]["code"]) == (False, "invalid-body")
    assert (acks["a2"]["ok"], acks["a2"]["code"]) == (False, "unknown-type")
    assert (acks["a3"]["ok"], acks["a3"]["code"]) == (False, "unknown-job")
    assert server.job(job_id) is None


def test_oversized_and_unsized_bodies_are_refused(server: ServerProcess) -> None:
    with server.http() as client:
        huge = client.post("/api/v1/login", content=b"x" * (2 * 1024 * 1024),
                           headers={"Content-Type": "application/json"})  # fmt: skip
        assert huge.status_code == 413
        assert huge.json()["detail"]["code"] == "too-large"
        chunked = client.post("/api/v1/login", content=iter([b'{"user": "a"}']))
        assert chunked.status_code == 411
