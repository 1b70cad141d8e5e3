"""Presence: which endpoints have a live channel, healed by itself when a server process dies
(issue 22, finding 4).

A holder row alone (`endpoints.channel_holder`) named a killed process forever, and proving a
channel alive by writing `last_seen_at` on every heartbeat cost a commit per channel per
heartbeat (342 a second for 1,000 idle channels). Instead each server process holds a lease, a
row of `server_leases` renewed by one statement every third of its length (`--presence-lease`,
30 s by default): an endpoint is online while the process its `channel_holder` names has an
unexpired lease. A process that dies stops renewing, so its endpoints show offline within one
lease with nobody writing for them, and the endpoint's reconnect, through any process, makes
that process the holder. Heartbeats write nothing; `last_seen_at` is written when a channel
opens and when it closes.

Why a lease and not a session-level advisory lock per endpoint (which PostgreSQL frees when
the dead process's connection goes): the lock exists only on PostgreSQL, while SQLite, the
default, needs the same answer after a restart; it pins a database connection per process for
its whole life, beside the pool; and every reader (admin REST, pages, the admin CLI, another
process) would have to ask `pg_locks` instead of reading rows. The lease costs one write per
process every `length / 3` seconds, whatever the number of channels, and reads as a join.

The holder is new at every process start (host, pid and a random part), not the data dir's
instance id: a process restarted on the same data dir must not revive the endpoints of the one
before it. It drops that predecessor's lease as it starts (one process per data dir, as the
upload claims assume), so after a restart those endpoints show offline at once, not a lease
later. Lease times are each process's own clock, as the claims' are: processes sharing one
database keep their clocks within a small part of the lease (NTP).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from server.logs import event
from server.models import Endpoint, ServerLease, now
from server.store import Store, insert

DEFAULT_LENGTH = 30.0
# A lease expired this long ago is deleted by the next process to start: its process is gone
# for good, and its endpoints have shown offline since it expired.
FORGOTTEN_AFTER = 86400.0


def new_holder() -> str:
    """Who this process is in `channel_holder`: readable in the database (host, pid), and
    unique to this start (the random part: pids are reused)."""
    return f"{socket.gethostname()[:200]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Lease:
    """This process's lease: `holder` in `server_leases`, for `length` seconds at a time."""

    holder: str
    instance: str
    length: float = DEFAULT_LENGTH

    def renew(self, session: Session) -> None:
        """One statement. An upsert rather than an update: a lease deleted while this process
        was cut off from the database comes back, and with it its endpoints' presence."""
        at = now()
        row = {"holder": self.holder, "instance": self.instance, "started_at": at,
               "expires_at": at + self.length}  # fmt: skip
        statement = insert(session, ServerLease).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=[ServerLease.holder], set_={"expires_at": statement.excluded.expires_at}
        )
        session.execute(statement)

    def begin(self, session: Session) -> int:
        """At start, before listening: forget the leases of this data dir's earlier processes
        (gone: one process per data dir), whose endpoints are offline from now on, and leases
        expired long ago (processes on data dirs never started again), then take ours.
        Returns how many leases were forgotten."""
        gone = delete(ServerLease).where(
            or_(
                ServerLease.instance == self.instance,
                ServerLease.expires_at < now() - FORGOTTEN_AFTER,
            ),
            ServerLease.holder != self.holder,
        )
        forgotten = session.execute(gone).rowcount  # type: ignore[attr-defined]
        self.renew(session)
        return forgotten


def hold(session: Session, endpoint_id: int, holder: str) -> None:
    """A channel opened in the process `holder`, which holds it from now on, whoever held it
    before (a dead process's hold ends here, at the endpoint's reconnect)."""
    statement = update(Endpoint).where(Endpoint.id == endpoint_id)
    session.execute(statement.values(channel_holder=holder, last_seen_at=now()))


def let_go(session: Session, endpoint_id: int, holder: str) -> None:
    """The channel of `endpoint_id` in the process `holder` closed; an endpoint that
    reconnected to another process meanwhile stays that one's."""
    ours = update(Endpoint).where(Endpoint.id == endpoint_id, Endpoint.channel_holder == holder)
    session.execute(ours.values(channel_holder=None, last_seen_at=now()))


def online_ids(session: Session) -> set[int]:
    """The endpoints whose channel is held by a process with an unexpired lease."""
    live = select(ServerLease.holder).where(ServerLease.expires_at > now())
    return set(session.scalars(select(Endpoint.id).where(Endpoint.channel_holder.in_(live))))


def is_online(session: Session, endpoint: Endpoint) -> bool:
    if endpoint.channel_holder is None:
        return False
    lease = session.get(ServerLease, endpoint.channel_holder)
    return lease is not None and lease.expires_at > now()


async def keep(store: Store, lease: Lease) -> None:
    """Renew every third of the length, so one renewal lost to a busy database does not end
    the lease. A database that stays away lets it end: the endpoints then show offline, which
    is the truth seen from any other process."""
    while True:
        await asyncio.sleep(lease.length / 3)
        try:
            await asyncio.to_thread(_renew, store, lease)
        except SQLAlchemyError as exc:
            event("presence.renew_failed", error=exc.__class__.__name__)


def _renew(store: Store, lease: Lease) -> None:
    with store.session() as session:
        lease.renew(session)
