"""Status is ``ok`` only when every part is (issue 20: it said ok=True next to a sync that
failed), and each part that is not says what is wrong in words a user can act on."""

from __future__ import annotations

import socket

from support.waiting import wait_for
from tests.integration.test_api import HELD, start_api

EVERY = ("spooler", "sync", "delivery", "channel")


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


def test_a_serverless_machine_with_every_process_up_is_ok(make_client):
    api = start_api(make_client, *EVERY, printers=[HELD])

    body = wait_for(lambda: (b := api.call("GET", "/status").json())["ok"] and b, 30, "status ok")

    assert body["problems"] == []
    shown = api.client.run_cli("status")
    assert shown.returncode == 0 and "not ok" not in shown.stdout


def test_a_server_that_cannot_be_reached_is_not_ok_and_says_where(make_client):
    url = f"https://127.0.0.1:{closed_port()}"
    api = start_api(make_client, *EVERY, printers=[HELD], server_url=url)

    def failed() -> dict | None:
        # Both have tried: the channel is "idle" until its first connect fails.
        body = api.call("GET", "/status").json()
        tried = not any(p == "channel: idle" for p in body["problems"])
        return body if body["sync"]["state"] == "failed" and tried else None

    body = wait_for(failed, 30, "the sync to fail and the channel to try")

    assert body["ok"] is False
    refused = f"channel: offline ({url}): connection refused"
    assert any(p.startswith(refused) for p in body["problems"]), body
    assert "sync: failed: this machine is not authorized by the server yet" in body["problems"]
    shown = api.client.run_cli("status")
    assert shown.returncode == 1
    assert f"not ok: {refused}" in shown.stdout
