"""`pullprint login` says what is true (issue 20): with os login a USER is refused rather than
ignored ("OS user root logged in" while the user asked to print as alice), and a server that
cannot be reached is named with what happened."""

from __future__ import annotations

import socket

from services.core import users


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


def test_os_login_refuses_a_user_name_and_changes_nothing(make_client):
    client = make_client([], login_type="os")
    before = users.load_map(client.store)

    result = client.run_cli("login", "alice", "--os-user", "root")

    assert result.returncode == 1
    assert "this machine uses os login: root prints as root" in result.stderr
    assert "without 'alice'" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert users.load_map(client.store) == before
    assert client.run_cli("login", "--os-user", "root").stdout == "OS user root logged in\n"


def test_custom_login_names_the_server_it_could_not_reach(make_client):
    url = f"https://127.0.0.1:{closed_port()}"
    client = make_client([], login_type="custom", server_url=url)

    result = client.run_cli("login", "alice", "--password-stdin", input_text="pw\n")

    assert result.returncode == 1
    assert result.stderr == (
        f"pullprint: cannot reach {url}: connection refused "
        "(is the server running, and is the port right?)\n"
    )
