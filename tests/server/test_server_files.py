"""Nothing in the server's data dir is readable by other users of the machine (issue 19,
finding 5): the dir is 0700 and the database, its WAL and the admin token 0600, also for a data
dir an older version left 0755 with a 0644 database, and when the admin CLI made it."""

from __future__ import annotations

import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from support.server import ServerProcess, server_command
from tests.server.conftest import TEST_OPTIONS, Tls


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(data_dir: Path) -> None:
    assert mode(data_dir) == 0o700
    files = [*sorted(data_dir.glob("admin.token")), *sorted(data_dir.glob("server.db*"))]
    assert data_dir / "server.db" in files
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}


def test_a_new_data_dir_is_private(tmp_path: Path, tls: Tls) -> None:
    server = ServerProcess(tmp_path / "data", tls.cert, tls.key, tls.client, None, [*TEST_OPTIONS])
    server.start()
    try:
        assert (server.data_dir / "admin.token").exists()
        assert_private(server.data_dir)
    finally:
        server.stop()


def test_an_older_open_data_dir_is_tightened_on_start(tmp_path: Path, tls: Tls) -> None:
    data = tmp_path / "data"
    made = subprocess.run(
        [
            *server_command(),
            "admin",
            "--data",
            str(data),
            "user",
            "add",
            "alice",
            "--password-stdin",
        ],
        input="pw\n",
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    assert_private(data)  # the admin CLI made it: private already
    data.chmod(0o755)
    for path in data.glob("server.db*"):
        path.chmod(0o644)

    server = ServerProcess(data, tls.cert, tls.key, tls.client, None, [*TEST_OPTIONS])
    server.start()
    try:
        assert_private(data)
        with server.http() as client:  # and it still works with the data it had
            reply = client.post("/api/v1/login", json={"user": "alice", "password": "pw"})
        assert reply.status_code == 200, reply.text
    finally:
        server.stop()


def test_another_os_user_can_read_nothing_in_it(tls: Tls, two_users: tuple[str, str]) -> None:
    """The modes above, tried as a real other user of the machine: the data dir sits in a
    world-readable folder (pytest's tmp_path is root's own, and would hide it anyway)."""
    shared = Path(tempfile.mkdtemp(prefix="pp-data-"))
    shared.chmod(0o755)
    server = ServerProcess(shared / "data", tls.cert, tls.key, tls.client, None, [*TEST_OPTIONS])
    server.start()
    try:
        for target in ("data", "data/server.db", "data/admin.token"):
            read = subprocess.run(
                ["runuser", "-u", two_users[0], "--", "cat", str(shared / target)],
                capture_output=True,
                text=True,
            )
            assert read.returncode != 0 and "Permission denied" in read.stderr, (target, read)
    finally:
        server.stop()
        shutil.rmtree(shared, ignore_errors=True)
