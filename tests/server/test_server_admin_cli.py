"""`pullprint-server admin`: each operation against the running server's database."""

from __future__ import annotations

import json

from support.server import ServerProcess, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import unique


def cli_json(server: ServerProcess, *args: str, stdin: str | None = None) -> object:
    result = server.cli(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_admin_cli_creates_a_user_who_can_log_in(server: ServerProcess) -> None:
    name = unique("user")
    created = cli_json(server, "user", "add", name, "--password-stdin", stdin="pw-123\n")
    assert created["name"] == name  # type: ignore[index]
    with server.http() as client:
        login = client.post("/api/v1/login", json={"user": name, "password": "pw-123"})
        assert login.status_code == 200 and login.json()["token"]
    with server.http(login.json()["token"]) as client:
        assert client.get("/api/v1/jobs").status_code == 200
        assert client.post("/api/v1/logout").status_code == 200
        assert client.get("/api/v1/jobs").status_code == 401
    with server.http() as client:
        wrong = client.post("/api/v1/login", json={"user": name, "password": "nope"})
        assert wrong.status_code == 401


def test_admin_cli_creates_a_printer(server: ServerProcess) -> None:
    name = unique("printer")
    cli_json(server, "printer", "add", name, "--host", "127.0.0.1", "--port", "9100",
             "--protocol", "raw")  # fmt: skip
    with server.admin() as admin:
        printers = {p["name"]: p for p in admin.get("/api/v1/admin/printers").json()}
    assert printers[name]["port"] == 9100 and printers[name]["protocol"] == "raw"


def test_admin_cli_creates_pull_and_direct_ports(server: ServerProcess) -> None:
    first, second = unique("printer"), unique("printer")
    for name in (first, second):
        cli_json(server, "printer", "add", name, "--host", "127.0.0.1", "--port", "631",
                 "--protocol", "ipp", "--path", "/ipp/print")  # fmt: skip
    pull, direct = unique("pull"), unique("direct")
    cli_json(server, "port", "add", pull, "--kind", "pull", "--printer", first, "--printer", second)
    cli_json(server, "port", "add", direct, "--kind", "direct", "--printer", first)
    _, token = authorized_endpoint(server)
    with server.http(token) as client:
        ports = {p["name"]: p for p in client.get("/api/v1/printers").json()["ports"]}
    assert ports[pull]["kind"] == "pull"
    assert sorted(p["name"] for p in ports[pull]["printers"]) == sorted([first, second])
    assert ports[direct]["kind"] == "direct" and ports[direct]["target"]["name"] == first


def test_admin_cli_refuses_a_direct_port_without_one_printer(server: ServerProcess) -> None:
    result = server.cli("port", "add", unique("direct"), "--kind", "direct")
    assert result.returncode == 1 and "exactly one target printer" in result.stderr
    result = server.cli("port", "add", unique("pull"), "--kind", "pull", "--printer", "nope")
    assert result.returncode == 1 and "unknown printer" in result.stderr


def test_admin_cli_authorizes_an_endpoint(server: ServerProcess) -> None:
    with server.http() as client:
        reg = client.post("/api/v1/endpoints", json={"hostname": unique("pc")}).json()
        listed = cli_json(server, "endpoint", "list")
        assert {"id": reg["endpoint_id"], "state": "pending"}.items() <= next(
            e
            for e in listed
            if e["id"] == reg["endpoint_id"]  # type: ignore[attr-defined]
        ).items()
        cli_json(server, "endpoint", "authorize", str(reg["endpoint_id"]))
        poll = client.post(
            f"/api/v1/endpoints/{reg['endpoint_id']}/token", json={"secret": reg["secret"]}
        ).json()
    assert poll["state"] == "authorized" and poll["token"]
    with server.http(poll["token"]) as client:
        assert client.get("/api/v1/printers").status_code == 200


def test_admin_cli_unknown_endpoint_is_an_error(server: ServerProcess) -> None:
    result = server.cli("endpoint", "authorize", "987654")
    assert result.returncode == 1 and "not-found" in result.stderr


def test_admin_cli_setting_reaches_endpoint_config(server: ServerProcess) -> None:
    _, token = authorized_endpoint(server)
    cli_json(server, "setting", "set", "retention", "3600")
    with server.http(token) as client:
        wait_for(lambda: client.get("/api/v1/config").json()["retention"] == 3600, 10, "config")


def test_admin_token_file_is_private(server: ServerProcess) -> None:
    mode = (server.data_dir / "admin.token").stat().st_mode & 0o777
    assert mode == 0o600
    assert server.cli("token").stdout.strip() == server.admin_token
