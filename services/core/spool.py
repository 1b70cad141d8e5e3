"""Job documents on disk, written so that a crash at any instant leaves either nothing or a
complete, durable file.

Write order (DESIGN.md 4): stream into ``spool/<uuid>.part``, fsync the file, rename it to
``spool/<uuid>``, fsync the directory, and only then may the caller insert and commit the job row
and answer the sender. A ``.part`` file or a document without a row is garbage from a crash and
is removed by the spooler on start.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

CHUNK_SIZE = 256 * 1024
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class DocumentTooLarge(Exception):
    """The document passed ``max_job_size``; the partial file is already gone."""


class Spool:
    """The spool directory (0700), documents (0600) named from the job uuid only."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)

    def path(self, uuid: str) -> Path:
        # Never build a path from anything a client sent: only our own uuids pass.
        if not _UUID.match(uuid):
            raise ValueError(f"not a job uuid: {uuid!r}")
        return self.directory / uuid

    def writer(self, uuid: str, max_size: int) -> SpoolWriter:
        return SpoolWriter(self, uuid, max_size)

    def read_chunks(self, uuid: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        with self.path(uuid).open("rb") as f:
            while chunk := f.read(chunk_size):
                yield chunk

    def delete(self, uuid: str) -> None:
        self.path(uuid).unlink(missing_ok=True)

    def documents(self) -> set[str]:
        """Uuids of complete documents, for the start-up check against the store."""
        return {p.name for p in self.directory.iterdir() if _UUID.match(p.name)}

    def remove_partials(self) -> int:
        """Delete ``.part`` files: captures a crash interrupted, never acknowledged."""
        removed = 0
        for part in self.directory.glob("*.part"):
            part.unlink(missing_ok=True)
            removed += 1
        return removed

    def fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class SpoolWriter:
    """Streams one document to ``<uuid>.part``, hashing and counting as it goes."""

    def __init__(self, spool: Spool, uuid: str, max_size: int) -> None:
        self._spool = spool
        self.uuid = uuid
        self.final_path = spool.path(uuid)
        self.part_path = self.final_path.with_name(uuid + ".part")
        self._max_size = max_size
        self._fd: int | None = os.open(self.part_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self._max_size:
            self.abort()
            raise DocumentTooLarge(f"document exceeds {self._max_size} bytes")
        assert self._fd is not None, "write after commit or abort"
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._sha.update(chunk)
        self.size += len(chunk)

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def commit(self) -> None:
        """Make the document durable under its final name (fsync, rename, fsync dir)."""
        assert self._fd is not None, "commit after commit or abort"
        try:
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None
        os.replace(self.part_path, self.final_path)
        self._spool.fsync_directory()

    def abort(self) -> None:
        """Forget the document: nothing of it stays on disk. Safe to call more than once."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.part_path.unlink(missing_ok=True)
