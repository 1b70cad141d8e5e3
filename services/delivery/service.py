"""The delivery process: sends ``pending`` jobs of direct ports to their printers.

The store says what to do; bus events only wake the loop early. Each attempt marks the job
``processing`` with its attempt number before the first byte and ``completed`` right after the
printer took the last one, so a crash in between means "send again from the start" and a
completed job is never sent twice.

Jobs go out in lanes, one lane per printer they are sent to (a direct port's printer, or the
printer a pull job was released at): one job at a time, strictly in the order they were
submitted. A job waiting to be tried again holds back the jobs behind it, so the pages of
ten jobs a user released at a printer come out in the order they were printed.
Before the first byte is sent, the document is read once and checked against the size and
sha256 recorded at capture; a document that changed on disk is aborted, never printed.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from protocol.states import JobState
from services.core import endpoint, jobs
from services.core.config import Settings
from services.core.messages import (
    JobStateChanged,
    JobStored,
    Message,
    PrintersChanged,
    WakeRequest,
)
from services.core.runner import Service, wait_for_wake
from services.core.spool import Spool, SpoolIntegrityError, SpoolKeyError
from services.core.store import Job, Printer, Store
from services.core.switches import route_switch
from services.delivery import attempts, lanes
from services.delivery.ipp import IppTransport
from services.delivery.printer_status import PrinterStopped
from services.delivery.router import Route, choose, explain
from services.delivery.transport import DeliveryError, Transport, reachable

# With 256 KiB chunks: look for a cancel every 4 MiB sent.
CANCEL_CHECK_CHUNKS = 16
# The integrity pre-pass reads in larger blocks: it only hashes, so fewer calls are cheaper,
# and one block is all it ever holds in memory.
VERIFY_CHUNK = 1024 * 1024
# While a printer reports itself stopped, ask again this often (or at the backoff cap, if
# lower): asking is one small request, and the user at the printer waits for it.
STOPPED_POLL = 5.0


class Canceled(Exception):
    """The job left ``processing`` (canceled) while we were sending it."""


def _digest(chunks: Iterator[bytes]) -> tuple[int, str]:
    """Size and sha256 of a stream of chunks, holding one chunk at a time."""
    sha = hashlib.sha256()
    size = 0
    for chunk in chunks:
        sha.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest()


class DeliveryService(Service):
    name = "delivery"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.store = Store(settings.db_path)
        self.spool = Spool(settings.spool_dir, key_dir=settings.state_dir)
        self.tls = endpoint.tls_context(settings.ca_file)
        self._wake = asyncio.Event()
        self._workers: dict[str, asyncio.Task[None]] = {}
        self.delivered = 0
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

        def retry() -> list[int]:
            detail = f"the machine woke after {slept:.0f} s asleep: retrying now"
            with self.store.session() as session:
                waiting = jobs.stopped_at(session)
                due = [j for j in waiting if jobs.retry_now(session, j, "woke", detail)]
                session.commit()
            return due

        retried = await asyncio.to_thread(retry)
        self.log.info("delivery.woke", retried=retried)
        self._wake.set()

    def tasks(self) -> list[Any]:
        return [
            self.wake_on(
                ["spooler", "sync", "channel", "api"],
                [JobStored, PrintersChanged, JobStateChanged],
                self._wake,
            ),
            self._schedule(),
        ]

    async def status(self) -> dict[str, Any]:
        return {
            "state": "running",
            "busy_printers": sorted(self._workers),
            "delivered": self.delivered,
        }

    def _requeue_interrupted(self) -> int:
        """A job still ``processing`` when we start was cut off by our own death: send it again.

        Only this process moves jobs into ``processing``, so at start none is really in flight.
        """
        count = 0
        with self.store.session() as session:
            for job in session.scalars(select(Job).where(Job.state == int(JobState.PROCESSING))):
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
                await self._deliver(job)
        except Exception:
            self.log.exception("worker.failed", printer=lane)
        finally:
            del self._workers[lane]
            self._wake.set()

    async def _deliver(self, target: tuple[Job, Printer]) -> None:
        job, printer = target
        attempt = job.attempts + 1
        if not await self._move(
            job,
            JobState(job.state),
            JobState.PROCESSING,
            reasons="job-printing",
            detail=f"attempt {attempt}",
            attempts=attempt,
        ):
            return  # someone else moved it (canceled meanwhile): nothing to send
        destination = attempts.destination(job, printer)
        route, why = await self._route(printer.kind, destination)
        await asyncio.to_thread(attempts.record, self.store, job.id, "route", why)
        self.log.info(
            "delivery.started",
            job=job.id,
            printer=destination.name,
            attempt=attempt,
            route=route.value,
            target=f"{destination.host}:{destination.port}",
        )
        try:
            transport = attempts.transport(
                self.settings, self.tls, route, job, printer, destination
            )
            await self._send(transport, job)
        except PrinterStopped as exc:
            await self._printer_stopped(job, attempt, destination, exc)
            return
        except DeliveryError as exc:
            await self._failed(job, attempt, exc)
            return
        except Canceled:
            self.log.info("delivery.stopped", job=job.id, reason="canceled while sending")
            return
        await self._move(
            job,
            JobState.PROCESSING,
            JobState.COMPLETED,
            reasons="job-completed-successfully",
            detail=self._delivered(transport, route, destination, attempt, bool(job.target)),
            route=route.value,
        )
        self.spool.delete(job.uuid)
        self.delivered += 1
        self.log.info(
            "delivery.completed",
            job=job.id,
            printer=printer.name,
            attempt=attempt,
            route=route.value,
        )

    @staticmethod
    def _delivered(
        transport: Transport,
        route: Route,
        where: attempts.Destination,
        attempt: int,
        released: bool,
    ) -> str:
        """The trace's last line, with what an IPP printer said of itself once it had the job
        (a jam right after shows there, though the job is the printer's now)."""
        detail = attempts.delivered(route, where, attempt, released)
        if isinstance(transport, IppTransport) and transport.after is not None:
            detail += f"; the printer is now {transport.after.describe()}"
        return detail

    def _verify_document(self, job: Job) -> None:
        """Check the spooled document against the size and sha256 recorded at capture.

        One streamed pass before the transport opens: a document that rotted on disk (or was
        changed behind our back) must never reach a printer or the server.
        """
        try:
            size, digest = _digest(self.spool.read_chunks(job.uuid, VERIFY_CHUNK))
        except FileNotFoundError:
            raise DeliveryError(
                "document-access-error", "the spooled document is missing", final=True
            ) from None
        except SpoolIntegrityError as exc:
            raise DeliveryError(
                "aborted-by-system",
                f"{exc}; the spooled document is corrupt (captured as {job.size} bytes with "
                f"sha256 {job.sha256}); not printed",
                final=True,
            ) from None
        if (size, digest) != (job.size, job.sha256):
            raise DeliveryError(
                "aborted-by-system",
                f"spooled document is corrupt: {size} bytes with sha256 {digest}, "
                f"captured as {job.size} bytes with sha256 {job.sha256}; not printed",
                final=True,
            )

    async def _send(self, transport: Transport, job: Job) -> None:
        """Stream the document from the spool; read no faster than the printer takes it.

        Every few megabytes we look whether the job was canceled meanwhile (by its owner or
        the server): then the transfer stops instead of printing a canceled job to the end.
        """
        try:
            # Only now, with somewhere to send it: a job waiting for an unreachable printer is
            # not read again on every retry.
            await asyncio.to_thread(self._verify_document, job)
            await transport.open()
            for number, chunk in enumerate(self.spool.read_chunks(job.uuid), 1):
                if number % CANCEL_CHECK_CHUNKS == 0 and not await self._still_processing(job):
                    raise Canceled
                await transport.send(chunk)
            await transport.finish()
        except FileNotFoundError:
            transport.abort()
            raise DeliveryError(
                "document-access-error", "the spooled document is missing", final=True
            ) from None
        except SpoolIntegrityError as exc:
            # Changed on disk after the check: stop at the bad record, never send the rest.
            transport.abort()
            raise DeliveryError(
                "aborted-by-system", f"{exc}; sending stopped there; not printed whole", final=True
            ) from None
        except SpoolKeyError as exc:
            # The machine key is damaged: the job waits (nothing is lost) until an admin puts
            # the key back; the reason says which file.
            transport.abort()
            raise DeliveryError("document-access-error", str(exc)) from None
        except BaseException:
            transport.abort()
            raise

    async def _still_processing(self, job: Job) -> bool:
        def state() -> int | None:
            with self.store.session() as session:
                return session.scalar(select(Job.state).where(Job.id == job.id))

        return await asyncio.to_thread(state) == JobState.PROCESSING

    async def _route(self, kind: str, where: attempts.Destination) -> tuple[Route, str]:
        """The route, and why (for the trace)."""
        # The reachability check costs a connect; only the routes that depend on it pay it.
        mode, timeout = self.settings.mode, self.settings.reach_timeout
        needs_check = mode != "gateway" and not (mode == "hybrid" and kind == "pull")
        answered = needs_check and await reachable(where.host, where.port, timeout)
        switch = await asyncio.to_thread(route_switch, self.store)
        route = choose(mode, switch, kind, answered, bool(self.settings.server_url))
        return route, explain(route, mode, switch, where.name, where.address, timeout)

    async def _printer_stopped(
        self, job: Job, attempt: int, where: attempts.Destination, exc: PrinterStopped
    ) -> None:
        """The printer says it is stopped: nothing was sent. Ask again soon, for at most
        ``stopped_timeout`` from when it was first found stopped; then abort with its reason."""

        def first_seen() -> float | None:
            with self.store.session() as session:
                return jobs.stopped_since(session, job.id)

        status = exc.status.describe()
        limit = self.settings.stopped_timeout
        waited = time.time() - (await asyncio.to_thread(first_seen) or time.time())
        if waited >= limit:
            message = (
                f"{where.name} has been {status} for {waited:.0f} s, longer than "
                f"stopped_timeout ({limit:.0f} s); not printed"
            )
            await self._failed(job, attempt, DeliveryError("printer-stopped", message, final=True))
            return
        delay = min(self.settings.retry_backoff_max, STOPPED_POLL)
        self.log.warning(
            "delivery.printer_stopped",
            job=job.id,
            printer=where.name,
            status=status,
            waited=round(waited, 1),
        )
        await self._move(
            job,
            JobState.PROCESSING,
            JobState.PROCESSING_STOPPED,
            reasons="printer-stopped",
            message=f"{where.name} is {status}; waiting for it",
            event="printer-stopped",
            detail=(
                f"attempt {attempt}: {where.name} is {status}; nothing sent; asking again in "
                f"{delay:.0f} s (gives up {limit - waited:.0f} s from now)"
            ),
            next_attempt_at=time.time() + delay,
        )

    async def _failed(self, job: Job, attempt: int, exc: DeliveryError) -> None:
        """A final error aborts the job; anything else waits for the next attempt."""
        if exc.final:
            self.log.warning("delivery.aborted", job=job.id, attempt=attempt, reason=exc.message)
            await self._move(
                job,
                JobState.PROCESSING,
                JobState.ABORTED,
                reasons=exc.reason,
                message=exc.message,
                detail=f"attempt {attempt}: {exc.message}",
            )
            self.spool.delete(job.uuid)
            return
        maximum = self.settings.retry_backoff_max
        delay = await asyncio.to_thread(attempts.backoff, self.store, job.id, maximum)
        self.log.warning(
            "delivery.failed",
            job=job.id,
            attempt=attempt,
            reason=exc.message,
            retry_in=round(delay, 1),
        )
        await self._move(
            job,
            JobState.PROCESSING,
            JobState.PROCESSING_STOPPED,
            reasons=exc.reason,
            message=exc.message,
            detail=f"attempt {attempt}: {exc.message}; next try in {delay:.0f} s",
            next_attempt_at=time.time() + delay,
        )

    async def _move(self, job: Job, old: JobState, new: JobState, **columns: Any) -> bool:
        def write() -> bool:
            with self.store.session() as session:
                moved = jobs.transition(session, job.id, old, new, **columns)
                session.commit()
                return moved

        moved = await asyncio.to_thread(write)
        if moved:
            await self.publisher.publish(
                JobStateChanged(job.id, int(new), str(columns.get("reasons", "none")))
            )
        return moved
