"""The server's tables as SQLAlchemy 2.x typed models.

The schema itself is created and changed only by the Alembic migrations in server/alembic/;
these classes must match them (tests/server/test_store.py compares the two). Times are UTC
seconds since the epoch as floats, which SQLite and PostgreSQL store the same way.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    false,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


def now() -> float:
    return time.time()


class Base(DeclarativeBase):
    pass


port_printers = Table(
    "port_printers",
    Base.metadata,
    Column("port_id", ForeignKey("input_ports.id", ondelete="CASCADE"), primary_key=True),
    Column("printer_id", ForeignKey("printers.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[float] = mapped_column(Float, default=now)
    # A disabled user cannot log in, release or have jobs stored; endpoints log them out.
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @staticmethod
    def is_disabled(session: Session, name: str) -> bool:
        """Owners the server does not know are not disabled (os login names, local users)."""
        return bool(session.scalar(select(User.disabled).where(User.name == name)))


class UserSession(Base):
    """One login: its current access token (until `expires_at`) and refresh token (until
    `refresh_expires_at`), and the refresh token the last refresh replaced, still accepted for
    the refresh grace after `rotated_at` (server/user_tokens.py). Only sha256 hashes are
    stored, so a database dump leaks no usable token. Deleting the row ends every token of the
    session at once (logout, disabling the user)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    # A row written without an expiry (by an older server process) is expired, not eternal.
    expires_at: Mapped[float] = mapped_column(Float, server_default=text("0"))
    refresh_expires_at: Mapped[float] = mapped_column(Float, server_default=text("0"))
    # NULL for sessions from before schema 0008, which never had a refresh token.
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    previous_refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    rotated_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    user: Mapped[User] = relationship()


class Printer(Base):
    __tablename__ = "printers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    protocol: Mapped[str] = mapped_column(String(8))  # raw | ipp | ipps
    path: Mapped[str] = mapped_column(String(255), default="")
    # What a raw printer can do, which it cannot be asked (protocol.channel.PrinterInfo).
    color: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    duplex: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    media: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    media_default: Mapped[str] = mapped_column(String(64), default="", server_default="")
    resolution: Mapped[int] = mapped_column(Integer, default=600, server_default="600")
    pjl: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class InputPort(Base):
    """What a client machine turns into an OS print queue."""

    __tablename__ = "input_ports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # pull | direct
    target_printer_id: Mapped[int | None] = mapped_column(
        ForeignKey("printers.id", ondelete="SET NULL"), nullable=True
    )

    target: Mapped[Printer | None] = relationship(foreign_keys=[target_printer_id])
    printers: Mapped[list[Printer]] = relationship(secondary=port_printers)


class Endpoint(Base):
    """A client machine. pending -> authorized -> revoked; its credentials are rows of
    `endpoint_tokens`, issued once on the first token poll after authorization."""

    __tablename__ = "endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    os: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    secret_hash: Mapped[str] = mapped_column(String(64))
    # The long-lived endpoint token of schema 0004 and before; migration 0005 turned each one
    # into a refresh token and cleared it. Never read (SQLite cannot drop a UNIQUE column).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    credentials_issued_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    authorized_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_seen_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The lease (server_leases.holder) of the process holding this endpoint's channel; None
    # when no process does. Online means: this lease is unexpired (server/presence.py).
    channel_holder: Mapped[str | None] = mapped_column(String(255), nullable=True)


class EndpointToken(Base):
    """One credential of an endpoint, stored as its sha256 only.

    `access` tokens authenticate every endpoint call (REST, channel handshake, gateway) until
    `expires_at`, a few minutes. A `refresh` token lives long and buys a new pair once: using it
    sets `rotated_at`, after which it is accepted again only within the server's refresh grace
    (a client whose answer was lost on the way can still get in). Revoking the endpoint voids
    both kinds at once (server/tokens.py).
    """

    __tablename__ = "endpoint_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("endpoints.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # access | refresh
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float] = mapped_column(Float)
    rotated_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Job(Base):
    """One print job the server knows of: stored on the server, or held on an endpoint.

    The row doubles as the accounting record, so it is kept after the document is deleted.
    """

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    location: Mapped[str] = mapped_column(String(16))  # server | endpoint
    # For location=server: the instance (data dir) whose spool holds the document, or
    # "database" (server/documents.py DATABASE) when any process reads it from the database.
    stored_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The instance that claimed the job for its current attempt: after a crash, that
    # instance's restart alone retries it (another process may be printing it right now).
    delivered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("endpoints.id", ondelete="SET NULL"), nullable=True
    )
    port_id: Mapped[int | None] = mapped_column(
        ForeignKey("input_ports.id", ondelete="SET NULL"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(1024), default="")
    format: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    size: Mapped[int] = mapped_column(BigInteger, default=0)  # jobs can exceed 2 GiB
    sha256: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(32), index=True)
    reasons: Mapped[str] = mapped_column(String(255), default="none")
    printer_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # none_as_null: "no target" must be SQL NULL, not the JSON value null, for IS NULL tests.
    target: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    # The job's options as its upload carried them (protocol/job_options.py's JSON); None
    # for a job without any, or from an endpoint that predates them.
    options: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now)
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class UploadClaim(Base):
    """A gateway upload in progress, so that one job id is stored by one connection of one
    server process at a time (issue 22, finding 1). Inserted before the body is read, deleted
    in the transaction that commits the job; a claim whose process died is taken over once
    `expires_at` has passed (the holder gives up on its body well before then)."""

    __tablename__ = "upload_claims"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(32))  # this attempt's, so a taken-over holder knows
    claimed_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float] = mapped_column(Float)


class DocumentChunk(Base):
    """One piece (1 MiB) of a document kept in the database (server/documents.py), so that
    every server process reaches it (issue 22, finding 2). `upload` is the upload claim's
    token: the rows of one write, staged (`complete` false) until the job row commits with
    them, which only the claim's holder can do; staged rows whose claim is gone are swept."""

    __tablename__ = "document_chunks"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    upload: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    complete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ServerLease(Base):
    """A running server process's lease on presence (issue 22, finding 4; server/presence.py).

    An endpoint's channel counts as online only while the lease its `channel_holder` names is
    unexpired, so the endpoints of a killed process go offline within one lease without any
    process writing for them. `instance` is the data dir's id: a process starting on the same
    data dir drops its predecessor's lease at once."""

    __tablename__ = "server_leases"

    holder: Mapped[str] = mapped_column(String(255), primary_key=True)
    instance: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float] = mapped_column(Float)


class Command(Base):
    """A server -> endpoint channel command, kept until the endpoint acks it.

    The table is the queue: whichever server process holds the endpoint's channel sends what
    is unacked, so a command survives a dropped connection or a server restart.
    """

    __tablename__ = "commands"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    acked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Setting(Base):
    """Site configuration handed to endpoints (GET /api/v1/config, config.changed)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


group_members = Table(
    "group_members",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Group(Base):
    """A named set of users, for assigning a configuration profile to many at once."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)

    members: Mapped[list[User]] = relationship(secondary=group_members)


class Profile(Base):
    """A configuration profile; each setting is optional (NULL = not set by this profile).
    The settings mirror protocol/rest.py's ProfileSettings."""

    __tablename__ = "profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    log_level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    allow_local_configuration: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    sync_interval: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retention: Mapped[int | None] = mapped_column(Integer, nullable=True)
    default_color: Mapped[str | None] = mapped_column(String(16), nullable=True)
    default_duplex: Mapped[str | None] = mapped_column(String(32), nullable=True)
    default_paper: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)


class ProfileAssignment(Base):
    """A profile given to one user, one group, or (both NULL) everyone: the default.

    At most one row per user, per group and for the default; server/profiles.py keeps it so
    (the unique indexes cover users and groups; NULLs never collide, hence the code for the
    default)."""

    __tablename__ = "profile_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), nullable=True, unique=True
    )

    profile: Mapped[Profile] = relationship()


class EndpointUser(Base):
    """A server user an endpoint last said is logged in on it (GET /api/v1/config?users=...):
    whose profile the endpoint gets, and so whom a profile change is pushed to."""

    __tablename__ = "endpoint_users"

    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("endpoints.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)


class AuditEntry(Base):
    """One line of the audit trail (server/audit.py): who (`actor`: a user, "admin", an
    endpoint's hostname) did what (`action`, e.g. `user.login-failed`, `job.release`) to what
    (`subject`), when, and from where (`origin`: the client's address, or the admin CLI).
    Append only; written in the transaction of the change it describes. Never a secret."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[float] = mapped_column(Float, default=now, index=True)
    actor: Mapped[str] = mapped_column(String(255), index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255), default="")
    origin: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(String(1024), default="")


class Attempt(Base):
    """One counted attempt for the rate limits (server/throttle.py): a failed or in-flight
    login per user name and per address, a registration per address. Counted in the database,
    not in memory, so the limits hold across server processes sharing it; `key` is the sha256
    of the name or address, so a password typed into the user field is not kept. Rows older
    than the longest window are swept by retention."""

    __tablename__ = "attempts"
    # The limit check counts one bucket and key within a window.
    __table_args__ = (Index("ix_attempts_bucket_key_at", "bucket", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32))  # login-user, login-address, register
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[float] = mapped_column(Float, default=now, index=True)


class AdminSession(Base):
    """A signed-in admin page: the cookie holds a random id, only its sha256 is here, and it
    stops working at `expires_at` or when the row is deleted (sign out). The admin token
    itself never goes into a cookie."""

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float, default=now)
    expires_at: Mapped[float] = mapped_column(Float)
