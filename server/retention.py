"""Held jobs do not wait forever, and finished documents do not stay.

After `retention` seconds (setting, default 24 h) a job still held on the server is canceled
and its document deleted; endpoints expire the jobs they hold themselves and report the state.
The document sweep (server/documents.py) deletes documents whose job finished while another
server process (sharing the database) handled it, whose row never got committed, or whose
upload was killed. Registrations no admin authorized
within `pending_ttl` are deleted, and rate-limit attempts older than every window."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, select

from server import admin, jobs, throttle
from server.documents import Documents
from server.logs import event
from server.models import Endpoint, Job, now
from server.store import Store
from server.throttle import ThrottlePolicy

DEFAULT_RETENTION = 86400
EXPIRED = "not released within the retention period; deleted by the server"


def expire_held(store: Store, documents: Documents) -> list[str]:
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
                session,
                job_id,
                "pending-held",
                "canceled",
                reasons="job-canceled-by-operator",
                message=EXPIRED,
            )
        ]
    for job_id in done:  # after the commit: a failed commit must not lose documents
        documents.delete(job_id)
        event("job.expired", job=job_id)
    return done


def expire_pending(store: Store, ttl: float) -> list[int]:
    """Delete registrations still pending after `ttl` seconds. A pending endpoint has no
    tokens, jobs or users yet, so its row is all there is; its client, if it still polls, is
    answered 404 and registers again."""
    stale = (Endpoint.state == "pending", Endpoint.created_at < now() - ttl)
    with store.session() as session:
        ids = list(session.scalars(select(Endpoint.id).where(*stale)).all())
        # The state is checked again in the delete: one an admin authorized meanwhile stays.
        session.execute(delete(Endpoint).where(Endpoint.id.in_(ids), *stale))
    for endpoint_id in ids:
        event("endpoint.registration_expired", endpoint=endpoint_id)
    return ids


async def run(
    store: Store,
    documents: Documents,
    interval: float,
    pending_ttl: float,
    limits: ThrottlePolicy,
) -> None:
    while True:
        await asyncio.to_thread(expire_held, store, documents)
        await asyncio.to_thread(documents.sweep)
        await asyncio.to_thread(expire_pending, store, pending_ttl)
        await asyncio.to_thread(throttle.sweep, store, limits)
        await asyncio.sleep(interval)
