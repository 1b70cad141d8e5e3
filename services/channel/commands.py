"""What the server asks of this machine over the channel, applied to the store.

Commands arrive at least once, so each is idempotent by job id: a job already released or
canceled is left as it is and the command is still acknowledged. The server names jobs by their
uuid, and so does everything here: the ids returned (for the bus), the log lines and the audit
trail's subject.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select

from protocol.channel import Cancel, Release
from protocol.states import TERMINAL, TRANSITIONS, JobState
from services.core import audit, jobs, profile, users
from services.core.logs import get_log
from services.core.spool import Spool
from services.core.store import Job, Store

log = get_log("channel")
# Where the server's commands come from, in the audit trail.
ORIGIN = "channel (server)"


def release(store: Store, command: Release) -> list[str]:
    """Held jobs named by the server become ``pending`` with the printer the user stands at;
    the uuids of those released. The target keeps the server's printer id: a job uploaded
    after all names the printer by it, never by address (protocol/gateway.py)."""
    printer = command.printer
    target = json.dumps(
        {
            "id": printer.id,
            "name": printer.name,
            "host": printer.host,
            "port": printer.port,
            "protocol": printer.protocol,
            "path": printer.path,
            **printer_record(printer),
        }
    )
    released = []
    with store.session() as session:
        for job in session.scalars(select(Job).where(Job.uuid.in_(command.job_ids))):
            if job.state != JobState.PENDING_HELD or job.state_reasons == jobs.INCOMING:
                continue
            if jobs.transition(
                session,
                job.id,
                JobState.PENDING_HELD,
                JobState.PENDING,
                reasons="none",
                message=f"released at {printer.name}",
                # The server releases only the jobs of the user who authenticated there.
                detail=f"at printer {printer.name} ({printer.host}:{printer.port}) by {job.owner}",
                target=target,
            ):
                released.append(job.uuid)
                detail = f"at printer {printer.name} for {job.owner}"
                audit.record(session, audit.SERVER, "job.release", ORIGIN, job.uuid, detail)
                log.info("job.released", job=job.uuid, printer=printer.name, owner=job.owner)
        session.commit()
    return released


# What the server's record of a raw printer says it can do (protocol.channel.PrinterInfo),
# with the defaults of a server that does not send them yet.
RECORD: dict[str, Any] = {
    "color": False,
    "duplex": False,
    "media": [],
    "media_default": "",
    "resolution": 600,
    "pjl": False,
}


def printer_record(printer: object) -> dict[str, Any]:
    """What delivery needs to apply a job's options at a raw printer (``pjl``: it reads a PJL
    job header); an IPP printer is asked itself at delivery."""
    return {name: getattr(printer, name, default) for name, default in RECORD.items()}


def cancel(
    store: Store,
    spool: Spool,
    command: Cancel,
    reason: str,
    message: str = "canceled on the server",
    actor: str = audit.SERVER,
    origin: str = ORIGIN,
) -> list[str]:
    """Cancel jobs and delete their documents (the uuids of those canceled); finished jobs stay
    as they are. ``message``
    is what the owner reads (My jobs, the notification); ``actor`` and ``origin`` are what the
    audit trail says (the server, or this service's own retention sweep)."""
    canceled = []
    with store.session() as session:
        for job in session.scalars(select(Job).where(Job.uuid.in_(command.job_ids))):
            state = JobState(job.state)
            if state in TERMINAL or JobState.CANCELED not in TRANSITIONS[state]:
                continue
            if jobs.too_late_to_cancel(job):
                log.info("job.cancel-refused", job=job.uuid, reason="the printer has it")
                continue
            if jobs.transition(
                session,
                job.id,
                state,
                JobState.CANCELED,
                reasons=reason,
                message=message,
            ):
                canceled.append(job.uuid)
                detail = f"{message} ({job.owner}, was {state.keyword})"
                audit.record(session, actor, "job.cancel", origin, job.uuid, detail)
        session.commit()
    # Documents go only after the commit: a crash in between leaves an orphan file that the
    # spooler removes on start, never a live job without its document.
    for job_uuid in canceled:
        spool.delete(job_uuid)
        log.info("job.canceled", job=job_uuid, reason=reason)
    return canceled


def log_out_user(store: Store, login_type: str, server_user: str) -> list[str]:
    """The server disabled ``server_user``: every OS user printing as them (custom login) is
    logged out, as ``pullprint logout`` would; with nobody left the machine is signed out.
    With os login the OS user is the server user and there is no login to end here: the server
    refuses their jobs and releases itself."""
    if login_type != "custom":
        return []
    os_users = sorted(o for o, s in users.load_map(store).items() if s == server_user)
    for os_user in os_users:
        why = f"server user {server_user} was disabled"
        row = audit.Entry(audit.SERVER, "user.logout", ORIGIN, os_user, why)
        users.log_out(store, login_type, os_user, row)
        log.info("user.logged_out", os_user=os_user, server_user=server_user, why="disabled")
    return os_users


def expire_held(store: Store, spool: Spool, cutoff: float) -> list[str]:
    """Held jobs older than ``retention`` are canceled and their documents deleted. The
    server's configuration profile, when it sets a retention, wins over the caller's cutoff
    (which comes from the configuration file or the site setting): it is read from the store
    on every sweep, so a profile change applies at the next one."""
    profiled = profile.values(profile.load(store)).get("retention")
    if profiled is not None:
        cutoff = time.time() - profiled
    with store.session() as session:
        stale = session.scalars(
            select(Job.uuid).where(
                Job.state == int(JobState.PENDING_HELD),
                Job.state_reasons != jobs.INCOMING,
                Job.created_at < cutoff,
            )
        ).all()
    if not stale:
        return []
    message = "not released within the retention period; deleted"
    command = Cancel(job_ids=list(stale))
    reason = "job-canceled-by-operator"
    return cancel(store, spool, command, reason, message, audit.SYSTEM, "channel (retention)")
