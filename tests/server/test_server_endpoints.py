"""Endpoints: registration -> authorization -> token, and refusal everywhere otherwise."""

from __future__ import annotations

import ssl

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from protocol.channel import CLOSE_UNAUTHORIZED
from support.server import ServerProcess, add_printer_and_port, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import header, open_channel, unique, upload


def assert_refused_everywhere(server: ServerProcess, token: str, ca: ssl.SSLContext) -> None:
    with server.http(token) as client:
        response = client.get("/api/v1/printers")
        assert response.status_code == 401
        assert response.json()["detail"]["code"] == "unauthorized"
    with pytest.raises(InvalidStatus) as refused:
        open_channel(server, token, ca)
    assert refused.value.response.status_code == 403
    port_id = add_printer_and_port(server, unique("printer"), 9)
    job_id = unique("job")
    reply = upload(server.gateway_port, ca, header(token, job_id, port_id, b"x"), b"x")
    assert reply is not None and reply.status == "error" and reply.code == "unauthorized"
    assert server.job(job_id) is None
    assert not [name for name in server.documents() if name.startswith(job_id)]


def test_registration_then_authorization_then_token_once(server: ServerProcess) -> None:
    with server.http() as client:
        reg = client.post("/api/v1/endpoints", json={"hostname": "pc-7", "os": "linux"})
        assert reg.status_code == 201
        endpoint_id, secret = reg.json()["endpoint_id"], reg.json()["secret"]
        poll = client.post(f"/api/v1/endpoints/{endpoint_id}/token", json={"secret": secret})
        assert (poll.json()["state"], poll.json()["token"]) == ("pending", None)
        with server.admin() as admin:
            listed = {e["id"]: e for e in admin.get("/api/v1/admin/endpoints").json()}
            assert (listed[endpoint_id]["hostname"], listed[endpoint_id]["state"]) == (
                "pc-7",
                "pending",
            )
            admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/authorize").raise_for_status()
        poll = client.post(f"/api/v1/endpoints/{endpoint_id}/token", json={"secret": secret})
        assert poll.json()["state"] == "authorized"
        token = poll.json()["token"]
        again = client.post(f"/api/v1/endpoints/{endpoint_id}/token", json={"secret": secret})
        assert again.status_code == 409
    with server.http(token) as client:
        assert client.get("/api/v1/printers").status_code == 200
        assert client.get("/api/v1/config").json()["gateway"].endswith(str(server.gateway_port))


def test_wrong_registration_secret_gets_no_token(server: ServerProcess) -> None:
    with server.http() as client:
        endpoint_id = client.post("/api/v1/endpoints", json={"hostname": "pc"}).json()[
            "endpoint_id"
        ]
        with server.admin() as admin:
            admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/authorize").raise_for_status()
        poll = client.post(f"/api/v1/endpoints/{endpoint_id}/token", json={"secret": "guess"})
        assert poll.status_code == 403


def test_unknown_token_refused_on_rest_channel_and_gateway(
    server: ServerProcess, tls: object
) -> None:
    assert_refused_everywhere(server, "not-a-token-anyone-was-given", tls.client)  # type: ignore[attr-defined]


def test_pending_endpoint_refused_everywhere(server: ServerProcess, tls: object) -> None:
    with server.http() as client:
        client.post("/api/v1/endpoints", json={"hostname": "pc"}).raise_for_status()
    # A pending endpoint has no token at all; the admin token is not an endpoint token either.
    with pytest.raises(InvalidStatus):
        open_channel(server, server.admin_token, tls.client)  # type: ignore[attr-defined]


def test_revoked_endpoint_is_disconnected_and_refused(server: ServerProcess, tls: object) -> None:
    ca: ssl.SSLContext = tls.client  # type: ignore[attr-defined]
    endpoint_id, token = authorized_endpoint(server)
    with open_channel(server, token, ca) as ws:
        with server.admin() as admin:
            admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/revoke").raise_for_status()
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_UNAUTHORIZED
    assert_refused_everywhere(server, token, ca)


def test_revoke_by_admin_cli_closes_the_channel(server: ServerProcess, tls: object) -> None:
    """The CLI is another process: the server notices on its next heartbeat tick."""
    endpoint_id, token = authorized_endpoint(server)
    with open_channel(server, token, tls.client) as ws:  # type: ignore[attr-defined]
        result = server.cli("endpoint", "revoke", str(endpoint_id))
        assert result.returncode == 0, result.stderr

        def closed() -> bool:
            try:
                ws.recv(timeout=0.2)
            except TimeoutError:
                return False
            except ConnectionClosed:
                return True
            return False

        wait_for(closed, 30, "channel closed after revoke")
