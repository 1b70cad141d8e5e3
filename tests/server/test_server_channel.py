"""The channel: heartbeats, commands acked by id and resent until acked, cross-process nudges."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from websockets.sync.client import ClientConnection

from support.server import ServerProcess, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import open_channel, unique


def next_of(ws: ClientConnection, type_: str, limit: int = 200) -> dict:
    """The next message of `type_`, skipping others (heartbeats, earlier commands)."""
    for _ in range(limit):
        message = json.loads(ws.recv(15))
        if message["type"] == type_:
            return message
    raise AssertionError(f"no {type_} message")


def ack(ws: ClientConnection, message: dict) -> None:
    ws.send(json.dumps({"type": "ack", "id": message["id"], "body": {"ok": True}}))


def add_printer(server: ServerProcess) -> str:
    name = unique("printer")
    with server.admin() as admin:
        admin.post(
            "/api/v1/admin/printers",
            json={"name": name, "host": "127.0.0.1", "port": 9100, "protocol": "raw"},
        ).raise_for_status()
    return name


def test_heartbeats_arrive_and_hello_marks_the_endpoint_online(server: ServerProcess) -> None:
    endpoint_id, token = authorized_endpoint(server)
    with open_channel(server, token) as ws:
        next_of(ws, "heartbeat")
        next_of(ws, "heartbeat")
        hello = {"hostname": "renamed-pc", "version": "0.1.0"}
        ws.send(json.dumps({"type": "hello", "id": "h1", "body": hello}))
        reply = next_of(ws, "ack")
        assert reply["id"] == "h1" and reply["body"]["ok"] is True
        with server.admin() as admin:
            listed = {e["id"]: e for e in admin.get("/api/v1/admin/endpoints").json()}
        assert listed[endpoint_id]["hostname"] == "renamed-pc"
        assert listed[endpoint_id]["online"] is True
    with server.admin() as admin:
        wait_for(
            lambda: (
                not {e["id"]: e for e in admin.get("/api/v1/admin/endpoints").json()}[endpoint_id][
                    "online"
                ]
            ),
            10,
            "endpoint offline after close",
        )


def test_printers_changed_is_resent_until_acked(server: ServerProcess) -> None:
    _, token = authorized_endpoint(server)
    with open_channel(server, token) as ws:
        add_printer(server)
        first = next_of(ws, "printers.changed")
    # Not acked: the next connection gets the same command (same id) again.
    with open_channel(server, token) as ws:
        again = next_of(ws, "printers.changed")
        assert again["id"] == first["id"]
        ack(ws, again)
        ws.send(json.dumps({"type": "hello", "id": "after-ack", "body": {}}))
        next_of(ws, "ack")  # the ack above was processed before this hello's ack
    with open_channel(server, token) as ws:
        ws.send(json.dumps({"type": "hello", "id": "h", "body": {}}))
        seen = [json.loads(ws.recv(15)) for _ in range(4)]
        assert first["id"] not in [m["id"] for m in seen]


def test_config_changed_carries_the_settings(server: ServerProcess) -> None:
    _, token = authorized_endpoint(server)
    with open_channel(server, token) as ws:
        with server.admin() as admin:
            admin.put("/api/v1/admin/settings/language", json={"value": "cs"}).raise_for_status()
        message = next_of(ws, "config.changed")
        assert message["body"]["config"]["language"] == "cs"
        ack(ws, message)


@pytest.fixture
def slow_heartbeat_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server("--heartbeat", "120")


def test_admin_cli_changes_reach_the_channel_through_notify(
    slow_heartbeat_server: ServerProcess,
) -> None:
    """With a 120 s heartbeat, only a NOTIFY from the CLI's transaction (PostgreSQL) or the
    hub's one-second watch (SQLite) can wake the channel."""
    server = slow_heartbeat_server
    endpoint_id, token = authorized_endpoint(server)
    with open_channel(server, token) as ws:
        next_of(ws, "heartbeat")  # the first tick ran; the next is 120 s away
        result = server.cli("printer", "add", unique("p"), "--host", "127.0.0.1",
                            "--port", "9100", "--protocol", "raw")  # fmt: skip
        assert result.returncode == 0, result.stderr
        ack(ws, next_of(ws, "printers.changed"))
        assert server.cli("endpoint", "revoke", str(endpoint_id)).returncode == 0
        with pytest.raises(Exception, match="4401"):
            while True:
                ws.recv(30)
