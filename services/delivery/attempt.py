"""One delivery attempt of one job: mark it processing, choose the route, send, and record
what happened, as a state change and a trace line.

Each attempt marks the job ``processing`` with its attempt number before the first byte and
``completed`` right after the printer took the last one, so a crash in between means "send
again from the start" and a completed job is never sent twice. A job uploaded to the server
stays ``processing``, marked as waiting there, until the server says how it ended. A failure
either aborts the job (final) or stops it until its next attempt, with backoff; a printer that
says it is stopped is asked again soon, for at most ``stopped_timeout``.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from typing import Any

from sqlalchemy import select

from protocol.states import JobState
from services.core import endpoint, jobs
from services.core.bus import Publisher
from services.core.config import Settings
from services.core.logs import EventLog
from services.core.messages import JobStateChanged
from services.core.spool import Spool
from services.core.store import Job, Printer, Store
from services.core.switches import route_switch
from services.delivery import destination, document
from services.delivery.destination import Destination
from services.delivery.ipp import IppTransport
from services.delivery.ipps import NeedsAdmin
from services.delivery.printer_status import PrinterStopped
from services.delivery.router import Route, choose, explain
from services.delivery.transport import DeliveryError, Transport, unreachable

# While a printer reports itself stopped, ask again this often (or at the backoff cap, if
# lower): asking is one small request, and the user at the printer waits for it.
STOPPED_POLL = 5.0
UPLOADS = (Route.GATEWAY, Route.VIA_SERVER)


class Attempt:
    """What every attempt needs; ``run`` makes one attempt at one job."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        spool: Spool,
        publisher: Publisher,
        log: EventLog,
    ) -> None:
        self.settings = settings
        self.store = store
        self.spool = spool
        self.publisher = publisher
        self.log = log
        self.tls: ssl.SSLContext = endpoint.tls_context(settings.ca_file)
        self.uploaded: asyncio.Event | None = None  # set on each upload (outcomes.py asks)
        # Printers (by name) whose certificate changed, and what was said: delivery's status
        # lists them as problems until a job goes out to that printer again.
        self.refused: dict[str, str] = {}

    async def run(self, job: Job, printer: Printer) -> bool:
        """True when the printer (or the server) took the whole job."""
        attempt = job.attempts + 1
        if not await self._move(
            job,
            JobState(job.state),
            JobState.PROCESSING,
            reasons="job-printing",
            detail=f"attempt {attempt}",
            attempts=attempt,
        ):
            return False  # someone else moved it (canceled meanwhile): nothing to send
        where = destination.destination(job, printer)
        route, failure = await self._route_traced(job, printer.kind, where)
        self.log.info(
            "delivery.started",
            job=job.uuid,
            printer=where.name,
            attempt=attempt,
            route=route.value,
            target=f"{where.host}:{where.port}",
        )
        try:
            transport = destination.transport(
                self.settings, self.tls, route, job, printer, where, failure, pins=self.store
            )
            await document.send(
                transport,
                self.spool,
                job,
                lambda: self._still_processing(job),
                lambda: self._last_part(job),
            )
        except PrinterStopped as exc:
            await self._printer_stopped(job, attempt, where, exc)
            return False
        except DeliveryError as exc:
            if isinstance(exc, NeedsAdmin):
                self._refused(job, where, exc)
            await self._failed(job, attempt, exc)
            return False
        except document.Canceled:
            self.log.info("delivery.stopped", job=job.uuid, reason="canceled while sending")
            return False
        self.refused.pop(where.name, None)
        at_once = destination.printed_at_once(printer, where)
        if route == Route.DIRECT:
            await self._printed(job, transport, where, attempt)
        else:
            await self._hand_over(job, route, where, attempt, at_once)
        # Either way the document is not ours to send again: the printer or the server has it.
        self.spool.delete(job.uuid)
        self.log.info(
            "delivery.completed" if route == Route.DIRECT else "delivery.uploaded",
            job=job.uuid,
            printer=printer.name,
            attempt=attempt,
            route=route.value,
        )
        return True

    async def _route_traced(
        self, job: Job, kind: str, where: Destination
    ) -> tuple[Route, str | None]:
        """The route (and what the reachability check met), written into the trace with why,
        and for an upload the options it leaves behind."""
        route, why, failure = await self._route(kind, where)
        await asyncio.to_thread(record, self.store, job.id, "route", why)
        left = destination.options_left_behind(job, self.settings) if route in UPLOADS else ""
        if left:
            await asyncio.to_thread(record, self.store, job.id, "options", left)
        return route, failure

    async def _printed(
        self, job: Job, transport: Transport, where: Destination, attempt: int
    ) -> None:
        """The printer took the whole job: completed, with a warning when an option did not
        reach it as asked (what the owner is told in My jobs and the notification)."""
        lost = not_honoured(transport, where)
        await self._move(
            job,
            JobState.PROCESSING,
            JobState.COMPLETED,
            reasons="job-completed-with-warnings" if lost else "job-completed-successfully",
            message=lost,
            detail=_delivered(transport, Route.DIRECT, where, attempt, False),
            route=Route.DIRECT.value,
        )

    async def _hand_over(
        self, job: Job, route: Route, where: Destination, attempt: int, at_once: bool
    ) -> None:
        """The server's gateway stored the job: it stays ``processing`` until the server says
        how it ended (a ``job.outcome``), saying meanwhile where it is. Completed now would
        be a guess: the server's printer may be off (docs/DESIGN.md 6)."""
        reasons, message = waiting_at_server(where, at_once)
        detail = delivered(route, where, attempt, at_once)

        def write() -> bool:
            with self.store.session() as session:
                moved = jobs.handed_to_server(
                    session, job.id, route.value, reasons, message, detail
                )
                session.commit()
                return moved

        if await asyncio.to_thread(write):
            if self.uploaded is not None:
                self.uploaded.set()
            await self.publisher.publish(
                JobStateChanged(job.uuid, int(JobState.PROCESSING), reasons)
            )

    async def _still_processing(self, job: Job) -> bool:
        def state() -> int | None:
            with self.store.session() as session:
                return session.scalar(select(Job.state).where(Job.id == job.id))

        return await asyncio.to_thread(state) == JobState.PROCESSING

    async def _last_part(self, job: Job) -> bool:
        def mark() -> bool:
            with self.store.session() as session:
                marked = jobs.all_sent(session, job.id)
                session.commit()
                return marked

        return await asyncio.to_thread(mark)

    async def _route(self, kind: str, where: Destination) -> tuple[Route, str, str | None]:
        """The route, why (for the trace), and what the reachability check met, if anything."""
        # The reachability check costs a connect; only the routes that depend on it pay it.
        mode, timeout = self.settings.mode, self.settings.reach_timeout
        needs_check = mode != "gateway" and not (mode == "hybrid" and kind == "pull")
        failure = await unreachable(where.host, where.port, timeout) if needs_check else None
        answered = needs_check and failure is None
        switch = await asyncio.to_thread(route_switch, self.store)
        route = choose(mode, switch, kind, answered, bool(self.settings.server))
        return route, explain(route, mode, switch, where.name, where.address, failure), failure

    async def _printer_stopped(
        self, job: Job, attempt: int, where: Destination, exc: PrinterStopped
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
            job=job.uuid,
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

    def _refused(self, job: Job, where: Destination, exc: NeedsAdmin) -> None:
        """A changed certificate is not a printer being away: an administrator must decide."""
        self.refused[where.name] = exc.message
        self.log.warning("delivery.tls_refused", job=job.uuid, printer=where.name, **exc.log)

    async def _failed(self, job: Job, attempt: int, exc: DeliveryError) -> None:
        """A final error aborts the job; anything else waits for the next attempt."""
        if exc.final:
            self.log.warning("delivery.aborted", job=job.uuid, attempt=attempt, reason=exc.message)
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
        delay = await asyncio.to_thread(backoff, self.store, job.id, maximum)
        self.log.warning(
            "delivery.failed",
            job=job.uuid,
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
                JobStateChanged(job.uuid, int(new), str(columns.get("reasons", "none")))
            )
        return moved


def _delivered(
    transport: Transport, route: Route, where: Destination, attempt: int, at_once: bool
) -> str:
    """The trace's last line, with what an IPP printer said of itself once it had the job
    (a jam right after shows there, though the job is the printer's now)."""
    detail = delivered(route, where, attempt, at_once)
    if isinstance(transport, IppTransport) and transport.secured is not None:
        detail += f"; over IPPS ({transport.uri}), {transport.secured.describe()}"
    if isinstance(transport, IppTransport) and transport.plain_because:
        detail += f"; in plain IPP: {transport.plain_because}"
    if isinstance(transport, IppTransport) and transport.after is not None:
        detail += f"; the printer is now {transport.after.describe()}"
    lost = not_honoured(transport, where)
    return f"{detail}; {lost}" if lost else detail


def not_honoured(transport: Transport, where: Destination) -> str:
    """The options the printer did not get as asked, in a sentence; "" when none."""
    lost: list[str] = getattr(transport, "not_honoured", [])
    return f"printed at {where.name} without: {'; '.join(lost)}" if lost else ""


def backoff(store: Store, row_id: int, maximum: float) -> float:
    """Exponential from 1 s, capped, with jitter so many clients don't retry in step. Counted
    from the job's last fresh start (a printer reset, a wake), not from its first attempt."""
    with store.session() as session:
        failures = jobs.failures_in_a_row(session, row_id)
    base = min(maximum, 2.0**failures)
    return base * random.uniform(0.8, 1.0)


def record(store: Store, row_id: int, event: str, detail: str) -> None:
    """One trace line that changes no state (the route and why)."""
    with store.session() as session:
        jobs.record(session, row_id, event, detail)
        session.commit()


def waiting_at_server(where: Destination, at_once: bool) -> tuple[str, str]:
    """The reasons and message of a job the server has: printing it at once (RFC 8011
    ``job-outgoing``: on its way to the output device), or holding it for a release."""
    if at_once:
        return (
            "job-outgoing",
            f"uploaded; the server prints it at {where.name}; waiting for the printer",
        )
    return "job-hold-until-specified", "uploaded; waiting for release at the server"


def delivered(route: Route, where: Destination, attempt: int, at_once: bool) -> str:
    """The trace's last line for a delivered job: where it went, how, on which attempt
    (`at_once`: an upload the server prints at once rather than holds for a release)."""
    if route == Route.DIRECT:
        how = f"printed at {where.name} ({where.protocol} {where.address})"
    elif at_once:
        how = f"uploaded to the server, which prints it at {where.name}"
    else:
        how = "uploaded to the server's gateway, which holds it until its release"
    return f"{how}; attempt {attempt}"
