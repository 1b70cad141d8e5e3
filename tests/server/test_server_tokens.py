"""Endpoint credentials: short-lived access tokens, rotating refresh tokens, and revocation
that takes effect everywhere within seconds; disabled users are refused and logged out."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection

from protocol.channel import CLOSE_UNAUTHORIZED
from server import tokens
from server.models import Endpoint
from server.store import Store, alembic_config, default_url
from support.server import ServerProcess, add_printer_and_port
from support.waiting import wait_for
from tests.server.clients import header, open_channel, unique, upload

# Revocation must reach a connected client within this; a wait limit, not a speed assertion.
REVOCATION_BOUND = 5.0


def register_and_authorize(server: ServerProcess, hostname: str = "pc") -> tuple[int, dict]:
    """The endpoint id and the first poll's answer after authorization (token pair)."""
    with server.http() as client:
        reg = client.post("/api/v1/endpoints", json={"hostname": hostname}).raise_for_status()
        endpoint_id, secret = reg.json()["endpoint_id"], reg.json()["secret"]
        with server.admin() as admin:
            admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/authorize").raise_for_status()
        poll = client.post(f"/api/v1/endpoints/{endpoint_id}/token", json={"secret": secret})
        return endpoint_id, poll.raise_for_status().json()


def refresh(server: ServerProcess, refresh_token: str) -> tuple[int, dict]:
    with server.http() as client:
        reply = client.post("/api/v1/endpoints/refresh", json={"refresh_token": refresh_token})
        return reply.status_code, reply.json()


def rest_status(server: ServerProcess, token: str) -> tuple[int, str]:
    with server.http(token) as client:
        reply = client.get("/api/v1/config")
        return reply.status_code, (reply.json().get("detail") or {}).get("code", "")


def upload_code(server: ServerProcess, token: str, port_id: int, owner: str = "alice") -> str:
    body = b"%PDF- a page"
    reply = upload(
        server.gateway_port,
        server.ca,
        header(token, unique("job"), port_id, body, owner=owner),
        body,
    )
    assert reply is not None
    return reply.code


def closed_with(ws: ClientConnection, timeout: float) -> tuple[int, str] | None:
    """Read until the server closes; its close code and reason, or None if it did not."""
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            ws.recv(timeout=left)
    except TimeoutError:
        return None
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code, closed.rcvd.reason
    return None


def next_command(ws: ClientConnection, type_: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = json.loads(ws.recv(timeout=left))
        if message["type"] == type_:
            return message
    raise AssertionError(f"no {type_} within {timeout} s")


@pytest.fixture
def short_tokens(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """Access tokens of 2 s and no grace for used refresh tokens."""
    return start_server("--access-token-ttl", "2", "--refresh-grace", "0")


def test_authorization_hands_out_an_access_and_a_refresh_token(server: ServerProcess) -> None:
    _, pair = register_and_authorize(server)
    assert pair["state"] == "authorized"
    assert pair["token"] and pair["refresh_token"] and pair["token"] != pair["refresh_token"]
    assert pair["expires_in"] == 900  # the default lifetime, 15 minutes
    assert rest_status(server, pair["token"]) == (200, "")
    # A refresh token is not an access token: it opens nothing but the refresh call.
    assert rest_status(server, pair["refresh_token"]) == (401, "unauthorized")


def test_expired_access_token_is_refused_everywhere_until_refreshed(
    short_tokens: ServerProcess,
) -> None:
    server = short_tokens
    port_id = add_printer_and_port(server, unique("printer"), 9)
    _, pair = register_and_authorize(server)
    assert upload_code(server, pair["token"], port_id) == "stored"

    wait_for(lambda: rest_status(server, pair["token"])[0] == 401, 10, "the access token expiry")

    assert rest_status(server, pair["token"]) == (401, "token-expired")
    assert upload_code(server, pair["token"], port_id) == "unauthorized"
    with pytest.raises(InvalidStatus):
        open_channel(server, pair["token"])
    status, fresh = refresh(server, pair["refresh_token"])
    assert status == 200 and fresh["expires_in"] == 2
    assert rest_status(server, fresh["token"]) == (200, "")
    assert upload_code(server, fresh["token"], port_id) == "stored"
    with open_channel(server, fresh["token"]) as ws:
        next_command(ws, "heartbeat", 10)


def test_an_open_channel_outlives_its_access_token(short_tokens: ServerProcess) -> None:
    """The token is checked at the handshake; afterwards only revocation closes the channel."""
    _, pair = register_and_authorize(short_tokens)
    with open_channel(short_tokens, pair["token"]) as ws:
        assert closed_with(ws, 3.0) is None  # 2 s token, still open after 3 s
        ws.send(json.dumps({"type": "hello", "id": "h", "body": {}}))
        assert next_command(ws, "ack", 5)["body"]["ok"] is True


def test_refresh_token_is_rotated_on_use(short_tokens: ServerProcess) -> None:
    _, first = register_and_authorize(short_tokens)
    status, second = refresh(short_tokens, first["refresh_token"])
    assert status == 200 and second["refresh_token"] != first["refresh_token"]

    status, again = refresh(short_tokens, first["refresh_token"])

    assert (status, again["detail"]["code"]) == (401, "invalid-refresh")
    status, third = refresh(short_tokens, second["refresh_token"])
    assert status == 200 and rest_status(short_tokens, third["token"]) == (200, "")


def test_a_used_refresh_token_still_works_within_the_grace(server: ServerProcess) -> None:
    """A client whose refresh answer was lost sends the same refresh token again."""
    _, first = register_and_authorize(server)
    assert refresh(server, first["refresh_token"])[0] == 200
    status, retried = refresh(server, first["refresh_token"])
    assert status == 200 and rest_status(server, retried["token"]) == (200, "")


def test_unknown_refresh_token_is_refused(server: ServerProcess) -> None:
    status, body = refresh(server, "never-issued")
    assert (status, body["detail"]["code"]) == (401, "invalid-refresh")


@pytest.mark.parametrize("via", ["rest", "cli"])
def test_revoking_closes_the_channel_and_voids_both_tokens_within_seconds(
    server: ServerProcess, via: str
) -> None:
    port_id = add_printer_and_port(server, unique("printer"), 9)
    endpoint_id, pair = register_and_authorize(server)
    with open_channel(server, pair["token"]) as ws:
        next_command(ws, "heartbeat", 10)
        if via == "rest":
            with server.admin() as admin:
                admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/revoke").raise_for_status()
        else:
            result = server.cli("endpoint", "revoke", str(endpoint_id))
            assert result.returncode == 0, result.stderr

        assert closed_with(ws, REVOCATION_BOUND) == (CLOSE_UNAUTHORIZED, "endpoint revoked")

    assert upload_code(server, pair["token"], port_id) == "unauthorized"
    assert rest_status(server, pair["token"]) == (401, "unauthorized")
    status, body = refresh(server, pair["refresh_token"])
    assert (status, body["detail"]["code"]) == (403, "revoked")
    with pytest.raises(InvalidStatus):
        open_channel(server, pair["token"])


def test_disabled_user_is_refused_and_endpoints_are_told(server: ServerProcess) -> None:
    user = unique("dora")
    with server.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": user, "password": "pw"}).raise_for_status()
    with server.http() as client:
        user_token = client.post("/api/v1/login", json={"user": user, "password": "pw"}).json()[
            "token"
        ]
    printer = unique("printer")
    port_id = add_printer_and_port(server, printer, 9)
    _, pair = register_and_authorize(server)
    with open_channel(server, pair["token"]) as ws:
        next_command(ws, "heartbeat", 10)
        result = server.cli("user", "disable", user)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["disabled"] is True

        command_ = next_command(ws, "user.disabled", REVOCATION_BOUND)

        assert command_["body"] == {"user": user}
        ws.send(json.dumps({"type": "ack", "id": command_["id"], "body": {"ok": True}}))
        stored = {"job_id": unique("held"), "owner": user, "port_id": port_id}
        ws.send(json.dumps({"type": "job.stored", "id": "s1", "body": stored}))
        assert next_command(ws, "ack", 5)["body"]["code"] == "user-disabled"
    assert upload_code(server, pair["token"], port_id, owner=user) == "user-disabled"
    with server.http(user_token) as client:
        assert client.get("/api/v1/jobs").status_code == 401  # the session ended
    with server.http() as client:
        login = client.post("/api/v1/login", json={"user": user, "password": "pw"})
        assert login.status_code == 401
    with server.admin() as admin:
        release = admin.post("/api/v1/release", json={"user": user, "printer": printer})
        assert (release.status_code, release.json()["detail"]["code"]) == (403, "user-disabled")
        admin.post(f"/api/v1/admin/users/{user}/enable").raise_for_status()
    with server.http() as client:
        assert client.post("/api/v1/login", json={"user": user, "password": "pw"}).is_success


def test_migration_turns_issued_endpoint_tokens_into_refresh_tokens(
    tmp_path: Path, db_kind: str, request: pytest.FixtureRequest
) -> None:
    """A server upgraded in place keeps its endpoints: the token each one holds refreshes."""
    url = default_url(tmp_path)
    if db_kind == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"m_{uuid.uuid4().hex[:12]}")
    store = Store(url)
    try:
        command.upgrade(alembic_config(store.engine), "0004")
        legacy = "legacy-endpoint-token"
        with store.session() as session:
            session.execute(
                Endpoint.__table__.insert().values(
                    hostname="old-pc",
                    os="",
                    version="",
                    state="authorized",
                    secret_hash="x" * 64,
                    token_hash=tokens.auth.token_hash(legacy),
                    created_at=0.0,
                )
            )
        store.migrate()
        with store.session() as session:
            endpoint_id, pair = tokens.refresh(session, legacy, tokens.TokenPolicy())
            endpoint = session.get(Endpoint, endpoint_id)
            assert endpoint is not None and endpoint.token_hash is None
            assert endpoint.credentials_issued_at is not None
            assert tokens.check_access(session, pair.token).code == "ok"
    finally:
        store.close()


def test_client_processes_refreshing_together_send_each_refresh_token_once(
    short_tokens: ServerProcess, tmp_path: Path
) -> None:
    """Channel, sync and delivery each hold a Keeper on one state dir. With no grace on the
    server, a refresh token sent twice would be refused and the client would drop its
    credentials; the file lock makes the second caller find the pair the first one got."""
    from concurrent.futures import ThreadPoolExecutor

    from services.core import endpoint

    _, pair = register_and_authorize(short_tokens)
    endpoint.save_credentials(tmp_path, pair["token"], pair["refresh_token"], 0)  # due now
    servers = [short_tokens.base_url]

    def refresh_in_its_own_keeper(_: int) -> str | None:
        keeper = endpoint.Keeper(tmp_path, servers, short_tokens.ca)
        return asyncio.run(keeper.access_token(rejected=pair["token"]))

    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(refresh_in_its_own_keeper, range(6)))

    assert len(set(got)) == 1 and got[0] != pair["token"]
    assert rest_status(short_tokens, got[0]) == (200, "")
    assert short_tokens.logs().count("endpoint.refresh_refused") == 0
