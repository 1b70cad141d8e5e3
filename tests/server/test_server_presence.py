"""Presence that heals itself (issue 22, finding 4): an endpoint whose channel holder died
shows offline within one lease, and heartbeats write nothing to the database."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text
from websockets.sync.client import ClientConnection

from server.store import default_url
from support.postgres import PostgresServer
from support.server import ServerProcess, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import open_channel
from tests.server.conftest import Tls
from tests.server.test_server_channel import next_of

LEASE = 3.0  # seconds; short so the takeover test waits little


def online(server: ServerProcess, endpoint_id: int) -> bool:
    """What the admin REST API of `server` says."""
    with server.admin() as admin:
        listed = admin.get("/api/v1/admin/endpoints").raise_for_status().json()
    return next(e for e in listed if e["id"] == endpoint_id)["online"]


def kill(server: ServerProcess) -> None:
    """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
    os.kill(server.pid, signal.SIGKILL)
    assert server.proc is not None
    server.proc.wait(30)


def test_endpoint_of_a_killed_process_goes_offline_within_the_lease_and_another_takes_it(
    start_server: Callable[..., ServerProcess], db_kind: str
) -> None:
    if db_kind == "sqlite":
        pytest.skip("several server processes share a database only on PostgreSQL")
    a, b = (start_server("--presence-lease", str(LEASE), name=name) for name in ("a", "b"))
    endpoint_id, token = authorized_endpoint(a)
    with open_channel(a, token) as ws:
        assert wait_for(lambda: online(b, endpoint_id), 10, "b sees the channel held by a")
        # Alive for more than two leases (by the server's heartbeats, not a sleep): a's
        # renewals keep the endpoint online meanwhile.
        until = time.time() + 2.5 * LEASE
        while next_of(ws, "heartbeat")["body"]["ts"] < until:
            pass
        assert online(b, endpoint_id)
        kill(a)
    # Without the lease, the holder row named the dead process and the endpoint stayed online.
    wait_for(lambda: not online(b, endpoint_id), LEASE + 5, "offline within the lease")
    with open_channel(b, token) as ws:
        next_of(ws, "heartbeat")
        assert online(b, endpoint_id)


def test_restart_on_the_same_data_dir_shows_no_endpoint_online_without_a_channel(
    start_server: Callable[..., ServerProcess],
) -> None:
    # A long lease: the restart itself, not the lease running out, must end the old presence.
    first = start_server("--presence-lease", "600")
    endpoint_id, token = authorized_endpoint(first, "restarted-pc")
    with open_channel(first, token) as ws:
        next_of(ws, "heartbeat")
        assert online(first, endpoint_id)
        assert page_says(first, "restarted-pc") == "online"
        kill(first)
    second = start_server("--presence-lease", "600")  # same data dir, same database
    assert not online(second, endpoint_id)
    # The admin CLI and the admin page read the same view.
    listed = json.loads(second.cli("endpoint", "list").stdout)
    assert next(e for e in listed if e["id"] == endpoint_id)["online"] is False
    assert page_says(second, "restarted-pc") == "offline"
    with open_channel(second, token) as ws:
        next_of(ws, "heartbeat")
        assert online(second, endpoint_id)


def page_says(server: ServerProcess, hostname: str) -> str:
    """The Channel cell of the endpoint's row on the admin page."""
    with server.http() as browser:
        browser.follow_redirects = True
        page = browser.post("/admin/login", data={"token": server.admin_token}).text
    row = next(r for r in page.split("<tr>") if f"<td>{hostname}</td>" in r)
    cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
    return cells[5]  # Id, Host, OS, Version, State, Channel


def test_a_lease_lost_while_cut_off_comes_back_with_its_endpoints(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("--presence-lease", "1.5")
    endpoint_id, token = authorized_endpoint(server)
    with open_channel(server, token) as ws, database(server) as engine:
        next_of(ws, "heartbeat")
        assert online(server, endpoint_id)
        # What another process does to a lease expired long ago: the row is gone.
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM server_leases"))
        assert not online(server, endpoint_id)
        # The next renewal (a third of the lease) writes the row again: an update would not.
        wait_for(lambda: online(server, endpoint_id), 10, "online again after a renewal")


def test_a_process_starting_forgets_leases_expired_long_ago(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server()
    server.stop()
    with database(server) as engine, engine.begin() as conn:
        for holder, age in (("gone-for-days", 2 * 86400), ("gone-for-an-hour", 3600)):
            conn.execute(
                text("INSERT INTO server_leases VALUES (:holder, 'elsewhere', :at, :at)"),
                {"holder": holder, "at": time.time() - age},
            )
    start_server()  # the same data dir and database
    with database(server) as engine, engine.connect() as conn:
        holders = set(conn.scalars(text("SELECT holder FROM server_leases")))
    assert "gone-for-days" not in holders
    assert "gone-for-an-hour" in holders  # its process may only be cut off for a while
    assert len(holders) == 2  # and the new process's own


@contextmanager
def database(server: ServerProcess) -> Iterator[Engine]:
    """The server's own database (its SQLite file, or its PostgreSQL database), to look at
    or change what another process would."""
    engine = create_engine(server.db_url or default_url(server.data_dir))
    try:
        yield engine
    finally:
        engine.dispose()


CHANNELS = 4
ROUNDS = 10  # heartbeats each way on every channel
# No lease renewal and no held-job expiry inside the heartbeat windows below.
QUIET = ("--presence-lease", "600", "--expiry-interval", "600")


def test_heartbeats_write_nothing_to_the_database(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("--heartbeat", "0.1", *QUIET)
    with ExitStack() as stack, writes_seen(server) as writes:
        endpoints, channels = open_channels(stack, server, CHANNELS)
        before = writes(endpoints)
        exchange_heartbeats(channels, ROUNDS)
        after = writes(endpoints)
    # Before the change: two writes per heartbeat and channel (2 * 4 * 10 = 80 at least).
    assert after.rows == before.rows, "an endpoint row was written by a heartbeat"
    assert after.version == before.version, "the database was written by heartbeats"


def test_idle_channels_cost_no_database_transaction_per_heartbeat(
    postgres: PostgresServer, tls: Tls, tmp_path: Path
) -> None:
    channels_open = 2 * CHANNELS
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name)
    # Every statement on this database goes to the cluster's log, from the first connection.
    with psycopg.connect(host="127.0.0.1", port=postgres.port, user="postgres",
                         dbname="postgres", autocommit=True) as conn:  # fmt: skip
        conn.execute(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
    server = ServerProcess(tmp_path / "data", tls.cert, tls.key, tls.client, url,
                           ["--heartbeat", "0.1", *QUIET])  # fmt: skip
    log = postgres.root / "pg.log"
    try:
        server.start()
        with ExitStack() as stack:
            _, channels = open_channels(stack, server, channels_open)
            offset = log.stat().st_size
            exchange_heartbeats(channels, ROUNDS)
            commits = log.read_bytes()[offset:].count(b"statement: COMMIT")
    finally:
        server.stop()
    # Before: each channel read its endpoint and its commands on every tick, about
    # 2 * 8 * 10 = 160 transactions. Now one sweep a second for all channels and Document
    # Output's poll: a few a second, whatever the number of channels and heartbeats.
    assert commits < channels_open * ROUNDS, f"{commits} transactions"


def open_channels(
    stack: ExitStack, server: ServerProcess, count: int
) -> tuple[list[int], list[ClientConnection]]:
    """`count` authorized endpoints with an open channel each, every one shown online."""
    endpoints = [authorized_endpoint(server, f"pc-{n}") for n in range(count)]
    channels = [stack.enter_context(open_channel(server, token)) for _, token in endpoints]
    for ws in channels:
        next_of(ws, "heartbeat")
    ids = [e for e, _ in endpoints]
    wait_for(lambda: all(online(server, e) for e in ids), 10, "all online")
    return ids, channels


def exchange_heartbeats(channels: list[ClientConnection], rounds: int) -> None:
    """`rounds` heartbeats from the server on every channel, each answered by one from the
    client; returns once the server has handled all of them. Heartbeats sent before the call
    (waiting in the socket) do not count: `ts` says when the server sent each."""
    since = time.time()
    for round_ in range(rounds):
        for ws in channels:
            while next_of(ws, "heartbeat")["body"]["ts"] < since:
                pass
            ws.send(json.dumps({"type": "heartbeat", "id": f"hb-{round_}", "body": {}}))
    for ws in channels:
        settle(ws)


class Writes:
    """`rows`: each endpoint row's version (PostgreSQL's xmin: any UPDATE makes a new one).
    `version`: on PostgreSQL every row's xmin in every table of the server's database (a
    write to any row of it changes one; the cluster's next transaction id would also count
    other tests' servers on other databases); on SQLite the file's data_version, which
    differs once any commit changed the file."""

    def __init__(self, rows: dict[int, str], version: object) -> None:
        self.rows, self.version = rows, version


@contextmanager
def writes_seen(server: ServerProcess) -> Iterator[Callable[[list[int]], Writes]]:
    if server.db_url is None:
        with closing(sqlite3.connect(server.data_dir / "server.db")) as conn:
            # One connection throughout: data_version compares commits made by others to it.
            yield lambda ids: Writes({}, conn.execute("PRAGMA data_version").fetchone()[0])
        return

    def seen(ids: list[int]) -> Writes:
        with engine.connect() as conn:  # reads only: this takes no transaction id
            rows = conn.execute(text("SELECT id, xmin::text FROM endpoints WHERE id = ANY(:ids)"),
                                {"ids": ids})  # fmt: skip
            found = dict(rows.all())
            tables = conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).all()
            stamps = {
                t: sorted(conn.scalars(text(f'SELECT xmin::text FROM "{t}"'))) for t in tables
            }
            return Writes(found, stamps)

    with database(server) as engine:
        yield seen


def settle(ws: ClientConnection) -> None:
    """Wait until the server has handled everything sent on `ws`: it answers messages in
    order, and one of an unknown type gets an ack without touching the database."""
    ws.send(json.dumps({"type": "settle", "id": "settle", "body": {}}))
    while True:
        message = json.loads(ws.recv(15))
        if message["type"] == "ack" and message["id"] == "settle":
            return
