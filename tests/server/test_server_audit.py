"""The server's audit trail: who logged in (or failed to), logged out, released, canceled,
and what the admin changed, with when and from where; read by admins over REST and the CLI."""

from __future__ import annotations

import json
from typing import Any

from support.server import ServerProcess, add_printer_and_port, authorized_endpoint
from tests.server.clients import header, unique, upload
from tests.server.peers import RawSink


def trail(server: ServerProcess, **filters: str) -> list[dict[str, Any]]:
    """Matching rows, oldest first."""
    with server.admin() as admin:
        reply = admin.get("/api/v1/admin/audit", params={"limit": 200, **filters})
    assert reply.status_code == 200, reply.text
    return list(reversed(reply.json()))


def add_user(server: ServerProcess, name: str, password: str = "pw-secret-1") -> None:
    with server.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": name, "password": password})


def log_in(server: ServerProcess, name: str, password: str) -> str | None:
    with server.http() as client:
        reply = client.post("/api/v1/login", json={"user": name, "password": password})
    return reply.json()["token"] if reply.status_code == 200 else None


def test_logins_failed_logins_and_logouts_say_who_and_from_which_address(server):
    name = unique("ann")
    add_user(server, name)

    assert log_in(server, name, "wrong-guess") is None
    assert log_in(server, name + "-typo", "x") is None
    token = log_in(server, name, "pw-secret-1")
    with server.http(token) as client:
        assert client.post("/api/v1/logout").status_code == 200

    rows = trail(server, actor=name)
    assert [(r["action"], r["subject"], r["detail"]) for r in rows] == [
        ("user.login-failed", name, "wrong password"),
        ("user.login", name, ""),
        ("user.logout", name, ""),
    ]
    assert all(r["origin"] == "127.0.0.1" and r["at"] > 0 for r in rows)
    typo = trail(server, actor=name + "-typo")
    assert [(r["action"], r["detail"]) for r in typo] == [("user.login-failed", "unknown user")]
    everything = json.dumps(trail(server, action="user.login-failed"))
    assert "wrong-guess" not in everything and "pw-secret-1" not in everything


def test_release_and_cancel_name_the_user_the_printer_and_the_jobs(server, raw_sink: RawSink):
    user, printer = unique("bea"), unique("raw")
    add_user(server, user)
    port_id = add_printer_and_port(server, printer, raw_sink.port)
    _, endpoint_token = authorized_endpoint(server)
    kept, dropped = unique("job"), unique("job")
    for job_id in (kept, dropped):
        head = header(endpoint_token, job_id, port_id, b"doc", owner=user)
        assert upload(server.gateway_port, server.ca, head, b"doc").code == "stored"
    token = log_in(server, user, "pw-secret-1")

    with server.http(token) as client:
        assert client.post(f"/api/v1/jobs/{dropped}/cancel").status_code == 200
        released = client.post("/api/v1/release", json={"user": user, "printer": printer})
        assert released.json()["job_ids"] == [kept]

    rows = [r for r in trail(server, actor=user) if r["action"].startswith("job.")]
    assert [(r["action"], r["subject"], r["origin"]) for r in rows] == [
        ("job.cancel", dropped, "127.0.0.1"),
        ("job.release", printer, "127.0.0.1"),
    ]
    assert rows[1]["detail"] == f"1 job(s) of {user}: {kept}"


def test_admin_changes_are_audited_with_the_admin_and_address(server):
    user, profile, group = unique("cy"), unique("prof"), unique("grp")
    add_user(server, user, "pw-of-cy")
    endpoint_id, _ = authorized_endpoint(server, hostname=unique("pc"))
    with server.admin() as admin:
        admin.post("/api/v1/admin/profiles", json={"name": profile, "settings": {"retention": 60}})
        admin.post(f"/api/v1/admin/profiles/{profile}/assign", json={"user": user})
        admin.post(f"/api/v1/admin/users/{user}/disable").raise_for_status()
        admin.post("/api/v1/admin/groups", json={"name": group}).raise_for_status()
        admin.put(f"/api/v1/admin/groups/{group}/members/{user}").raise_for_status()
        admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/revoke").raise_for_status()
        admin.put("/api/v1/admin/settings/api_token", json={"value": "tok-SECRET-9"})

    rows = [r for r in trail(server, actor="admin") if r["at"] and r["origin"] == "127.0.0.1"]
    mine = {
        (r["action"], r["subject"], r["detail"])
        for r in rows
        if r["subject"] in (user, profile, group, str(endpoint_id), "api_token")
    }
    assert {
        ("user.add", user, ""),
        ("profile.add", profile, '{"retention": 60}'),
        ("profile.assign", profile, f"to user {user}"),
        ("user.disable", user, ""),
        ("group.add", group, ""),
        ("group.add-member", group, user),
        ("endpoint.authorize", str(endpoint_id), ""),
        ("endpoint.revoke", str(endpoint_id), ""),
    } <= mine
    setting = [r for r in rows if r["action"] == "setting.set" and r["subject"] == "api_token"]
    assert setting[-1]["detail"] in ("null -> ***", "*** -> ***")
    assert "tok-SECRET-9" not in json.dumps(trail(server)) and "pw-of-cy" not in json.dumps(rows)
    registered = trail(server, action="endpoint.register")
    assert any(r["subject"] == str(endpoint_id) and r["origin"] == "127.0.0.1" for r in registered)


def test_admin_cli_changes_are_audited_and_the_cli_lists_the_trail(server):
    name = unique("dee")
    added = server.cli("user", "add", name, "--password-stdin", stdin="pw-of-dee\n")
    assert added.returncode == 0, added.stderr
    assert server.cli("user", "disable", name).returncode == 0

    listed = server.cli("audit", "list", "--action", "user.disable", "--limit", "20")

    assert listed.returncode == 0, listed.stderr
    rows = [r for r in json.loads(listed.stdout) if r["subject"] == name]
    assert len(rows) == 1 and rows[0]["actor"] == "admin"
    assert rows[0]["origin"].startswith("cli (")
    assert "pw-of-dee" not in json.dumps(trail(server, action="user.add"))


def test_only_the_admin_reads_the_trail(server):
    name = unique("eve")
    add_user(server, name)
    token = log_in(server, name, "pw-secret-1")
    with server.http(token) as client:
        assert client.get("/api/v1/admin/audit").status_code == 403
    with server.http() as client:
        assert client.get("/api/v1/admin/audit").status_code == 401
