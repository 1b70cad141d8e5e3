"""Upload claims: which connection of which server process stores a job id (issue 22, finding 1).

A set in each process's memory cannot see the other processes of a cluster: two of them
both stored the same job and the printer got it twice. The claim is a row in the shared
database instead, inserted with ON CONFLICT DO NOTHING before any body byte is read, so of two
uploads at the same moment exactly one wins, on SQLite and on PostgreSQL alike. The winner
deletes its claim in the transaction that commits the job; a process killed in between
leaves its claim behind, and any process takes it over once it has expired.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from server.models import Job, UploadClaim, now
from server.store import insert

Outcome = Literal["won", "held", "stored", "free"]


@dataclass(frozen=True)
class Claim:
    """What `take` or `status` found: `won` (with `token`: this upload stores the job), `held`
    (another live upload has it), `stored` (the job is on the server already, with its
    `sha256`) or `free` (no upload has it and it is not stored: the one that had it failed)."""

    outcome: Outcome
    token: str = ""
    sha256: str = ""
    expires_at: float = 0.0


def _insert(session: Session, row: dict[str, object]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when this call inserted the row."""
    statement = insert(session, UploadClaim).values(**row).on_conflict_do_nothing()
    # RETURNING rather than rowcount: an ORM-enabled insert does not report the latter on
    # PostgreSQL, and a row returned is exactly "this statement inserted it".
    inserted = session.execute(statement.returning(UploadClaim.job_id)).first()
    return inserted is not None


def take(session: Session, job_id: str, instance: str, lease: float) -> Claim:
    """Claim `job_id` for one upload of `lease` seconds, or say who has it. The caller's
    transaction must commit for the claim to count. The job row is read after the claim: a
    winner that committed a moment ago has deleted its claim, and its job must be seen."""
    at = now()
    token = secrets.token_hex(16)
    row = {"job_id": job_id, "instance": instance, "token": token, "claimed_at": at,
           "expires_at": at + lease}  # fmt: skip
    won = _insert(session, row)
    if not won:
        # A stale claim (its process died) is taken over, by one process only: the update
        # matches the old row only while it is still expired.
        stale = update(UploadClaim).where(UploadClaim.job_id == job_id, UploadClaim.expires_at < at)
        won = session.execute(stale.values(**row)).rowcount == 1  # type: ignore[attr-defined]
    job = session.execute(select(Job.location, Job.sha256).where(Job.id == job_id)).first()
    if job is not None and job.location == "server":
        if won:
            session.execute(delete(UploadClaim).where(UploadClaim.token == token))
        return Claim("stored", sha256=job.sha256)
    if not won:
        held = session.get(UploadClaim, job_id)
        return Claim("held", expires_at=held.expires_at if held else at)
    return Claim("won", token=token, expires_at=at + lease)


def finish(session: Session, job_id: str, token: str) -> bool:
    """Delete our claim in the transaction that commits the job. False when it is no longer
    ours (it expired and another upload took it over): that upload stores the job, not us."""
    statement = delete(UploadClaim).where(UploadClaim.job_id == job_id, UploadClaim.token == token)
    return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]


def drop(session: Session, job_id: str, token: str) -> None:
    """Give up a claim whose upload failed, so the client's retry need not wait for expiry."""
    finish(session, job_id, token)


def status(session: Session, job_id: str) -> Claim:
    """For an upload that lost the race: is the job stored by now, or still being uploaded?
    The claim is read before the job: the winner deletes one and writes the other in one
    commit, so a claim gone means the job row read after it is the winner's final word
    (read the other way round, a commit in between looked like a winner that failed)."""
    held = session.get(UploadClaim, job_id)
    if held is not None and held.expires_at >= now():
        return Claim("held", expires_at=held.expires_at)
    job = session.execute(select(Job.location, Job.sha256).where(Job.id == job_id)).first()
    if job is not None and job.location == "server":
        return Claim("stored", sha256=job.sha256)
    return Claim("free")


def release_instance(session: Session, instance: str) -> int:
    """At start, before listening: this data dir's claims were made by its previous process,
    which is gone (one process per data dir), so a client's retry need not wait for them to
    expire."""
    statement = delete(UploadClaim).where(UploadClaim.instance == instance)
    return session.execute(statement).rowcount  # type: ignore[attr-defined]
