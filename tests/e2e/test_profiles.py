"""Configuration profiles end to end: the admin assigns a profile to the user logged in on a
client; the client applies it (its sync interval changes, its configuration is locked); the
admin removes it and the client's own configuration is back."""

from __future__ import annotations

from typing import Any

import httpx

from support.client import Client
from support.waiting import wait_for
from tests.e2e.test_custom_login import login


class Facade:
    """The client's facade over HTTP, with root's admin token for changes."""

    def __init__(self, client: Client) -> None:
        self.base = f"http://127.0.0.1:{client.api_port}"
        client.wait_listening(client.api_port)
        token_file = client.root / "state" / "api.token"
        self.token = wait_for(lambda: token_file.exists() and token_file.read_text().strip())

    def get(self, path: str) -> Any:
        reply = httpx.get(self.base + path, timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def put_config(self, change: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.put(self.base + "/config", json=change, headers=headers, timeout=30)


def test_a_profile_assigned_to_the_user_sets_sync_interval_and_locks_configuration(
    online_client, cloud
):
    with cloud.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": "alice", "password": "pw-alice"})
        admin.post(
            "/api/v1/admin/profiles",
            json={
                "name": "managed",
                "settings": {"sync_interval": 45, "allow_local_configuration": False},
            },
        ).raise_for_status()
    client = online_client([], login_type="custom", sync_interval=300)
    client.start("api")
    facade = Facade(client)
    assert login(client, "bob", "alice", "pw-alice").returncode == 0

    config = facade.get("/config")
    assert config["sync_interval"] == 300 and config["profile"] is None
    assert config["locked"] is False

    with cloud.admin() as admin:
        admin.post(
            "/api/v1/admin/profiles/managed/assign", json={"user": "alice"}
        ).raise_for_status()
    # config.changed -> channel -> sync asks GET /api/v1/config for alice -> the store.
    config = wait_for(
        lambda: (c := facade.get("/config"))["sync_interval"] == 45 and c,
        30,
        "the profile's sync interval on the client",
    )
    assert config["locked"] is True and config["profile"]["name"] == "managed"
    assert config["managed"] == ["sync_interval"]
    status = facade.get("/status")
    assert status["services"]["sync"]["sync_interval"] == 45
    assert status["services"]["sync"]["profile"] == "managed"
    refused = facade.put_config({"sync_interval": 120})
    assert refused.status_code == 403
    assert refused.json()["detail"] == {
        "code": "config-locked",
        "message": "configuration is managed by your organisation's profile 'managed'",
    }
    assert "sync_interval = 300" in client.config.read_text()

    with cloud.admin() as admin:
        admin.post("/api/v1/admin/profiles/unassign", json={"user": "alice"}).raise_for_status()
    config = wait_for(
        lambda: (c := facade.get("/config"))["profile"] is None and c,
        30,
        "the profile removed on the client",
    )
    assert config["sync_interval"] == 300 and config["locked"] is False
    wait_for(
        lambda: facade.get("/status")["services"]["sync"]["sync_interval"] == 300,
        30,
        "sync back on the configuration file's interval",
    )
    accepted = facade.put_config({"sync_interval": 120})
    assert accepted.status_code == 200, accepted.text
    assert "sync_interval = 120" in client.config.read_text()
