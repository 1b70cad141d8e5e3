"""One admin secret for every server process on one database (issue 22, finding 5): the
database keeps the token's sha256, and a process holding another token, or none, does not
start (server/admin_secret.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from server.store import default_url
from support.server import ServerProcess
from tests.server.conftest import TEST_OPTIONS, Tls


def admin_answers(server: ServerProcess, token: str) -> int:
    with server.http(token) as http:
        return http.get("/api/v1/admin/endpoints").status_code


def test_every_process_on_one_database_accepts_the_one_admin_token(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    token = a.cli("token").stdout.strip()
    assert token and b.cli("token").stdout.strip() == token
    assert admin_answers(a, token) == admin_answers(b, token) == 200


def late_process(first: ServerProcess, tls: Tls, data_dir: Path) -> ServerProcess:
    """Another process for ``first``'s database (SQLite: its file), with its own data dir."""
    database = first.db_url or default_url(first.data_dir)
    return ServerProcess(data_dir, tls.cert, tls.key, tls.client, database, [*TEST_OPTIONS])


def private_token_file(data_dir: Path, token: str) -> None:
    data_dir.mkdir(mode=0o700)
    (data_dir / "admin.token").write_text(token + "\n")
    (data_dir / "admin.token").chmod(0o600)


def test_a_process_holding_another_admin_token_does_not_start(
    start_server: Callable[..., ServerProcess], tls: Tls, tmp_path: Path
) -> None:
    first = start_server(name="first")
    # What every process had before issue 22: a token of its own data dir.
    late = late_process(first, tls, tmp_path / "late")
    private_token_file(late.data_dir, "a-token-of-its-own")

    with pytest.raises(AssertionError, match="server exited 2"):
        late.start()

    told = f"{late.data_dir / 'admin.token'} holds another admin token"
    assert told in late.logs() and "copy admin.token" in late.logs().lower()
    assert "a-token-of-its-own" not in late.logs() and first.admin_token not in late.logs()
    assert not (late.data_dir / "instance.id").exists()  # stopped before it set anything up
    # The admin CLI does not print a token that no process accepts either.
    printed = late.cli("token")
    assert printed.returncode == 1 and told in printed.stderr and printed.stdout == ""
    assert admin_answers(first, first.admin_token) == 200
    assert admin_answers(first, "a-token-of-its-own") == 401


def test_a_new_process_without_the_token_file_is_told_to_copy_it(
    start_server: Callable[..., ServerProcess], tls: Tls, tmp_path: Path
) -> None:
    first = start_server(name="first")
    late = late_process(first, tls, tmp_path / "late")

    with pytest.raises(AssertionError, match="server exited 2"):
        late.start()

    assert f"{late.data_dir / 'admin.token'} does not exist" in late.logs()
    assert not (late.data_dir / "admin.token").exists()  # no token made that nobody accepts


def test_a_single_servers_token_keeps_working_after_the_upgrade(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    private_token_file(tmp_path / "data", "made-before-the-upgrade")

    server = start_server()  # the same data dir, on a database without a recorded secret

    assert server.cli("token").stdout.strip() == "made-before-the-upgrade"
    assert admin_answers(server, "made-before-the-upgrade") == 200
