"""Who is calling, from the kernel's socket table (issue 19, finding 11: a row with inode 0, a
socket already gone, was taken for root). The table is faked at its edge, a /proc-format file."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.core import peer

HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode\n"
)
# 127.0.0.1:40000 -> 127.0.0.1:8637 (0x21BD), as /proc/net/tcp spells them.
CLIENT, SERVER = "0100007F:9C40", "0100007F:21BD"


def row(state: str, uid: int, inode: int) -> str:
    return (
        f"   0: {CLIENT} {SERVER} {state} 00000000:00000000 00:00000000 00000000 "
        f"{uid:>5}        0 {inode} 1 0000000000000000 20 4 30 10 -1\n"
    )


@pytest.fixture
def table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "tcp"
    monkeypatch.setattr(peer, "PROC_TABLES", (path,))
    return path


def ask() -> int | None:
    return peer.peer_uid("127.0.0.1", 40000, "127.0.0.1", 8637)


def test_the_connected_socket_names_its_owner(table: Path) -> None:
    table.write_text(HEADER + row("01", 1000, 123456))
    assert ask() == 1000


def test_a_row_without_a_socket_is_nobody_not_root(table: Path) -> None:
    table.write_text(HEADER + row("06", 0, 0))  # TIME_WAIT: uid 0, inode 0
    assert ask() is None
