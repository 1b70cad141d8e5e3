"""The store: one SQLite file (WAL) that is the only truth about jobs, printers and reports.

Every process opens it with the same pragmas. ZeroMQ messages only say "look again"; whatever a
process must do, it finds here, on start and on its rescan timer.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from services.core import migrations

# How long a writer waits for another process's transaction before giving up. Commits here are
# small (one row), so seconds of waiting means something is wrong, not busy.
BUSY_TIMEOUT_MS = 10_000


class Base(DeclarativeBase):
    pass


class Job(Base):
    """One print job. ``uuid`` is the job's id everywhere outside this table: the spool file,
    bus messages, log lines, the facade, the server's wires and reports. ``id`` is the row id,
    for foreign keys and as the IPP job-id the spooler hands out (an integer, RFC 8011); it
    leaves the store only as that, and as the facade's ``ipp_job_id`` next to the uuid."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    printer: Mapped[str] = mapped_column(String(127), index=True)
    owner: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    format: Mapped[str] = mapped_column(String(127), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    impressions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[int] = mapped_column(Integer, index=True)
    state_reasons: Mapped[str] = mapped_column(String(255), default="none")
    state_message: Mapped[str] = mapped_column(String(1024), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, default=0.0)
    route: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Where a released pull job prints: JSON {name, host, port, protocol, path}.
    target: Mapped[str | None] = mapped_column(String, nullable=True)
    # The server has been told about this job (job.stored queued), so its changes are reported.
    reported: Mapped[bool] = mapped_column(Boolean, default=False)
    # The job-template attributes the job was accepted with (capabilities.py JSON encoding).
    options: Mapped[str | None] = mapped_column(String, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class JobEvent(Base):
    """One line of a job's trace: what happened to it, when, and the detail a person needs
    (which printer, which route and why, what an attempt's error was, who canceled it).
    Written by ``core/jobs.py`` in the transaction of the change it describes."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(Integer, ForeignKey("jobs.id"))
    at: Mapped[float] = mapped_column(Float)
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(1024), default="")


class Printer(Base):
    """An input port this client serves, and for direct ports the printer it delivers to."""

    __tablename__ = "printers"

    name: Mapped[str] = mapped_column(String(127), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # direct | pull
    host: Mapped[str] = mapped_column(String(255), default="")
    port: Mapped[int] = mapped_column(Integer, default=9100)
    protocol: Mapped[str] = mapped_column(String(16), default="raw")  # raw | ipp
    path: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(16), default="config")  # config | server
    server_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # What the printer can do (core/capabilities.py JSON) and when sync last read it.
    capabilities: Mapped[str | None] = mapped_column(String, nullable=True)
    capabilities_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class State(Base):
    """Small runtime values that must survive restarts (the delivery route switch, ...)."""

    __tablename__ = "state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String)  # JSON


class Outbox(Base):
    """A report for the server, written in the same transaction as the change it reports."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)  # idempotency key
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String)  # JSON
    created_at: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Pin(Base):
    """The certificate an IPPS printer showed the first time (``host:port``): a different one
    later is refused and reported, never trusted silently."""

    __tablename__ = "pins"

    address: Mapped[str] = mapped_column(String(300), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[float] = mapped_column(Float)


class AuditEntry(Base):
    """One line of the audit trail: who (``actor``) did what (``action``, a keyword such as
    ``job.cancel``) to what (``subject``), when, and from where (``origin``: the facade and the
    caller's uid, the CLI, the channel for the server's commands). Append only; written by
    ``core/audit.py`` in the transaction of the change it describes. Never a secret's value."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255), default="")
    origin: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(String(1024), default="")


SCHEMA_VERSION = len(migrations.STEPS)


def _set_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before we acknowledge the job it records.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


class Store:
    """Engine + session factory for one state directory's database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 10})
        event.listen(self.engine, "connect", _set_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrate()
        os.chmod(path, 0o600)

    def session(self) -> Session:
        return self._sessions()

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("PRAGMA user_version")).scalar_one())

    def _migrate(self) -> None:
        """Apply every step above the file's ``user_version``.

        All processes start together under supervisord; the lock file makes exactly one of
        them run the steps while the others wait and then find nothing to do.
        """
        lock_path = self.path.with_name(self.path.name + ".migrate-lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with self.engine.begin() as conn:
                current = int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
                for version in range(current + 1, SCHEMA_VERSION + 1):
                    for statement in migrations.statements(migrations.STEPS[version - 1]):
                        conn.exec_driver_sql(statement)
                    conn.exec_driver_sql(f"PRAGMA user_version={version}")

    def dispose(self) -> None:
        self.engine.dispose()
