"""Where uploaded documents live: the one module that knows (issue 22, finding 2).

Two backends behind one interface. `Spool` is a directory of the process's data dir: only
that process reaches it, so only it prints or deletes the job (`Job.stored_by` names it).
`Chunks` keeps a document in the database as 1 MiB rows: every server process on that
database prints any job, so a job stored by a process that died is printed by another one.
Both stream, in and out: memory does not grow with the job.

A write is not visible until the job row commits. A spool document is renamed into place
only when complete and fsynced; database chunks are written under the upload claim's token
(server/claims.py), staged, and marked complete in the transaction that commits the job and
deletes the claim, so only the claim's holder can finish it, and only with every chunk it
wrote. What a killed upload leaves (a `.part`, staged chunks whose claim is gone) is swept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from protocol.states import TERMINAL_KEYWORDS
from server.logs import event
from server.models import DocumentChunk, Job, UploadClaim, now
from server.store import Store

Kind = Literal["directory", "database"]
KINDS: tuple[Kind, ...] = ("directory", "database")
DATABASE = "database"  # Job.stored_by of a document in the database: any process reads it
ROW = 1024 * 1024  # a database chunk: few rows per job, little memory per row
READ = 256 * 1024
# A spool document younger than this may be between its rename and its row's commit.
ORPHAN_AGE = 600.0


class Missing(Exception):
    """The job's document is not (or no longer, or not wholly) where its row says."""


@dataclass(frozen=True)
class Document:
    """A stored document: its size and a fresh stream of its bytes per call (an IPP
    printer that refuses options gets the job again)."""

    size: int
    chunks: Callable[[], AsyncIterator[bytes]]


class Writer(Protocol):
    """One upload's document on its way in: `write` in order, `close` once all is durable,
    `publish` inside the transaction that commits the job row, `abort` on any failure."""

    async def write(self, chunk: bytes) -> None: ...
    async def close(self) -> None: ...
    def publish(self, session: Session) -> None: ...
    async def abort(self) -> None: ...


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolWriter:
    def __init__(self, directory: Path, job_id: str) -> None:
        self.directory = directory
        self.part = directory / f"{job_id}.part"
        self.final = directory / job_id
        self.fd = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)

    async def write(self, chunk: bytes) -> None:
        # Writing to the page cache is quick enough to do on the loop; the slow part,
        # fsync, runs in a thread once the body is complete.
        view = memoryview(chunk)
        while view:
            view = view[os.write(self.fd, view) :]

    async def close(self) -> None:
        try:
            # The data must be on disk before the name is: otherwise a crash could leave a
            # complete-looking file with missing blocks.
            await asyncio.to_thread(os.fsync, self.fd)
        finally:
            self._close_fd()
        os.replace(self.part, self.final)
        await asyncio.to_thread(fsync_dir, self.directory)

    def publish(self, session: Session) -> None:
        """Nothing to do: the file is in place, and only a committed row makes it a job."""

    async def abort(self) -> None:
        """No row, no file: a client that got no `ok` sends again and must find nothing."""
        self._close_fd()
        self.part.unlink(missing_ok=True)
        self.final.unlink(missing_ok=True)

    def _close_fd(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class Spool:
    """The directory backend: `data_dir/spool`, this process's alone."""

    def __init__(self, directory: Path, instance: str) -> None:
        self.directory = directory
        self.location = instance

    def writer(self, job_id: str, upload: str) -> Writer:
        return SpoolWriter(self.directory, job_id)

    def open(self, job_id: str, size: int) -> Document:
        path = self.directory / job_id
        if not path.is_file():
            raise Missing("document missing from the spool")

        async def chunks() -> AsyncIterator[bytes]:
            with path.open("rb") as f:
                while chunk := await asyncio.to_thread(f.read, READ):
                    yield chunk

        return Document(size, chunks)

    def delete(self, job_id: str) -> None:
        (self.directory / job_id).unlink(missing_ok=True)

    def clean(self) -> int:
        """At start: `.part` files left by a crash mid-upload; their clients got no ack."""
        removed = 0
        for part in self.directory.glob("*.part"):
            part.unlink(missing_ok=True)
            removed += 1
        return removed

    def sweep(self, store: Store) -> list[str]:
        """Documents whose job finished while another process handled it, or whose row never
        got committed."""
        names = [p.name for p in self.directory.iterdir() if not p.name.endswith(".part")]
        if not names:
            return []
        with store.session() as session:
            query = select(Job.id, Job.state, Job.stored_by).where(Job.id.in_(names))
            rows = session.execute(query).all()
        live = {
            r.id for r in rows if r.state not in TERMINAL_KEYWORDS and r.stored_by == self.location
        }
        known = {r.id for r in rows}
        removed = []
        for name in names:
            path = self.directory / name
            try:
                orphan = name not in known and time.time() - path.stat().st_mtime > ORPHAN_AGE
            except FileNotFoundError:
                continue
            if name not in live and (name in known or orphan):
                path.unlink(missing_ok=True)
                removed.append(name)
                event("spool.removed", job=name, orphan=orphan)
        return removed


class ChunkWriter:
    def __init__(self, store: Store, job_id: str, upload: str) -> None:
        self.store = store
        self.job_id, self.upload = job_id, upload
        self.buffer = bytearray()
        self.rows = 0

    async def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        while len(self.buffer) >= ROW:
            await self._flush(ROW)

    async def close(self) -> None:
        if self.buffer or not self.rows:  # an empty document is one empty row
            await self._flush(len(self.buffer))

    async def _flush(self, size: int) -> None:
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        await asyncio.to_thread(self._insert, self.rows, data)
        self.rows += 1

    def _insert(self, seq: int, data: bytes) -> None:
        # Each row commits on its own: one transaction per upload would hold a pooled
        # connection for as long as the slowest client takes.
        with self.store.session() as session:
            session.add(DocumentChunk(job_id=self.job_id, upload=self.upload, seq=seq, data=data))

    def publish(self, session: Session) -> None:
        """Every row this upload wrote becomes the job's document, in the job's commit. Fewer
        rows than written means a sweep took them (the claim had expired): fail, so the
        transaction rolls back and no reader ever sees part of a document."""
        mine = (DocumentChunk.job_id == self.job_id, DocumentChunk.upload == self.upload)
        session.execute(delete(DocumentChunk).where(DocumentChunk.job_id == self.job_id,
                                                    DocumentChunk.complete))  # fmt: skip
        marked = session.execute(update(DocumentChunk).where(*mine).values(complete=True))
        if marked.rowcount != self.rows:  # type: ignore[attr-defined]
            raise Missing(f"{self.rows} chunks written, {marked.rowcount} left")  # type: ignore[attr-defined]

    async def abort(self) -> None:
        """Staged rows are dropped now; if this fails, the sweep drops them later."""
        self.buffer.clear()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._drop)

    def _drop(self) -> None:
        with self.store.session() as session:
            session.execute(
                delete(DocumentChunk).where(
                    DocumentChunk.job_id == self.job_id,
                    DocumentChunk.upload == self.upload,
                    ~DocumentChunk.complete,
                )
            )


class Chunks:
    """The database backend: any process on the database reads any document."""

    location = DATABASE

    def __init__(self, store: Store) -> None:
        self.store = store

    def writer(self, job_id: str, upload: str) -> Writer:
        return ChunkWriter(self.store, job_id, upload)

    def open(self, job_id: str, size: int) -> Document:
        with self.store.session() as session:
            query = select(DocumentChunk.upload).where(
                DocumentChunk.job_id == job_id, DocumentChunk.complete
            )
            upload = session.scalars(query.limit(1)).first()
        if upload is None:
            raise Missing("document missing from the database")

        async def chunks() -> AsyncIterator[bytes]:
            seq = total = 0
            # One row per query, each in its own short transaction: the whole document is
            # never in memory, and no connection is held while a printer is slow.
            while (data := await asyncio.to_thread(self._row, job_id, upload, seq)) is not None:
                yield data
                seq, total = seq + 1, total + len(data)
            if total != size:
                raise Missing(f"document has {total} of {size} bytes")

        return Document(size, chunks)

    def _row(self, job_id: str, upload: str, seq: int) -> bytes | None:
        with self.store.session() as session:
            key = (DocumentChunk.job_id == job_id, DocumentChunk.upload == upload)
            return session.scalar(select(DocumentChunk.data).where(*key, DocumentChunk.seq == seq))

    def delete(self, job_id: str) -> None:
        with self.store.session() as session:
            session.execute(delete(DocumentChunk).where(DocumentChunk.job_id == job_id))

    def sweep(self) -> list[str]:
        """Staged rows whose claim is gone or expired (a killed or abandoned upload), and
        documents whose job finished or never got a row."""
        live_claim = select(UploadClaim.token).where(UploadClaim.expires_at >= now())
        live_job = exists().where(
            Job.id == DocumentChunk.job_id, Job.state.not_in(TERMINAL_KEYWORDS)
        )
        with self.store.session() as session:
            staged = delete(DocumentChunk).where(
                ~DocumentChunk.complete, DocumentChunk.upload.not_in(live_claim)
            )
            finished = delete(DocumentChunk).where(DocumentChunk.complete, ~live_job)
            removed = {
                row.job_id: kind
                for kind, statement in (("staged", staged), ("finished", finished))
                for row in session.execute(statement.returning(DocumentChunk.job_id))
            }
        for job_id, kind in removed.items():
            event("documents.removed", job=job_id, kind=kind)
        return sorted(removed)


class Documents:
    """What the gateway, Document Output, retention and the API use: writes go to the
    configured backend; a job is read and deleted where its row says it was stored, so jobs
    stored before a change of backend still print."""

    def __init__(self, store: Store, spool: Spool, kind: Kind) -> None:
        self.spool = spool
        self.chunks = Chunks(store)
        self.store = store
        self.kind = kind
        self.target: Spool | Chunks = self.chunks if kind == "database" else spool

    @property
    def location(self) -> str:
        """What `Job.stored_by` says of a document written now."""
        return self.target.location

    @property
    def readable(self) -> Sequence[str]:
        """The `Job.stored_by` values whose documents this process reaches."""
        return (self.spool.location, DATABASE)

    def writer(self, job_id: str, upload: str) -> Writer:
        return self.target.writer(job_id, upload)

    def open(self, job: Job) -> Document:
        """Raises Missing. Blocking: call it from a thread."""
        backend = self.chunks if job.stored_by == DATABASE else self.spool
        return backend.open(job.id, job.size)

    def delete(self, job_id: str) -> None:
        """A finished or canceled job's document, wherever it is. Blocking."""
        self.spool.delete(job_id)
        self.chunks.delete(job_id)

    def sweep(self) -> list[str]:
        return self.spool.sweep(self.store) + self.chunks.sweep()


def default_kind(store: Store) -> Kind:
    """The database on PostgreSQL (several processes), the spool on SQLite (one)."""
    return "database" if store.engine.dialect.name == "postgresql" else "directory"
