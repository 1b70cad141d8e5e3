"""Document Output: prints jobs stored on the server, by raw TCP or IPP Print-Job.

Jobs in state `pending` with a target (direct ports, `deliver_to` uploads, released pull jobs)
are claimed with a compare-and-set to `processing` (attempt number +1), sent from the start,
and marked `completed` right after the printer accepted them. A failed attempt becomes
`processing-stopped` with a backoff; after `max_attempts` the job is `aborted`. The database,
not a queue in memory, says what is due, so a restart loses nothing.

Jobs to one printer go one at a time, oldest first, and a job waiting for its next attempt
holds back the ones behind it: the jobs a user releases come out in the order they were
printed. Different printers never wait for each other.

That printer's queue (its lane) holds across server processes on one PostgreSQL (issue 22,
finding 3): a delivery holds the lane's lock (server/lanes.py) from before its claim until its
end is committed, and claims only the first unfinished job of the lane in the whole database,
so no process sends a later job while an earlier one is pending, processing or waiting for
its retry anywhere. Holding the lock, a `processing` job in the lane can only be one whose
sender died: it is made due again and resent from the start. The claim reads the job with
`SELECT ... FOR UPDATE SKIP LOCKED`: a row that another transaction is changing (a cancel) is
left for the next rescan instead of waited for, and the row stays as read until the
compare-and-set. On SQLite (one process) the lock is a no-op and the set in memory
(`_running`) is the lane, as it always was; that set also keeps this process from asking for
a lane it already holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from sqlalchemy import and_, or_, select

from protocol import job_options
from protocol.gateway import Destination
from server import ipp, jobs, output_options
from server.documents import Document, Documents, Missing
from server.lanes import Held, Lanes, due_now, lane_of, reset_orphans, unfinished_jobs
from server.logs import event
from server.models import Job, now
from server.store import Store

CHUNK = 256 * 1024


class DeliveryError(Exception):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class RetryPolicy:
    initial: float = 1.0  # seconds before the second attempt
    maximum: float = 60.0
    max_attempts: int = 10
    connect_timeout: float = 10.0
    io_timeout: float = 60.0  # a printer that stops reading for this long has failed

    def delay(self, attempts: int) -> float:
        """Exponential backoff with jitter, so many jobs for one dead printer spread out."""
        base = min(self.maximum, self.initial * 2 ** max(0, attempts - 1))
        return base * random.uniform(0.8, 1.2)


async def _framed(document: Document, header: bytes, trailer: bytes) -> AsyncIterator[bytes]:
    """The document between what a request or a PJL job puts before and after it."""
    if header:
        yield header
    async for chunk in document.chunks():
        yield chunk
    if trailer:
        yield trailer


async def send_raw(
    dest: Destination,
    document: Document,
    policy: RetryPolicy,
    around: output_options.RawPlan | None = None,
) -> None:
    """Stream the document (inside ``around``'s PJL header and trailer, if any), half-close, then
    wait for the printer to close: raw printers close once they have taken the whole job,
    which is the only acknowledgement raw TCP gives."""
    around = around or output_options.RawPlan()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(dest.host, dest.port), policy.connect_timeout
        )
    except (OSError, TimeoutError) as exc:
        raise DeliveryError(f"connect {dest.host}:{dest.port}: {exc!r}") from exc
    try:
        async for chunk in _framed(document, around.header, around.trailer):
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), policy.io_timeout)
        writer.write_eof()
        while await asyncio.wait_for(reader.read(CHUNK), policy.io_timeout):
            pass  # back-channel bytes (status) are not interpreted
    except (OSError, TimeoutError) as exc:
        raise DeliveryError(f"raw send to {dest.host}:{dest.port}: {exc!r}") from exc
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def send_ipp(
    dest: Destination, document: Document, job: Job, policy: RetryPolicy
) -> list[str]:
    """IPP Print-Job with the job's options as job attributes, the document streamed after
    the request; returns what the printer did not take as asked. A printer that refuses
    options gets the job again without those it named (then without any): printed as it
    can, and said so, rather than not at all, as an endpoint's delivery leaves out what a
    printer does not offer."""
    options = output_options.parse(job.options)
    lost: list[str] = []
    for tries in range(3):
        group = job_options.job_group(options)
        status, named = await _print_job(dest, document, job, policy, group)
        theirs = {n: options[n] for n in named if n in options}
        if status == ipp.CLIENT_ERROR_ATTRIBUTES_OR_VALUES and options:
            dropped = theirs if theirs and tries == 0 else dict(options)
            lost += [f"{_described(n, o)} (refused by the printer)" for n, o in dropped.items()]
            options = {n: o for n, o in options.items() if n not in dropped}
            continue
        if ipp.is_success(status):
            lost += [f"{_described(n, o)} (ignored or substituted)" for n, o in theirs.items()]
        break
    if not ipp.is_success(status):
        raise DeliveryError(f"IPP status 0x{status:04x}", ipp.is_permanent_failure(status))
    return lost


def _described(name: str, option: tuple[int, list[object]]) -> str:
    return job_options.describe(name, *option)


async def _print_job(
    dest: Destination, document: Document, job: Job, policy: RetryPolicy, job_group: bytes
) -> tuple[int, set[str]]:
    """One Print-Job; its IPP status and the attributes the printer named unsupported."""
    resource = dest.path or "/ipp/print"
    printer_uri = f"ipp://{dest.host}:{dest.port}{resource}"
    request = ipp.print_job(
        printer_uri, job.owner, job.name or job.id, job.format, job_group=job_group
    )
    timeout = httpx.Timeout(policy.io_timeout, connect=policy.connect_timeout)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(
                f"http://{dest.host}:{dest.port}{resource}",
                content=_framed(document, request, b""),
                # A known length instead of chunked encoding: some printers refuse chunks.
                headers={
                    "Content-Type": "application/ipp",
                    "Content-Length": str(len(request) + document.size),
                },
            )
        if response.status_code != 200:
            raise DeliveryError(f"IPP HTTP status {response.status_code}")
        return ipp.response_status(response.content), ipp.unsupported(response.content)
    except (httpx.HTTPError, ValueError) as exc:
        raise DeliveryError(f"IPP to {printer_uri}: {exc!r}") from exc


class DocumentOutput:
    def __init__(
        self,
        store: Store,
        documents: Documents,
        policy: RetryPolicy,
        instance: str,
        poll_interval: float = 1.0,
    ) -> None:
        self.store = store
        self.documents = documents
        self.policy = policy
        self.poll_interval = poll_interval
        self.instance = instance
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.lanes = Lanes(store)

    def submit(self, job_id: str) -> None:
        """Something became due now; saves waiting for the next poll. Callable from the
        thread pool (REST handlers) as well as from the event loop."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def recover(self) -> int:
        """Jobs this instance left `processing` when it crashed are retried from the start;
        another process's may be on a printer's connection right now.

        Only on SQLite, at start: on PostgreSQL the one that takes a lane's lock resends what
        a dead process left (`_claim`), whenever that process died."""
        if self.store.engine.dialect.name == "postgresql":
            return 0
        ours = or_(
            Job.delivered_by == self.instance,
            and_(Job.delivered_by.is_(None), Job.stored_by == self.instance),  # before 0013
        )
        with self.store.session() as session:
            stuck = session.scalars(
                select(Job.id).where(Job.location == "server", ours, Job.state == "processing")
            ).all()
            for job_id in stuck:
                jobs.transition(
                    session, job_id, "processing", "processing-stopped", next_attempt_at=now()
                )
        return len(stuck)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            for lane, job_id in await asyncio.to_thread(self._due):
                if lane not in self._running:
                    self._running.add(lane)
                    task = asyncio.create_task(self._deliver(lane, job_id))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()

    def _due(self) -> list[tuple[str, str]]:
        """The first job of each printer (lane), where that job is due now or `processing`.

        A job being sent counts as its lane's first: this snapshot may be older than the
        task that is sending it, and must not offer the job behind it meanwhile. It is
        offered itself, since its sender may have died: `_claim` finds out under the lane's
        lock, which a live sender holds (a lane this process sends on is not asked for).
        """
        with self.store.session() as session:
            # Any process's jobs when documents are in the database; else this spool's.
            rows = unfinished_jobs(session, Job.stored_by.in_(self.documents.readable))
        first: dict[str, tuple[str, bool]] = {}
        for job_id, target, state, at in rows:
            offered = due_now(state, at) or state == "processing"
            first.setdefault(lane_of(target), (job_id, offered))
        return [(lane, job_id) for lane, (job_id, offered) in first.items() if offered]

    def _claim(self, lane: str, job_id: str) -> tuple[Job | None, bool]:
        """Under the lane's lock: `job_id` moved to `processing` (attempt + 1) if it is the
        first unfinished job of its lane in the database and due; None otherwise (another
        job goes first, or a transaction is changing this one). And whether to rescan now:
        the snapshot that offered the job is out of date (it has finished meanwhile, so the
        one behind it may be due), or a dead sender's job was made due."""
        with self.store.session() as session:
            ahead, orphaned = reset_orphans(session, lane)
            if not ahead or ahead[0] != job_id:
                return None, orphaned or job_id not in ahead
            job = session.scalars(
                select(Job)
                .where(Job.id == job_id, Job.state.in_(("pending", "processing-stopped")))
                .with_for_update(skip_locked=True)
            ).first()
            if job is None or not due_now(job.state, job.next_attempt_at):
                return None, orphaned
            attempt = job.attempts + 1
            if not jobs.transition(
                session, job_id, job.state, "processing", attempts=attempt, reasons="none",
                delivered_by=self.instance,
            ):  # fmt: skip
                return None, orphaned
            job.attempts = attempt
            return job, True

    async def _deliver(self, lane: str, job_id: str) -> None:
        held: Held | None = None
        again = False
        try:
            held = await asyncio.to_thread(self.lanes.acquire, lane)
            if held is None:
                return  # another process sends on this printer: look at the next rescan
            job, again = await asyncio.to_thread(self._claim, lane, job_id)
            if job is not None:
                await self._attempt(job)
        finally:
            if held is not None:
                await asyncio.to_thread(self.lanes.release, held)
            self._running.discard(lane)
            if again:
                # The next job of this printer may be due now. Not when the lane's first
                # job is another process's: waking at once would only ask again and again.
                self._wake.set()

    async def _attempt(self, job: Job) -> None:
        """Send a claimed job and commit how it ended."""
        try:
            lost = await self._send(job)
        except DeliveryError as exc:
            await asyncio.to_thread(self._failed, job, exc)
            return
        except Exception as exc:
            # A bug or a bad row must not leave the job `processing` forever.
            await asyncio.to_thread(self._failed, job, DeliveryError(repr(exc)))
            return
        where = job.printer_name or "the printer"
        message = f"printed at {where} by the server (attempt {job.attempts})"
        await asyncio.to_thread(
            self._finish,
            job.id,
            "completed",
            "job-completed-with-warnings" if lost else "job-completed-successfully",
            f"{message}; without: {'; '.join(lost)}" if lost else message,
        )
        event("output.completed", job=job.id, attempt=job.attempts, size=job.size)

    async def _send(self, job: Job) -> list[str]:
        """Print the job; what of its options the printer did not get as asked."""
        dest = Destination.model_validate(job.target)
        event(
            "output.sending", job=job.id, attempt=job.attempts, host=dest.host, port=dest.port,
            protocol=dest.protocol,
        )  # fmt: skip
        try:
            document = await asyncio.to_thread(self.documents.open, job)
        except Missing as exc:
            raise DeliveryError(str(exc), permanent=True) from exc
        if dest.protocol == "raw":
            around = output_options.for_raw(
                output_options.parse(job.options), dest, job.name or job.id, job.format
            )
            await send_raw(dest, document, self.policy, around)
            return around.not_honoured
        if dest.protocol == "ipps":
            # The server keeps no pins of printers' certificates (the endpoints do): sending
            # unverified, or in plain, to a printer that asked for TLS is what IPPS is against.
            raise DeliveryError(
                "the server does not print to IPPS printers; release the job at an endpoint",
                permanent=True,
            )
        return await send_ipp(dest, document, job, self.policy)

    def _failed(self, job: Job, exc: DeliveryError) -> None:
        if exc.permanent or job.attempts >= self.policy.max_attempts:
            where = job.printer_name or "the printer"
            why = (
                f"the server could not print it at {where}: {exc}"
                if exc.permanent
                else f"the server gave up printing it at {where} after {job.attempts} "
                f"attempts; last error: {exc}"
            )
            self._finish(job.id, "aborted", "aborted-by-system", why)
            event("output.aborted", job=job.id, attempt=job.attempts, error=str(exc))
            return
        delay = self.policy.delay(job.attempts)
        with self.store.session() as session:
            jobs.transition(
                session,
                job.id,
                "processing",
                "processing-stopped",
                reasons="printer-stopped",
                next_attempt_at=now() + delay,
            )
        event(
            "output.retry", job=job.id, attempt=job.attempts, delay=round(delay, 2), error=str(exc)
        )

    def _finish(self, job_id: str, state: str, reason: str, message: str) -> None:
        """The job's end, and (server/jobs.py) its outcome for the endpoint that uploaded it,
        in one transaction; `message` is what that endpoint's owner is told."""
        with self.store.session() as session:
            jobs.transition(session, job_id, "processing", state, reasons=reason, message=message)
        # Finished documents are deleted; the row stays for history and accounting.
        self.documents.delete(job_id)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.to_thread(self.lanes.close)
