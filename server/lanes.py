"""A printer's lane across server processes: one sender at a time (issue 22, finding 3).

Document Output sends one job at a time per printer, oldest first. A set in one process's
memory keeps that only within the process: with two processes on one PostgreSQL, jobs for one
printer were on its connection at the same moment. The lane is therefore a PostgreSQL
session-level advisory lock, taken with `pg_try_advisory_lock` before a job of the lane is
claimed and unlocked once its end is committed, on one connection this process keeps for
its locks. Why that kind of lock:

- PostgreSQL frees it when the holder's connection ends, so also when its process is
  SIGKILLed: no lane waits for a dead process to restart. And since every sender holds its
  lane for the whole delivery, a `processing` job in a lane whose lock one can take was being
  sent by a process that is gone: the next holder makes it due again (`reset_orphans`) and
  Document Output sends it from the start.
- One connection for all of a process's lanes, however many printers print at once. A
  transaction-level lock would need an open transaction, and so a pooled connection, per
  printer being printed to, for as long as the print takes.
- Try, never wait: a lane held elsewhere is not this process's work now; it looks again at
  its next rescan.

The price of a session lock is that it must be unlocked by hand: `release` does, in the
delivery's `finally`. If the lock connection fails, PostgreSQL has freed everything it held:
that is logged (`lanes.lost`), the sends under way finish without their lanes (the one window
in which two processes might send to one printer), and the next `acquire` reconnects. A
transaction-pooling proxy (PgBouncer in transaction mode) would hand the session to others:
connect the server to PostgreSQL directly or through a session-mode pool.

Keys are the two-integer form, class `LANE_CLASS`, so they cannot meet single-bigint keys
other parts of the server may lock; the second integer is 32 bits of the lane's sha256. Two
printers that collide share one lane across processes: slower, never two senders in one lane.

On SQLite there is one server process: its lanes are Document Output's set in memory, and
`acquire` always succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from server import jobs
from server.logs import event
from server.models import Job, now
from server.store import Store

LANE_CLASS = 0x4C414E45  # "LANE": advisory locks of this class are printer lanes


def lane_of(target: dict[str, Any]) -> str:
    """A job's lane: the printer's address, where its jobs queue one after the other."""
    return f"{target['host']}:{target['port']}"


def unfinished_jobs(session: Session, *where: Any) -> Sequence[Row[Any]]:
    """The server's unfinished jobs that have a printer (id, target, state, next_attempt_at),
    oldest first: what every lane is made of. `where` narrows them further."""
    return session.execute(
        select(Job.id, Job.target, Job.state, Job.next_attempt_at)
        .where(
            Job.location == "server",
            Job.target.is_not(None),
            Job.state.in_(("pending", "processing", "processing-stopped")),
            *where,
        )
        .order_by(Job.created_at, Job.id)
    ).all()


def unfinished(session: Session, lane: str) -> list[tuple[str, str]]:
    """The lane's unfinished jobs (id, state), oldest first, whichever process stored them."""
    rows = unfinished_jobs(session)
    return [(row.id, row.state) for row in rows if lane_of(row.target) == lane]


def reset_orphans(session: Session, lane: str) -> tuple[list[str], bool]:
    """For the holder of the lane's lock, which sends nothing on it yet: the lane's unfinished
    jobs, oldest first, and whether one was orphaned. A `processing` one was being sent by a
    process that died (a live sender would hold the lock): it is made due again, to be sent
    from the start, in the caller's transaction."""
    ahead = unfinished(session, lane)
    orphaned = False
    for job_id, state in ahead:
        if state == "processing" and jobs.transition(
            session, job_id, "processing", "processing-stopped", next_attempt_at=now()
        ):
            event("output.orphaned", job=job_id, lane=lane)
            orphaned = True
    return [job_id for job_id, _ in ahead], orphaned


def due_now(state: str, next_attempt_at: float | None) -> bool:
    """Whether a job of a lane may be sent now: released, or its retry's time has come."""
    return state == "pending" or (
        state == "processing-stopped" and (next_attempt_at or 0.0) <= now()
    )


def lane_key(lane: str) -> int:
    return int.from_bytes(hashlib.sha256(lane.encode()).digest()[:4], "big", signed=True)


@dataclass(frozen=True)
class Held:
    """A lane this process holds, on the lock connection of `generation`."""

    lane: str
    generation: int


class Lanes:
    """This process's hold on printer lanes; thread-safe (deliveries call it from threads)."""

    def __init__(self, store: Store) -> None:
        shared = store.engine.dialect.name == "postgresql"
        # Its own engine without a pool: the lock connection is never lent to anything else.
        self._engine = create_engine(store.url, poolclass=NullPool) if shared else None
        self._conn: Connection | None = None
        self._generation = 0
        self._guard = threading.Lock()

    def acquire(self, lane: str) -> Held | None:
        """The lane if no other process holds it; None when one does (or the database is
        unreachable: then nobody can claim a job anyway)."""
        if self._engine is None:
            return Held(lane, 0)
        with self._guard:
            try:
                conn = self._connection()
                taken = conn.execute(
                    text("SELECT pg_try_advisory_lock(:c, :k)"),
                    {"c": LANE_CLASS, "k": lane_key(lane)},
                ).scalar()
            except SQLAlchemyError as exc:
                self._lost(exc)
                return None
            return Held(lane, self._generation) if taken else None

    def release(self, held: Held) -> None:
        if self._engine is None:
            return
        with self._guard:
            if self._conn is None or held.generation != self._generation:
                return  # that connection is gone, and its locks with it
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:c, :k)"),
                    {"c": LANE_CLASS, "k": lane_key(held.lane)},
                )
            except SQLAlchemyError as exc:
                self._lost(exc)

    def close(self) -> None:
        """Frees every lane this process holds (closing the session does)."""
        with self._guard:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._engine is not None:
                self._engine.dispose()

    def _connection(self) -> Connection:
        if self._conn is None:
            assert self._engine is not None
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._generation += 1
        return self._conn

    def _lost(self, exc: Exception) -> None:
        """The lock connection failed: PostgreSQL has freed all it held; start afresh."""
        event("lanes.lost", error=type(exc).__name__)
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):  # broken already; this only tidies up
                self._conn.close()
            self._conn = None
