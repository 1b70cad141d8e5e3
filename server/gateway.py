"""The gateway: a TLS TCP listener (port 7300) that stores uploaded jobs durably.

One connection carries one job: a length-prefixed msgpack header, exactly `size` bytes, then
the server's one reply. The reply is sent only after the document is durable where
server/documents.py keeps it (the spool dir, fsynced and renamed; or database rows) and the
job row committed with it, so an `ok` survives a power cut. The body is streamed in chunks;
memory does not grow with the job size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from protocol.gateway import (
    MAX_HEADER_SIZE,
    ProtocolError,
    UploadHeader,
    decode_header,
    encode_reply,
    read_frame,
)
from server import claims, commands, release, tokens
from server.documents import Documents, Missing, Writer
from server.logs import event
from server.models import InputPort, Job, Printer, User, now
from server.store import Store

CHUNK = 256 * 1024
# Refusals of an authenticated endpoint, after which its body is still read (and dropped) so
# the client gets the reply instead of a reset. Unauthenticated peers get no such courtesy.
DRAIN_FIRST = frozenset(
    {"busy", "conflict", "unknown-port", "unknown-printer", "printer-not-allowed", "user-disabled"}
)


@dataclass
class Limits:
    """Timeouts that drop slow or stalled peers (slowloris) without hurting real clients."""

    header_timeout: float = 10.0  # the whole header must arrive within this
    read_timeout: float = 30.0  # no single body read may stall longer than this
    min_rate: float = 64 * 1024  # bytes/s a body must average (beyond read_timeout of slack)
    max_header: int = MAX_HEADER_SIZE
    linger: float = 2.0  # after an early error, read and drop input so the peer sees our reply


@dataclass
class Accepted:
    endpoint_id: int
    state: str  # pending (direct port / deliver_to) or pending-held (pull port)
    target: dict[str, object] | None
    printer_name: str | None
    duplicate: bool
    claim: str = ""  # the upload claim's token once this upload has won it (server/claims.py)


def allowed_printer(session: Session, port: InputPort, printer_id: int) -> Printer:
    """The printer an upload asks to be printed at, if its port allows it. An endpoint names
    a printer of the server's, never an address: otherwise any authorized PC could have the
    server stream bytes to any host and port it reaches (issue 19, finding 2)."""
    printer = session.get(Printer, printer_id)
    if printer is None:
        raise ProtocolError("unknown-printer", f"no printer {printer_id}")
    if port.kind == "direct":
        allowed = port.target_printer_id == printer.id
    else:
        allowed = release.may_release_at(port, printer)
    if not allowed:
        raise ProtocolError(
            "printer-not-allowed", f"input port {port.name!r} does not print at {printer.name!r}"
        )
    return printer


class Gateway:
    def __init__(
        self,
        store: Store,
        documents: Documents,
        limits: Limits,
        on_ready: Callable[[str], None],
        instance: str,
    ) -> None:
        self.store = store
        self.documents = documents
        self.limits = limits
        self.on_ready = on_ready
        self.instance = instance

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: receive, store, answer once, close."""
        peer = writer.get_extra_info("peername")
        try:
            code, message = await self._receive(reader)
            status = "ok"
        except ProtocolError as exc:
            status, code, message = "error", exc.code, exc.message
            event("gateway.refused", peer=peer, code=code, reason=message)
        except Exception as exc:
            status, code, message = "error", "internal", "internal error"
            event("gateway.failed", peer=peer, error=repr(exc))
        try:
            writer.write(encode_reply(status, code, message))  # type: ignore[arg-type]
            await asyncio.wait_for(writer.drain(), self.limits.read_timeout)
            if status == "error":
                await self._linger(reader)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)

    async def _linger(self, reader: asyncio.StreamReader) -> None:
        """Drop what the peer is still sending for a moment: closing with unread input makes
        the kernel send a reset, which can destroy our error reply before the peer reads it."""
        deadline = time.monotonic() + self.limits.linger
        with contextlib.suppress(TimeoutError, OSError):
            while (left := deadline - time.monotonic()) > 0:
                if not await asyncio.wait_for(reader.read(CHUNK), left):
                    return

    async def _receive(self, reader: asyncio.StreamReader) -> tuple[str, str]:
        try:
            raw = await asyncio.wait_for(
                read_frame(reader, self.limits.max_header), self.limits.header_timeout
            )
        except TimeoutError as exc:
            raise ProtocolError("timeout", "header not received in time") from exc
        header = decode_header(raw)
        try:
            accepted = await asyncio.to_thread(self._accept, header)
            if not accepted.duplicate:
                claim = await asyncio.to_thread(self._claim, header)
                accepted.duplicate = claim.outcome != "won"
                accepted.claim = claim.token
        except ProtocolError as exc:
            if exc.code in DRAIN_FIRST:
                # An authorized client is refused: read its body so it can read our answer.
                await self._discard(reader, header.size)
            raise
        if accepted.duplicate:
            await self._discard(reader, header.size)
            await self._await_winner(header)
            event("gateway.duplicate", job=header.job_id, endpoint=accepted.endpoint_id)
            return "duplicate", "job already stored"
        try:
            await self._store(reader, header, accepted)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._drop_claim, header.job_id, accepted.claim)
            raise
        if accepted.state == "pending":
            self.on_ready(header.job_id)
        return "stored", "job stored"

    def _accept(self, header: UploadHeader) -> Accepted:
        """Check the token and the port before any body byte is read."""
        with self.store.session() as session:
            check = tokens.check_access(session, header.token)
            endpoint = check.endpoint
            if endpoint is None:
                if check.code == "token-expired":
                    raise ProtocolError("unauthorized", "access token expired; refresh it")
                raise ProtocolError("unauthorized", "unknown, unauthorized or revoked endpoint")
            endpoint.last_seen_at = now()
            if User.is_disabled(session, header.owner):
                raise ProtocolError("user-disabled", f"user {header.owner!r} is disabled")
            port = session.get(InputPort, header.port_id)
            if port is None:
                raise ProtocolError("unknown-port", f"no input port {header.port_id}")
            existing = session.get(Job, header.job_id)
            duplicate = existing is not None and existing.location == "server"
            if duplicate and existing is not None and existing.sha256 != header.sha256:
                raise ProtocolError("conflict", "this job id was stored with other content")
            if header.deliver_to is not None:
                printer = allowed_printer(session, port, header.deliver_to)
                target = commands.destination(printer)
                return Accepted(endpoint.id, "pending", target, printer.name, duplicate)
            if port.kind == "direct" and port.target is not None:
                target = commands.destination(port.target)
                return Accepted(endpoint.id, "pending", target, port.target.name, duplicate)
            return Accepted(endpoint.id, "pending-held", None, None, duplicate)

    def _claim(self, header: UploadHeader) -> claims.Claim:
        """The database decides which upload of a job id stores it, across every server
        process (issue 22, finding 1). The lease outlasts the body budget this process
        enforces, so only a dead process's claim ever expires."""
        lease = self._body_budget(header.size) + self.limits.read_timeout
        with self.store.session() as session:
            claim = claims.take(session, header.job_id, self.instance, lease)
        if claim.outcome == "stored" and claim.sha256 != header.sha256:
            raise ProtocolError("conflict", "this job id was stored with other content")
        return claim

    def _drop_claim(self, job_id: str, token: str) -> None:
        with self.store.session() as session:
            claims.drop(session, job_id, token)

    def _claim_status(self, job_id: str) -> claims.Claim:
        with self.store.session() as session:
            return claims.status(session, job_id)

    async def _await_winner(self, header: UploadHeader) -> None:
        """An upload that lost the claim answers `duplicate` only once the winner's job is
        committed: if the winner fails, this client must send the job again (`busy`)."""
        deadline = time.monotonic() + self._body_budget(header.size)
        while True:
            claim = await asyncio.to_thread(self._claim_status, header.job_id)
            if claim.outcome == "stored":
                if claim.sha256 != header.sha256:
                    raise ProtocolError("conflict", "this job id was stored with other content")
                return
            if claim.outcome == "free" or time.monotonic() > deadline:
                raise ProtocolError("busy", "this job id is being uploaded on another connection")
            await asyncio.sleep(0.05)

    async def _discard(self, reader: asyncio.StreamReader, size: int) -> None:
        """A duplicate's body is read and dropped, so the client can read our reply."""
        remaining = size
        async with asyncio.timeout(self._body_budget(size)):
            while remaining:
                chunk = await asyncio.wait_for(
                    reader.read(min(CHUNK, remaining)), self.limits.read_timeout
                )
                if not chunk:
                    raise ProtocolError("size-mismatch", "connection closed inside the body")
                remaining -= len(chunk)

    def _body_budget(self, size: int) -> float:
        return self.limits.read_timeout + size / self.limits.min_rate

    async def _store(
        self, reader: asyncio.StreamReader, header: UploadHeader, accepted: Accepted
    ) -> None:
        writer = self.documents.writer(header.job_id, accepted.claim)
        try:
            await self._stream_body(reader, writer, header)
            await writer.close()
            await asyncio.to_thread(self._commit, header, accepted, writer)
        except BaseException:
            # No row, no document: a client that got no `ok` sends again and must find
            # nothing. (In the database, a commit that did land before a failure keeps its
            # document: abort drops only rows still staged.)
            await writer.abort()
            raise
        event(
            "gateway.stored",
            job=header.job_id,
            endpoint=accepted.endpoint_id,
            owner=header.owner,
            size=header.size,
            state=accepted.state,
            documents=self.documents.kind,
        )

    async def _stream_body(
        self, reader: asyncio.StreamReader, writer: Writer, header: UploadHeader
    ) -> None:
        digest = hashlib.sha256()
        remaining = header.size
        try:
            async with asyncio.timeout(self._body_budget(header.size)):
                while remaining:
                    chunk = await asyncio.wait_for(
                        reader.read(min(CHUNK, remaining)), self.limits.read_timeout
                    )
                    if not chunk:
                        raise ProtocolError(
                            "size-mismatch", f"connection closed {remaining} bytes short"
                        )
                    digest.update(chunk)
                    await writer.write(chunk)
                    remaining -= len(chunk)
        except TimeoutError as exc:
            raise ProtocolError("timeout", f"body stalled {remaining} bytes short") from exc
        if digest.hexdigest() != header.sha256:
            raise ProtocolError("sha256-mismatch", "document does not match its sha256")

    def _commit(self, header: UploadHeader, accepted: Accepted, writer: Writer) -> None:
        with self.store.session() as session:
            if not claims.finish(session, header.job_id, accepted.claim):
                raise ProtocolError("busy", "this upload's claim expired; send the job again")
            try:
                writer.publish(session)
            except Missing as exc:
                raise ProtocolError("busy", f"{exc}; send the job again") from exc
            job = session.get(Job, header.job_id)
            if job is None:
                job = Job(id=header.job_id, attempts=0)
                session.add(job)
            # A row may exist already when the endpoint announced the job on the channel and
            # then fell back to uploading it: the upload takes the job over.
            job.owner = header.owner
            job.location = "server"
            job.stored_by = self.documents.location
            job.endpoint_id = accepted.endpoint_id
            job.port_id = header.port_id
            job.name = header.name
            job.format = header.format
            job.size = header.size
            job.sha256 = header.sha256
            job.state = accepted.state
            job.reasons = "job-hold-until-specified" if accepted.state == "pending-held" else "none"
            job.target = accepted.target
            job.options = header.options
            job.printer_name = accepted.printer_name
            job.updated_at = now()
