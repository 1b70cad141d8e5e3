"""Release and cancel: what happens when a user authenticates at a printer (or gives up).

A release moves every held job of the user to `pending` with the chosen printer: jobs stored on
the server go to Document Output, jobs held on an endpoint become a `release` command for that
endpoint. Each move is a compare-and-set, so releasing twice releases nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol.channel import Cancel, Release
from server import commands, jobs
from server.models import InputPort, Job, Printer, User


class ReleaseError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Released:
    printer: str
    job_ids: list[str] = field(default_factory=list)
    server_job_ids: list[str] = field(default_factory=list)  # for Document Output
    endpoint_ids: set[int] = field(default_factory=set)  # channels to nudge


def may_release_at(port: InputPort | None, printer: Printer) -> bool:
    """A pull port without a printer list may be released anywhere."""
    if port is None or not port.printers:
        return True
    return any(p.id == printer.id for p in port.printers)


def release(session: Session, user: str, printer_name: str) -> Released:
    if User.is_disabled(session, user):
        raise ReleaseError("user-disabled", f"user {user!r} is disabled")
    printer = session.scalar(select(Printer).where(Printer.name == printer_name))
    if printer is None:
        raise ReleaseError("not-found", f"no printer {printer_name!r}")
    info = commands.printer_info(printer)
    result = Released(printer=printer.name)
    per_endpoint: dict[int, list[str]] = defaultdict(list)
    # In the order they were printed: the endpoints and Document Output keep this order.
    held = session.scalars(
        select(Job)
        .where(Job.owner == user, Job.state == "pending-held")
        .order_by(Job.created_at, Job.id)
    )
    for job in list(held):
        port = session.get(InputPort, job.port_id) if job.port_id is not None else None
        if not may_release_at(port, printer):
            continue
        moved = jobs.transition(
            session,
            job.id,
            "pending-held",
            "pending",
            printer_name=printer.name,
            target=commands.destination(printer),
            reasons="none",
        )
        if not moved:
            continue
        result.job_ids.append(job.id)
        if job.location == "server":
            result.server_job_ids.append(job.id)
        elif job.endpoint_id is not None:
            per_endpoint[job.endpoint_id].append(job.id)
    for endpoint_id, ids in per_endpoint.items():
        body = Release(job_ids=ids, printer=info).model_dump()
        commands.queue(session, endpoint_id, "release", body)
        result.endpoint_ids.add(endpoint_id)
    return result


def cancel(session: Session, job_id: str) -> Job:
    """Cancel a job that has not started printing. The caller deletes a server-side document
    after the commit (never before: a failed commit must not leave a row without its file)."""
    job = session.get(Job, job_id)
    if job is None:
        raise ReleaseError("not-found", f"no job {job_id!r}")
    if job.state not in ("pending-held", "pending", "processing-stopped"):
        raise ReleaseError("conflict", f"job {job_id} is {job.state}")
    if not jobs.transition(
        session,
        job_id,
        job.state,
        "canceled",
        reasons="job-canceled-by-user",
        message="canceled on the server",
    ):
        raise ReleaseError("conflict", f"job {job_id} changed state; try again")
    if job.location == "endpoint" and job.endpoint_id is not None:
        commands.queue(session, job.endpoint_id, "cancel", Cancel(job_ids=[job_id]).model_dump())
    return job
