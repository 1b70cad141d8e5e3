"""The delivery process: sends ``pending`` jobs of direct ports to their printers.

The store says what to do; bus events only wake the loop early. This module is the loop: which
lanes have a job due, one worker per lane; one attempt at a job is ``attempt.py``'s, the
document's checks and streaming ``document.py``'s.

Jobs go out in lanes, one lane per printer they are sent to (a direct port's printer, or the
printer a pull job was released at): one job at a time, strictly in the order they were
submitted. A job waiting to be tried again holds back the jobs behind it, so the pages of
ten jobs a user released at a printer come out in the order they were printed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import not_, select

from protocol.states import JobState
from services.core import jobs
from services.core.config import Settings
from services.core.messages import (
    JobStateChanged,
    JobStored,
    Message,
    PrintersChanged,
    WakeRequest,
)
from services.core.runner import Service, wait_for_wake
from services.core.spool import Spool
from services.core.store import Job, Store
from services.delivery import lanes
from services.delivery.attempt import Attempt
from services.delivery.outcomes import OutcomePoll


class DeliveryService(Service):
    name = "delivery"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.store = Store(settings.db_path)
        self.spool = Spool(settings.spool_dir, key_dir=settings.state_dir)
        self._wake = asyncio.Event()
        self._workers: dict[str, asyncio.Task[None]] = {}
        self.delivered = 0
        self.attempt = Attempt(settings, self.store, self.spool, self.publisher, self.log)
        # Gateway mode may have no channel to hear how uploaded jobs ended: ask (outcomes.py).
        self.outcomes: OutcomePoll | None = None
        if settings.mode == "gateway" and settings.server:
            self.outcomes = OutcomePoll(settings, self.store, self.publisher, self.log)
            self.attempt.uploaded = self.outcomes.uploaded
        requeued = self._requeue_interrupted()
        if requeued:
            self.log.info("jobs.requeued", count=requeued)

    def handlers(self) -> dict[type[Message], Any]:
        return super().handlers() | {WakeRequest: self._wake_now}

    async def _wake_now(self, _message: Message) -> dict[str, Any]:
        """Someone changed the store outside the bus (``pullprint release``): look now."""
        self._wake.set()
        return {}

    async def on_wake(self, slept: float) -> None:
        """After a sleep the printer or the server may well be back: every job waiting for its
        next attempt is tried now, its backoff starting again from one second."""

        def retry() -> list[str]:
            detail = f"the machine woke after {slept:.0f} s asleep: retrying now"
            with self.store.session() as session:
                waiting = jobs.stopped_at(session)
                due = [j for j in waiting if jobs.retry_now(session, j, "woke", detail)]
                session.commit()
                return jobs.uuids(session, due)

        retried = await asyncio.to_thread(retry)
        self.log.info("delivery.woke", retried=",".join(retried))
        self._wake.set()

    def tasks(self) -> list[Any]:
        return [
            self.wake_on(
                ["spooler", "sync", "channel", "api"],
                [JobStored, PrintersChanged, JobStateChanged],
                self._wake,
            ),
            self._schedule(),
            *([self.outcomes.run()] if self.outcomes is not None else []),
        ]

    async def status(self) -> dict[str, Any]:
        return {
            "state": "running",
            "busy_printers": sorted(self._workers),
            "delivered": self.delivered,
            # What an administrator must act on (services/api/status.py lists it).
            "problems": sorted(self.attempt.refused.values()),
        }

    def _requeue_interrupted(self) -> int:
        """A job still ``processing`` when we start was cut off by our own death: send it again.

        Only this process moves jobs into ``processing``, so at start none is really in flight;
        except those the server has (uploaded): the server prints them, and sending them again
        could print them twice. They wait for its outcome.
        """
        count = 0
        cut_off = select(Job).where(
            Job.state == int(JobState.PROCESSING), not_(jobs.waiting_at_server())
        )
        with self.store.session() as session:
            for job in session.scalars(cut_off):
                count += jobs.transition(
                    session,
                    job.id,
                    JobState.PROCESSING,
                    JobState.PENDING,
                    reasons="job-queued",
                    message=f"attempt {job.attempts} was interrupted; sending again from the start",
                )
            session.commit()
        return count

    async def _schedule(self) -> None:
        """Start one worker per lane whose first job is due; sleep until the next is due."""
        while True:
            self._wake.clear()
            due, next_at = await asyncio.to_thread(lanes.due, self.store)
            for lane in due:
                if lane not in self._workers:
                    self._workers[lane] = asyncio.create_task(self._work(lane))
            wait = self.settings.rescan_interval
            if next_at is not None:
                wait = max(0.05, min(wait, next_at - time.time()))
            await wait_for_wake(self._wake, wait)

    async def _work(self, lane: str) -> None:
        try:
            while job := await asyncio.to_thread(lanes.next_job, self.store, lane):
                if await self.attempt.run(*job):
                    self.delivered += 1
        except Exception:
            self.log.exception("worker.failed", printer=lane)
        finally:
            del self._workers[lane]
            self._wake.set()
