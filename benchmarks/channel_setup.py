"""What the channels row (benchmarks/channels.py) runs on: throwaway TLS material and the
database, a private PostgreSQL cluster (support/postgres.py) when this machine can start one,
with the counters the row reads from PostgreSQL's statistics."""

from __future__ import annotations

import os
import shutil
import ssl
from pathlib import Path
from typing import Any

import trustme

from support.postgres import PostgresServer, pg_bindir


class Tls:
    """A throwaway CA and a 127.0.0.1 certificate, as the server tests make them."""

    def __init__(self, directory: Path) -> None:
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1")
        self.cert, self.key = directory / "server.pem", directory / "server.key"
        leaf.private_key_pem.write_to_path(str(self.key))
        self.cert.write_bytes(b"".join(pem.bytes() for pem in leaf.cert_chain_pems))
        self.client = ssl.create_default_context()
        ca.configure_trust(self.client)


class Database:
    """A private PostgreSQL cluster when this machine can start one, else None (SQLite)."""

    def __init__(self) -> None:
        self.pg: PostgresServer | None = None
        self.url: str | None = None
        self.name = "bench_channels"
        self.kind = "SQLite"
        bindir = pg_bindir()
        if bindir is None:
            self.kind += " (PostgreSQL binaries absent)"
            return
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            self.kind += " (root without runuser cannot start PostgreSQL)"
            return
        pg = PostgresServer(bindir)
        try:
            pg.start()
            self.url = pg.create_database(self.name)
        except Exception as exc:
            pg.stop()
            self.kind += f" (PostgreSQL did not start: {exc})"
            return
        self.pg = pg
        version = self._query("SELECT split_part(version(), ' ', 2)")[0]
        self.kind = f"PostgreSQL {version}"

    def _query(self, sql: str, *params: str) -> tuple[Any, ...]:
        import psycopg

        assert self.pg is not None
        with psycopg.connect(
            host="127.0.0.1", port=self.pg.port, user="postgres", dbname=self.name
        ) as conn:
            row = conn.execute(sql, params).fetchone()
        assert row is not None
        return tuple(row)

    def counters(self) -> tuple[int, int] | None:
        """(transactions, rows written) so far in the benchmark's database; None on SQLite.
        Backends report at most once a second, so a window's edges are that blurred."""
        if self.pg is None:
            return None
        xacts, written = self._query(
            "SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted"
            " FROM pg_stat_database WHERE datname = %s",
            self.name,
        )
        return int(xacts) - 1, int(written)  # less this query's own transaction

    def use(self, name: str) -> str | None:
        """A new, empty database of the cluster, which ``counters`` reads from now on."""
        assert self.pg is not None
        self.name = name
        self.url = self.pg.create_database(name)
        return self.url

    def stop(self) -> None:
        if self.pg is not None:
            self.pg.stop()
