"""Held jobs do not wait forever: after `retention` seconds (setting, default 24 h) a job
still held on the server is canceled and its document deleted. Endpoints expire the jobs they
hold themselves and report the state."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from server import admin, jobs
from server.logs import event
from server.models import Job, now
from server.store import Store

DEFAULT_RETENTION = 86400


def expire_held(store: Store, spool_dir: Path) -> list[str]:
    with store.session() as session:
        retention = float(admin.get_settings(session).get("retention", DEFAULT_RETENTION))
        expired = session.scalars(
            select(Job.id).where(
                Job.location == "server",
                Job.state == "pending-held",
                Job.created_at < now() - retention,
            )
        ).all()
        # The operator's retention policy cancels them; RFC 8011 has no "expired" reason.
        done = [
            job_id
            for job_id in expired
            if jobs.transition(
                session, job_id, "pending-held", "canceled", reasons="job-canceled-by-operator"
            )
        ]
    for job_id in done:  # after the commit: a failed commit must not lose documents
        (spool_dir / job_id).unlink(missing_ok=True)
        event("job.expired", job=job_id)
    return done


async def run(store: Store, spool_dir: Path, interval: float) -> None:
    while True:
        await asyncio.to_thread(expire_held, store, spool_dir)
        await asyncio.sleep(interval)
