"""Configuration profiles: created, changed and deleted by the admin, resolved user over group
over default (field by field), and pushed as config.changed to the endpoints they affect."""

from __future__ import annotations

import json
from collections.abc import Callable

from websockets.sync.client import ClientConnection

from support.server import ServerProcess, authorized_endpoint
from tests.server.clients import open_channel, unique
from tests.server.test_server_channel import ack, next_of


def add_users(server: ServerProcess, *names: str) -> None:
    with server.admin() as admin:
        for name in names:
            admin.post("/api/v1/admin/users", json={"name": name, "password": "pw"})


def add_profile(server: ServerProcess, name: str, **settings: object) -> dict:
    with server.admin() as admin:
        reply = admin.post("/api/v1/admin/profiles", json={"name": name, "settings": settings})
        assert reply.status_code == 201, reply.text
        return reply.json()


def assign(server: ServerProcess, profile: str, **target: object) -> None:
    with server.admin() as admin:
        admin.post(f"/api/v1/admin/profiles/{profile}/assign", json=target).raise_for_status()


def unassign(server: ServerProcess, **target: object) -> None:
    with server.admin() as admin:
        admin.post("/api/v1/admin/profiles/unassign", json=target).raise_for_status()


def endpoint_profile(server: ServerProcess, token: str, users: list[str] | None = None) -> dict:
    """What the endpoint is told by GET /api/v1/config (reporting ``users`` when given)."""
    params = {"users": users or [""]} if users is not None else None
    with server.http(token) as client:
        reply = client.get("/api/v1/config", params=params)
        assert reply.status_code == 200, reply.text
        return reply.json()["profile"]


def effective(server: ServerProcess, user: str) -> dict | None:
    with server.admin() as admin:
        return admin.get("/api/v1/admin/profiles/effective", params={"user": user}).json()[
            "profile"
        ]


def no_config_changed(ws: ClientConnection) -> bool:
    """True when nothing but heartbeats came before the ack of a hello sent now (the server
    handles frames in order, and commands are queued before the admin call returns)."""
    ws.send(json.dumps({"type": "hello", "id": unique("probe"), "body": {}}))
    while True:
        message = json.loads(ws.recv(15))
        if message["type"] == "config.changed":
            return False
        if message["type"] == "ack":
            return True


def test_profiles_are_created_listed_changed_and_deleted(server: ServerProcess) -> None:
    name = unique("profile")
    created = add_profile(server, name, sync_interval=60, log_level="debug")
    assert created["settings"] == {"sync_interval": 60, "log_level": "debug"}
    assert created["assigned_to"] == []
    with server.admin() as admin:
        again = admin.post("/api/v1/admin/profiles", json={"name": name, "settings": {}})
        assert again.status_code == 409 and again.json()["detail"]["code"] == "conflict"
        bad = admin.post(
            "/api/v1/admin/profiles", json={"name": unique("p"), "settings": {"sync_interval": 1}}
        )
        assert bad.status_code == 422 and "sync_interval" in bad.json()["detail"]["message"]
        unknown = admin.post(
            "/api/v1/admin/profiles", json={"name": unique("p"), "settings": {"colour": "red"}}
        )
        assert unknown.status_code == 422 and "colour" in unknown.json()["detail"]["message"]

        changed = admin.patch(
            f"/api/v1/admin/profiles/{name}",
            json={"settings": {"log_level": None, "allow_local_configuration": False}},
        )
        assert changed.status_code == 200
        expected = {"sync_interval": 60, "allow_local_configuration": False}
        assert changed.json()["settings"] == expected
        listed = {p["name"]: p for p in admin.get("/api/v1/admin/profiles").json()}
        assert listed[name]["settings"] == changed.json()["settings"]

        assert admin.delete(f"/api/v1/admin/profiles/{name}").status_code == 200
        assert name not in {p["name"] for p in admin.get("/api/v1/admin/profiles").json()}
        gone = admin.delete(f"/api/v1/admin/profiles/{name}")
        assert gone.status_code == 404 and gone.json()["detail"]["code"] == "not-found"


def test_user_profile_wins_over_group_over_default_field_by_field(
    start_server: Callable[..., ServerProcess],
) -> None:
    # A server of its own: a default profile applies to every endpoint of its database.
    server = start_server()
    add_users(server, "alice", "bob", "carol")
    add_profile(server, "site", sync_interval=600, retention=7200, default_paper="a4")
    add_profile(server, "staff", sync_interval=120, allow_local_configuration=False)
    add_profile(server, "alice-own", sync_interval=30)
    with server.admin() as admin:
        admin.post("/api/v1/admin/groups", json={"name": "office"}).raise_for_status()
        for user in ("alice", "bob"):
            admin.put(f"/api/v1/admin/groups/office/members/{user}").raise_for_status()
    assign(server, "site", default=True)
    assign(server, "staff", group="office")
    assign(server, "alice-own", user="alice")

    alice = effective(server, "alice")
    assert alice is not None and alice["name"] == "alice-own"
    assert alice["settings"]["sync_interval"] == 30  # her own
    assert alice["settings"]["allow_local_configuration"] is False  # her group's
    assert alice["settings"]["retention"] == 7200  # the default's
    assert alice["sources"] == {
        "sync_interval": "alice-own",
        "allow_local_configuration": "staff",
        "retention": "site",
        "default_paper": "site",
    }
    bob = effective(server, "bob")
    assert bob is not None and bob["name"] == "staff" and bob["settings"]["sync_interval"] == 120
    carol = effective(server, "carol")
    assert carol is not None and carol["name"] == "site"
    assert carol["settings"]["allow_local_configuration"] is None

    # An endpoint gets the profile of the users it reports; nobody reported = the default.
    _, token = authorized_endpoint(server)
    assert endpoint_profile(server, token, ["alice"])["name"] == "alice-own"
    assert endpoint_profile(server, token)["name"] == "alice-own"  # remembered
    assert endpoint_profile(server, token, [])["name"] == "site"

    unassign(server, user="alice")
    assert effective(server, "alice")["name"] == "staff"  # type: ignore[index]
    with server.admin() as admin:
        admin.delete("/api/v1/admin/groups/office/members/alice").raise_for_status()
    assert effective(server, "alice")["name"] == "site"  # type: ignore[index]
    unassign(server, default=True)
    assert effective(server, "alice") is None


def test_a_change_is_pushed_to_the_endpoints_it_affects_only(server: ServerProcess) -> None:
    alice, bob, profile = unique("alice"), unique("bob"), unique("locked")
    add_users(server, alice, bob)
    add_profile(server, profile, sync_interval=45, allow_local_configuration=False)
    _, alice_token = authorized_endpoint(server, "alice-pc")
    _, bob_token = authorized_endpoint(server, "bob-pc")
    assert endpoint_profile(server, alice_token, [alice]) is None
    assert endpoint_profile(server, bob_token, [bob]) is None
    with open_channel(server, alice_token) as alice_ws, open_channel(server, bob_token) as bob_ws:
        assign(server, profile, user=alice)
        ack(alice_ws, next_of(alice_ws, "config.changed"))
        assert no_config_changed(bob_ws)
        told = endpoint_profile(server, alice_token)
        assert told["name"] == profile and told["settings"]["sync_interval"] == 45

        with server.admin() as admin:
            admin.patch(
                f"/api/v1/admin/profiles/{profile}", json={"settings": {"sync_interval": 90}}
            ).raise_for_status()
        ack(alice_ws, next_of(alice_ws, "config.changed"))
        assert endpoint_profile(server, alice_token)["settings"]["sync_interval"] == 90

        unassign(server, user=alice)
        ack(alice_ws, next_of(alice_ws, "config.changed"))
        assert endpoint_profile(server, alice_token) is None
        assert no_config_changed(bob_ws)


def test_admin_cli_manages_profiles_and_groups(server: ServerProcess) -> None:
    user, group, profile = unique("user"), unique("group"), unique("profile")
    add_users(server, user)

    def cli(*args: str) -> object:
        result = server.cli(*args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    created = cli("profile", "add", profile, "--set", "sync_interval=75", "--set", "log_level=info")
    assert created["settings"] == {"sync_interval": 75, "log_level": "info"}  # type: ignore[index]
    cli("profile", "update", profile, "--set", "allow_local_configuration=false",
        "--set", "log_level=")  # fmt: skip
    cli("group", "add", group)
    cli("group", "add-member", group, user)
    cli("profile", "assign", profile, "--group", group)
    found = cli("profile", "effective", "--user", user)["profile"]  # type: ignore[index]
    assert found["name"] == profile
    assert found["settings"]["allow_local_configuration"] is False
    assert found["settings"]["log_level"] is None
    refused = server.cli("profile", "assign", profile, "--user", user, "--group", group)
    assert refused.returncode == 1 and "exactly one" in refused.stderr
    cli("profile", "unassign", "--group", group)
    assert cli("profile", "effective", "--user", user)["profile"] is None  # type: ignore[index]
    cli("profile", "delete", profile)


def test_the_admin_overview_lists_profiles_and_groups(server: ServerProcess) -> None:
    user, group, profile = unique("user"), unique("group"), unique("profile")
    add_users(server, user)
    add_profile(server, profile, default_duplex="two-sided-long-edge")
    with server.admin() as admin:
        admin.post("/api/v1/admin/groups", json={"name": group}).raise_for_status()
        admin.put(f"/api/v1/admin/groups/{group}/members/{user}").raise_for_status()
    assign(server, profile, group=group)
    with server.http() as browser:
        browser.follow_redirects = True
        page = browser.post("/admin/login", data={"token": server.admin_token}).text
    assert "Configuration profiles" in page
    row = next(line for line in page.split("<tr>") if profile in line)
    assert "default_duplex=&quot;two-sided-long-edge&quot;" in row and f"group:{group}" in row
    assert next(line for line in page.split("<tr>") if f"<td>{group}</td>" in line).count(user)
