"""The delivery process: sends ``pending`` jobs of direct ports to their printers.

The store says what to do; bus events only wake the loop early. Each attempt marks the job
``processing`` with its attempt number before the first byte and ``completed`` right after the
printer took the last one, so a crash in between means "send again from the start" and a
completed job is never sent twice. Jobs of one printer go out one at a time, in order.
Before the first byte is sent, the document is read once and checked against the size and
sha256 recorded at capture; a document that changed on disk is aborted, never printed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from services.core import endpoint, jobs, protocol
from services.core.config import Settings
from services.core.messages import (
    JobStateChanged,
    JobStored,
    Message,
    PrintersChanged,
    WakeRequest,
)
from services.core.runner import Service, wait_for_wake
from services.core.spool import Spool, SpoolIntegrityError
from services.core.states import JobState
from services.core.store import Job, Printer, Store
from services.core.switches import route_switch
from services.delivery import gateway
from services.delivery.gateway import GatewayTransport
from services.delivery.ipp import IppTransport
from services.delivery.raw import RawTransport
from services.delivery.router import Route, choose
from services.delivery.transport import DeliveryError, Transport, reachable

DUE_STATES = (int(JobState.PENDING), int(JobState.PROCESSING_STOPPED))
# With 256 KiB chunks: look for a cancel every 4 MiB sent.
CANCEL_CHECK_CHUNKS = 16
# The integrity pre-pass reads in larger blocks: it only hashes, so fewer calls are cheaper,
# and one block is all it ever holds in memory.
VERIFY_CHUNK = 1024 * 1024


class Canceled(Exception):
    """The job left ``processing`` (canceled) while we were sending it."""


@dataclass(frozen=True)
class Destination:
    """Where a job is sent: its direct port's printer, or where a pull job was released."""

    name: str
    host: str
    port: int
    protocol: str
    path: str


def _digest(chunks: Iterator[bytes]) -> tuple[int, str]:
    """Size and sha256 of a stream of chunks, holding one chunk at a time."""
    sha = hashlib.sha256()
    size = 0
    for chunk in chunks:
        sha.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest()


def _destination(job: Job, printer: Printer) -> Destination:
    if job.target:
        target = json.loads(job.target)
        return Destination(
            target["name"],
            target["host"],
            int(target["port"]),
            target["protocol"],
            target.get("path", ""),
        )
    return Destination(printer.name, printer.host, printer.port, printer.protocol, printer.path)


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
        """Start one worker per printer that has due jobs; sleep until the next due time."""
        while True:
            self._wake.clear()
            due, next_at = await asyncio.to_thread(self._due_printers)
            for printer in due:
                if printer not in self._workers:
                    task = asyncio.create_task(self._work(printer))
                    self._workers[printer] = task
            wait = self.settings.rescan_interval
            if next_at is not None:
                wait = max(0.05, min(wait, next_at - time.time()))
            await wait_for_wake(self._wake, wait)

    def _due_printers(self) -> tuple[set[str], float | None]:
        """Printers with a job due now, and when the next not-yet-due job becomes due."""
        now = time.time()
        with self.store.session() as session:
            rows = session.execute(
                select(Job.printer, Job.next_attempt_at)
                .join(Printer, Printer.name == Job.printer)
                .where(Job.state.in_(DUE_STATES))
            ).all()
        due = {printer for printer, at in rows if at <= now}
        later = [at for _printer, at in rows if at > now]
        return due, min(later) if later else None

    async def _work(self, printer: str) -> None:
        try:
            while job := await asyncio.to_thread(self._next_job, printer):
                await self._deliver(job)
        except Exception:
            self.log.exception("worker.failed", printer=printer)
        finally:
            del self._workers[printer]
            self._wake.set()

    def _next_job(self, printer: str) -> tuple[Job, Printer] | None:
        with self.store.session() as session:
            row = session.execute(
                select(Job, Printer)
                .join(Printer, Printer.name == Job.printer)
                .where(
                    Job.printer == printer,
                    Job.state.in_(DUE_STATES),
                    Job.next_attempt_at <= time.time(),
                )
                .order_by(Job.id)
                .limit(1)
            ).first()
            return (row[0], row[1]) if row else None

    async def _deliver(self, target: tuple[Job, Printer]) -> None:
        job, printer = target
        attempt = job.attempts + 1
        if not await self._move(
            job, JobState(job.state), JobState.PROCESSING, reasons="job-printing", attempts=attempt
        ):
            return  # someone else moved it (canceled meanwhile): nothing to send
        destination = _destination(job, printer)
        route = await self._route(printer.kind, destination)
        self.log.info(
            "delivery.started",
            job=job.id,
            printer=destination.name,
            attempt=attempt,
            route=route.value,
            target=f"{destination.host}:{destination.port}",
        )
        try:
            await self._send(self._transport(route, job, printer, destination), job)
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
        except BaseException:
            transport.abort()
            raise

    async def _still_processing(self, job: Job) -> bool:
        def state() -> int | None:
            with self.store.session() as session:
                return session.scalar(select(Job.state).where(Job.id == job.id))

        return await asyncio.to_thread(state) == JobState.PROCESSING

    async def _route(self, kind: str, destination: Destination) -> Route:
        # The reachability check costs a connect; only the routes that depend on it pay it.
        mode = self.settings.mode
        needs_check = mode != "gateway" and not (mode == "hybrid" and kind == "pull")
        answered = needs_check and await reachable(
            destination.host, destination.port, self.settings.reach_timeout
        )
        switch = await asyncio.to_thread(route_switch, self.store)
        return choose(mode, switch, kind, answered, bool(self.settings.server_url))

    def _transport(
        self, route: Route, job: Job, printer: Printer, destination: Destination
    ) -> Transport:
        if route == Route.WAIT:
            raise DeliveryError(
                "printer-stopped",
                f"{destination.host}:{destination.port} does not answer; will retry",
            )
        if route in (Route.GATEWAY, Route.VIA_SERVER):
            return self._upload(route, job, printer, destination)
        if destination.protocol == "ipp":
            return IppTransport(
                destination.host,
                destination.port,
                destination.path,
                self.settings.reach_timeout,
                owner=job.owner,
                name=job.name,
                document_format=job.format,
                size=job.size,
            )
        return RawTransport(destination.host, destination.port, self.settings.reach_timeout)

    def _upload(
        self, route: Route, job: Job, printer: Printer, destination: Destination
    ) -> GatewayTransport:
        """To the server: the gateway holds it (GATEWAY) or prints it at once (VIA_SERVER, or
        a job already released to a printer)."""
        token = endpoint.load_token(self.settings.state_dir)
        if not token:
            raise DeliveryError("service-off-line", "waiting for the server to authorize us")
        if printer.server_id is None:
            raise DeliveryError(
                "service-off-line", f"{printer.name} is not an input port of the server"
            )
        deliver_to = None
        # Via the server, or released at a printer (the release names it): the server prints
        # it there at once. Otherwise the server holds it until its own release.
        if route == Route.VIA_SERVER or job.target:
            deliver_to = gateway.destination(
                destination.host, destination.port, destination.protocol, destination.path
            )
        header = protocol.UploadHeader(
            v=protocol.PROTOCOL_VERSION,
            token=token,
            job_id=job.uuid,
            owner=job.owner,
            port_id=printer.server_id,
            name=job.name,
            format=job.format,
            size=job.size,
            sha256=job.sha256,
            deliver_to=deliver_to,
        )
        return GatewayTransport(
            self._gateways(), self.tls, header, self.settings.reach_timeout, self.settings.proxy
        )

    def _gateways(self) -> list[str]:
        primary = self.settings.gateway
        if not primary and self.settings.server_url:
            primary = f"{httpx.URL(self.settings.server_url).host}:{gateway.DEFAULT_GATEWAY_PORT}"
        return [a for a in (primary, self.settings.secondary_gateway) if a]

    async def _failed(self, job: Job, attempt: int, exc: DeliveryError) -> None:
        """A final error aborts the job; anything else waits for the next attempt."""
        if exc.final:
            self.log.warning("delivery.aborted", job=job.id, attempt=attempt, reason=exc.message)
            await self._move(
                job, JobState.PROCESSING, JobState.ABORTED, reasons=exc.reason, message=exc.message
            )
            self.spool.delete(job.uuid)
            return
        delay = self._backoff(attempt)
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

    def _backoff(self, attempt: int) -> float:
        """Exponential from 1 s, capped, with jitter so many clients don't retry in step."""
        base = min(self.settings.retry_backoff_max, 2.0 ** (attempt - 1))
        return base * random.uniform(0.8, 1.0)
