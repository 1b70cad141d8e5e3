"""The database: Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL,
and a restarted server picks up where it stopped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.models import Base
from server.store import Store, default_url
from support.server import ServerProcess, add_printer_and_port, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import header, unique, upload
from tests.server.peers import RawSink


def test_migrations_match_the_models_and_rerun_harmlessly(
    tmp_path: Path, db_url: str | None
) -> None:
    store = Store(db_url or default_url(tmp_path))
    try:
        store.migrate()
        store.migrate()  # a second start finds the schema at head and changes nothing
        with store.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
    finally:
        store.close()


def test_restart_removes_partial_uploads_and_keeps_stored_jobs(
    start_server: Callable[..., ServerProcess], raw_sink: RawSink
) -> None:
    server = start_server()
    _, token = authorized_endpoint(server)
    printer = unique("raw")
    port_id = add_printer_and_port(server, printer, raw_sink.port)
    job_id = unique("job")
    reply = upload(server.gateway_port, server.ca, header(token, job_id, port_id, b"kept"), b"kept")
    assert reply is not None and reply.code == "stored"
    server.stop()
    (server.spool_dir / "crashed.part").write_bytes(b"half a job")  # as a crash would leave

    server.start()
    assert "crashed.part" not in server.spool_files()
    with server.admin() as admin:
        admin.post("/api/v1/release", json={"user": "alice", "printer": printer})
    wait_for(lambda: raw_sink.documents() == [b"kept"], 30, "job stored before restart printed")
