"""Fixtures for the server tests: TLS material, the database (SQLite and PostgreSQL), the
server process and the printers it delivers to. Every process started here is stopped here."""

from __future__ import annotations

import os
import shutil
import ssl
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from server.store import Store, default_url
from support.postgres import PostgresServer, pg_bindir
from support.server import ServerProcess
from tests.server.peers import DnsSd, IppEvePrinter, RawSink


class Tls:
    def __init__(self, directory: Path) -> None:
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        self.cert = directory / "server.pem"
        self.key = directory / "server.key"
        self.ca_file = directory / "ca.pem"
        leaf.private_key_pem.write_to_path(str(self.key))
        leaf.cert_chain_pems[0].write_to_path(str(self.cert))
        for extra in leaf.cert_chain_pems[1:]:
            with self.cert.open("ab") as f:
                f.write(extra.bytes())
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.client = ssl.create_default_context(cafile=str(self.ca_file))


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return Tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries absent (Debian package postgresql; make test installs it)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
    server = PostgresServer(bindir)
    try:
        server.start()
    except Exception as exc:
        server.stop()
        pytest.skip(f"could not start a private PostgreSQL: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Every server test runs once per database the server supports."""
    return request.param


def _new_database(kind: str, request: pytest.FixtureRequest) -> str | None:
    """None means the server's default: a SQLite file under its data dir."""
    if kind == "sqlite":
        return None
    pg: PostgresServer = request.getfixturevalue("postgres")
    return pg.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def store(tmp_path: Path, db_kind: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A database of the test's own, not yet migrated (migration tests upgrade it step by
    step; a test that needs the tables migrates it)."""
    store = Store(_new_database(db_kind, request) or default_url(tmp_path))
    yield store
    store.close()


@pytest.fixture(scope="session")
def db_url(db_kind: str, request: pytest.FixtureRequest) -> str | None:
    return _new_database(db_kind, request)


# Short timeouts so slow-peer and retry tests finish quickly; production defaults are longer.
TEST_OPTIONS = ("--heartbeat", "0.5", "--retry-initial", "0.2", "--header-timeout", "2",
                "--read-timeout", "2")  # fmt: skip
# Every test registers its endpoints and fails its logins from 127.0.0.1 on the one shared
# server; the per-address limits are tested on servers of their own (test_server_limits.py).
SHARED_LIMITS = ("--registrations-per-address", "100000", "--login-address-failures", "100000")


@pytest.fixture(scope="session")
def shared_server(
    tmp_path_factory: pytest.TempPathFactory, tls: Tls, db_url: str | None
) -> Iterator[ServerProcess]:
    """One server per database for the whole session: tests use their own names and ids,
    which is also how a real shared server is used, and it keeps the suite within budget."""
    root = tmp_path_factory.mktemp("server")
    options = [*TEST_OPTIONS, *SHARED_LIMITS]
    server = ServerProcess(root / "data", tls.cert, tls.key, tls.client, db_url, options)
    server.start()
    yield server
    server.stop()


def _log_size(server: ServerProcess) -> int:
    return server.log_path.stat().st_size if server.log_path.exists() else 0


def _show_log_if_failed(
    request: pytest.FixtureRequest, before: int, server: ServerProcess, offset: int
) -> None:
    if request.session.testsfailed > before:
        with server.log_path.open("rb") as log:
            log.seek(offset)
            print(f"--- server log ({server.data_dir}) ---\n{log.read().decode(errors='replace')}")


@pytest.fixture
def server(shared_server: ServerProcess, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """The shared server; when the test fails, the log lines it produced are printed."""
    before, offset = request.session.testsfailed, _log_size(shared_server)
    yield shared_server
    _show_log_if_failed(request, before, shared_server, offset)


@pytest.fixture
def start_server(
    tmp_path: Path, tls: Tls, db_kind: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., ServerProcess]]:
    """Fresh servers of the test's own (restarts, special options), on a fresh database that
    all servers of this test share, and so with the first one's admin token."""
    started: list[ServerProcess] = []
    before = request.session.testsfailed
    db_url = _new_database(db_kind, request)

    def start(*extra: str, name: str = "data") -> ServerProcess:
        server = ServerProcess(tmp_path / name, tls.cert, tls.key, tls.client, db_url,
                               [*TEST_OPTIONS, *extra])  # fmt: skip
        if started and started[0].data_dir != server.data_dir:
            server.share_admin_token(started[0])
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()
        _show_log_if_failed(request, before, server, 0)


@pytest.fixture
def pair(
    start_server: Callable[..., ServerProcess], db_kind: str
) -> tuple[ServerProcess, ServerProcess]:
    """Two server processes, `a` and `b`, each with its own data dir, on one PostgreSQL."""
    if db_kind == "sqlite":
        pytest.skip("several server processes share a database only on PostgreSQL")
    return start_server(name="a"), start_server(name="b")


@pytest.fixture
def raw_sink(tmp_path: Path) -> Iterator[RawSink]:
    sink = RawSink(tmp_path / "raw-printed")
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def dns_sd() -> Iterator[DnsSd]:
    missing = [b for b in ("ippeveprinter", "dbus-daemon", "avahi-daemon") if not shutil.which(b)]
    if missing:
        pytest.skip(f"{', '.join(missing)} absent (Debian cups-ipp-utils, dbus, avahi-daemon)")
    dns = DnsSd()
    try:
        dns.ensure()
    except Exception as exc:
        dns.stop()
        pytest.skip(f"cannot start dbus/avahi for ippeveprinter (root needed?): {exc}")
    yield dns
    dns.stop()


@pytest.fixture
def ippeveprinter(tmp_path: Path, dns_sd: DnsSd) -> Iterator[IppEvePrinter]:
    printer = IppEvePrinter(tmp_path / "ipp")
    printer.start()
    yield printer
    printer.stop()
