"""Rate limits on guessing: failed logins per user name and per address, registrations per
address (issue 19, findings 8 and 9).

Attempts are rows of `attempts`, so several server processes on one database share the count.
An attempt is written and committed *before* the password is checked, and the count is read
after that commit: of any attempts racing each other, the last to count sees all of them, so
no burst of parallel requests gets past the limit (at worst, racing attempts refuse each other,
which fails closed). A refused attempt removes its own rows and costs no password check; a
login that succeeds removes its rows too, so what remains are failures (and registrations).
Unknown user names are counted like known ones, so the limit tells nothing about which exist.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.models import Attempt, now
from server.store import Store


@dataclass(frozen=True)
class Rule:
    bucket: str
    limit: int
    window: float  # seconds an attempt counts for


@dataclass(frozen=True)
class ThrottlePolicy:
    """The limits; the server's command line sets them, tests make them small."""

    # Per user name: an online guesser gets 10 passwords a quarter hour; the lockout a user
    # name can be held in by anyone is the price (their password is still not guessed).
    login_user_failures: int = 10
    # Per address: many people share one address (a terminal server, a NAT, every custom login
    # relayed by one PC), so this one is looser; it stops one host trying many names.
    login_address_failures: int = 50
    login_window: float = 900.0
    # A site's roll-out behind one NAT registers many machines; clients retry a 429 later.
    registrations: int = 60
    registration_window: float = 3600.0

    def login(self, user: str, address: str) -> list[tuple[Rule, str]]:
        return [
            (Rule("login-user", self.login_user_failures, self.login_window), user),
            *self.admin_login(address),
        ]

    def admin_login(self, address: str) -> list[tuple[Rule, str]]:
        """The admin page's token form counts with the address's failed logins."""
        return [(Rule("login-address", self.login_address_failures, self.login_window), address)]

    def registration(self, address: str) -> list[tuple[Rule, str]]:
        return [(Rule("register", self.registrations, self.registration_window), address)]

    @property
    def longest_window(self) -> float:
        return max(self.login_window, self.registration_window)


class Limited(Exception):
    """Refused: `retry_after` whole seconds until one counted attempt has aged out."""

    def __init__(self, bucket: str, retry_after: int) -> None:
        super().__init__(f"{bucket}: retry after {retry_after} s")
        self.bucket = bucket
        self.retry_after = retry_after


def _key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def take(store: Store, claims: list[tuple[Rule, str]]) -> list[int]:
    """Count one attempt under every claim; the ids of the rows written, to `forget` when the
    attempt turns out not to be a failure. Raises Limited (having written nothing) when any
    claim is over its limit."""
    current = now()
    with store.session() as session:
        rows = [Attempt(bucket=rule.bucket, key=_key(value), at=current) for rule, value in claims]
        session.add_all(rows)
    ids = [row.id for row in rows]
    refused: Limited | None = None
    with store.session() as session:
        for rule, value in claims:
            times = session.scalars(
                select(Attempt.at)
                .where(
                    Attempt.bucket == rule.bucket,
                    Attempt.key == _key(value),
                    Attempt.at > current - rule.window,
                    Attempt.id.not_in(ids),
                )
                .order_by(Attempt.at)
            ).all()
            if len(times) >= rule.limit:
                # The oldest attempts must age out until fewer than the limit remain.
                free_at = times[len(times) - rule.limit] + rule.window
                refused = Limited(rule.bucket, max(1, math.ceil(free_at - now())))
                break
        if refused is not None:
            # Committed before raising: a refused attempt that still counted would keep
            # someone who retries locked out for good.
            session.execute(delete(Attempt).where(Attempt.id.in_(ids)))
    if refused is not None:
        raise refused
    return ids


def forget(session: Session, ids: list[int]) -> None:
    """The attempt succeeded: it is not a failure to count (in the success's transaction)."""
    session.execute(delete(Attempt).where(Attempt.id.in_(ids)))


def sweep(store: Store, policy: ThrottlePolicy) -> int:
    """Delete attempts no window counts any more; the number deleted."""
    with store.session() as session:
        result = session.execute(delete(Attempt).where(Attempt.at < now() - policy.longest_window))
        return int(getattr(result, "rowcount", 0) or 0)
