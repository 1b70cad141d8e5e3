"""What endpoints tell the server about their jobs, and the job history read back from it.

Endpoints hold pull jobs themselves; the server only keeps a row per job so it knows which
endpoint holds which held job of which user (for release), and for accounting. Every handler
here is idempotent: the channel delivers at least once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.channel import JobStateChange, Report, StoredJob
from protocol.states import TERMINAL_KEYWORDS
from server import jobs
from server.models import InputPort, Job, User, now


def _port_id(session: Session, port_id: int | None) -> int | None:
    """Keep a reported port id only when it exists, so a stale client cannot break the FK."""
    if port_id is None or session.get(InputPort, port_id) is None:
        return None
    return port_id


def record_stored(session: Session, endpoint_id: int, msg: StoredJob) -> str:
    """A job captured on an endpoint; returns 'ok', 'duplicate', 'conflict' or
    'user-disabled'."""
    existing = session.get(Job, msg.job_id)
    if existing is None:
        if User.is_disabled(session, msg.owner):
            return "user-disabled"
        values = {
            "id": msg.job_id,
            "owner": msg.owner,
            "location": "endpoint",
            "endpoint_id": endpoint_id,
            "port_id": _port_id(session, msg.port_id),
            "name": msg.name,
            "format": msg.format,
            "size": msg.size,
            "state": msg.state,
            "reasons": "job-hold-until-specified" if msg.state == "pending-held" else "none",
        }
        if jobs.insert(session, values) is not None:
            return "ok"
        existing = jobs.locked(session, msg.job_id)  # its upload got in first, just now
        if existing is None:
            return "conflict"
    return "duplicate" if existing.endpoint_id == endpoint_id else "conflict"


def record_state(session: Session, endpoint_id: int, msg: JobStateChange) -> str:
    job = session.get(Job, msg.job_id)
    if job is None or job.endpoint_id != endpoint_id:
        return "unknown-job"
    values: dict[str, Any] = {"reasons": ",".join(msg.reasons) or "none"}
    if msg.printer:
        values["printer_name"] = msg.printer
    # Only while the job is the endpoint's. Once uploaded (a released job sent up the gateway)
    # Document Output owns its state, and a late report must not move it: a "processing"
    # would hide it from Document Output for good. The UPDATE itself checks, as the upload
    # may land between the read above and this write.
    jobs.follow(session, msg.job_id, msg.state, location="endpoint", **values)
    return "ok"


def record_report(session: Session, endpoint_id: int, report: Report) -> str:
    """Accounting for a finished job; creates the row when the job was never announced."""
    job = session.get(Job, report.job_id)
    if job is None:
        values = {
            "id": report.job_id,
            "owner": report.owner,
            "location": "endpoint",
            "endpoint_id": endpoint_id,
            "port_id": _port_id(session, report.port_id),
            "name": report.name,
            "size": report.size,
            "state": report.state,
            "printer_name": report.printer,
            "created_at": report.created_at or now(),
            "completed_at": report.completed_at if report.state in TERMINAL_KEYWORDS else None,
        }
        if jobs.insert(session, values) is not None:
            return "ok"
        job = jobs.locked(session, report.job_id)  # announced or uploaded just now
        if job is None:
            return "conflict"
    if job.endpoint_id != endpoint_id:
        return "conflict"
    if report.printer:
        job.printer_name = report.printer
    if report.size:
        job.size = report.size
    session.flush()
    # As in record_state: a job uploaded and now printed by Document Output keeps its state.
    jobs.follow(
        session,
        report.job_id,
        report.state,
        location="endpoint",
        completed_at=report.completed_at or now(),
    )
    return "ok"


def job_info(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "owner": job.owner,
        "location": job.location,
        "endpoint_id": job.endpoint_id,
        "port_id": job.port_id,
        "name": job.name,
        "format": job.format,
        "size": job.size,
        "state": job.state,
        "reasons": job.reasons,
        "printer": job.printer_name,
        "attempts": job.attempts,
        "created_at": job.created_at,
        "completed_at": job.completed_at,
    }


def jobs_of(session: Session, owner: str | None = None, limit: int = 200) -> list[Job]:
    query = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if owner is not None:
        query = query.where(Job.owner == owner)
    return list(session.scalars(query))
