"""Reports for the server, written in the same transaction as the change they report.

The channel drains this table (DESIGN.md 6): at least once on the wire, once on the server,
because each row's key is the channel message id and the server treats a repeated id, and a
repeated job.stored or job.state, as the same message. Nothing here talks to the network.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from protocol.states import TERMINAL, JobState
from services.core.store import Job, Outbox, Printer

# Routes that hand the document to the server: its state is the server's from then on.
UPLOADED_ROUTES = frozenset({"gateway", "via-server"})


def add(session: Session, key: str, type_: str, body: dict[str, Any]) -> None:
    """Queue one message; a row with the same key already queued is kept as it is."""
    session.execute(
        insert(Outbox)
        .values(key=key, type=type_, body=json.dumps(body), created_at=time.time())
        .on_conflict_do_nothing(index_elements=["key"])
    )


def job_stored(session: Session, job: Job) -> None:
    """A held job the server must know of, so the user can release it at a printer."""
    add(
        session,
        f"job.stored:{job.uuid}",
        "job.stored",
        {
            "job_id": job.uuid,
            "owner": job.owner,
            "port_id": _port_id(session, job.printer),
            "name": job.name,
            "format": job.format,
            "size": job.size,
            "state": "pending-held",
        },
    )
    job.reported = True


def job_changed(session: Session, job_id: int, new: JobState) -> None:
    """After a transition: job.state if the server knows the job, a report when it ends."""
    job = session.execute(
        select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    ).scalar_one()
    if job.route in UPLOADED_ROUTES:
        return  # the server has the job itself now and tells its own story from here
    if job.reported:
        add(
            session,
            f"job.state:{job.uuid}:{new.keyword}:{job.attempts}",
            "job.state",
            {
                "job_id": job.uuid,
                "state": new.keyword,
                "reasons": job.state_reasons.split(","),
                "printer": _target_name(job),
            },
        )
    if new in TERMINAL:
        add(
            session,
            f"report:{job.uuid}",
            "report",
            {
                "job_id": job.uuid,
                "owner": job.owner,
                "state": new.keyword,
                "port_id": _port_id(session, job.printer),
                "printer": _target_name(job),
                "size": job.size,
                "name": job.name,
                "created_at": job.created_at,
                "completed_at": job.completed_at,
            },
        )


def unsent(session: Session, limit: int = 100) -> list[Outbox]:
    query = select(Outbox).where(Outbox.sent_at.is_(None)).order_by(Outbox.id).limit(limit)
    return list(session.scalars(query))


def mark_sent(session: Session, keys: list[str]) -> None:
    session.execute(update(Outbox).where(Outbox.key.in_(keys)).values(sent_at=time.time()))


def _port_id(session: Session, printer: str) -> int | None:
    return session.scalar(select(Printer.server_id).where(Printer.name == printer))


def _target_name(job: Job) -> str | None:
    return json.loads(job.target)["name"] if job.target else None
