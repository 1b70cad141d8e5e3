"""Job documents on disk, written so that a crash at any instant leaves either nothing or a
complete, durable file, and sealed so that no plaintext byte of a job ever reaches the disk.

Write order (DESIGN.md 6): stream into ``spool/<uuid>.part``, fsync the file, rename it to
``spool/<uuid>``, fsync the directory, and only then may the caller insert and commit the job row
and answer the sender. A ``.part`` file or a document without a row is garbage from a crash and
is removed by the spooler on start.

Encryption at rest (``core/crypto.py`` has the format): the writer holds at most one record
(``CHUNK_SIZE``) of plaintext in memory and writes only the header and sealed records, the
``.part`` file included. ``read_chunks`` yields plaintext records as it opens them and raises
``SpoolIntegrityError`` at the first one that fails authentication. The size and sha256 the
writer reports stay those of the plaintext, as the store and the gateway header expect.
Documents spooled before encryption existed do not start with the format's magic: they are
still read as they are (their sha256 in the store still guards them); every new one is sealed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from services.core import crypto
from services.core.crypto import SpoolIntegrityError, SpoolKeyError

__all__ = ["CHUNK_SIZE", "DocumentTooLarge", "Spool", "SpoolIntegrityError", "SpoolKeyError"]

CHUNK_SIZE = 256 * 1024
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class DocumentTooLarge(Exception):
    """The document passed ``max_job_size``; the partial file is already gone."""


class Spool:
    """The spool directory (0700), documents (0600) named from the job uuid only, sealed with
    the machine key kept in ``key_dir`` (the state directory)."""

    def __init__(self, directory: Path, key_dir: Path) -> None:
        self.directory = directory
        self.key_dir = key_dir
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        # Loaded (or made) on first use: deleting and listing documents never needs it.
        if self._key is None:
            self._key = crypto.machine_key(self.key_dir)
        return self._key

    def path(self, uuid: str) -> Path:
        # Never build a path from anything a client sent: only our own uuids pass.
        if not _UUID.match(uuid):
            raise ValueError(f"not a job uuid: {uuid!r}")
        return self.directory / uuid

    def writer(self, uuid: str, max_size: int) -> SpoolWriter:
        return SpoolWriter(self, uuid, max_size)

    def read_chunks(self, uuid: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The plaintext, one record at a time (``chunk_size`` applies to legacy plaintext
        files only; sealed ones come in the records they were written in)."""
        with self.path(uuid).open("rb") as f:
            if f.read(len(crypto.MAGIC)) != crypto.MAGIC:
                f.seek(0)  # spooled before encryption at rest
                while chunk := f.read(chunk_size):
                    yield chunk
                return
            f.seek(0)
            opener = crypto.Opener(self.key, uuid, f.read(crypto.HEADER_SIZE))
            count = opener.records(os.fstat(f.fileno()).st_size)
            # One ciphertext buffer for the whole file; each plaintext chunk is a new object,
            # since the caller may still hold the previous one (a transport's send buffer).
            with memoryview(bytearray(opener.record_size + crypto.TAG_SIZE)) as sealed:
                for index in range(count):
                    yield opener.open(index, sealed[: f.readinto(sealed)], count)

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
    """Streams one document to ``<uuid>.part`` as sealed records, hashing and counting the
    plaintext as it goes."""

    def __init__(self, spool: Spool, uuid: str, max_size: int) -> None:
        self._spool = spool
        self.uuid = uuid
        self.final_path = spool.path(uuid)
        self.part_path = self.final_path.with_name(uuid + ".part")
        self._max_size = max_size
        self._sealer = crypto.Sealer(spool.key, uuid, CHUNK_SIZE)
        self._fd: int | None = os.open(self.part_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        # The header goes out with the first record, so a full disk shows up in write() or
        # commit(), where the caller turns it into an answer, not here.
        self._header: bytes | None = self._sealer.header
        # One record of plaintext, in memory only, filled in place (no buffer is allocated or
        # shifted per chunk). A full record is sealed only once more data follows it: whatever
        # is in it at commit is the final record.
        self._plain = bytearray(CHUNK_SIZE)
        self._filled = 0
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self._max_size:
            self.abort()
            raise DocumentTooLarge(f"document exceeds {self._max_size} bytes")
        assert self._fd is not None, "write after commit or abort"
        self._sha.update(chunk)
        self.size += len(chunk)
        data = memoryview(chunk)
        while data:
            if self._filled == CHUNK_SIZE:
                self._emit(self._sealer.seal(self._plain, final=False))
                self._filled = 0
            taken = min(len(data), CHUNK_SIZE - self._filled)
            self._plain[self._filled : self._filled + taken] = data[:taken]
            self._filled += taken
            data = data[taken:]

    def _emit(self, sealed: bytes) -> None:
        assert self._fd is not None
        if self._header is not None:
            sealed, self._header = self._header + sealed, None
        view = memoryview(sealed)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def commit(self) -> None:
        """Seal the last record and make the document durable under its final name (fsync,
        rename, fsync dir)."""
        assert self._fd is not None, "commit after commit or abort"
        try:
            with memoryview(self._plain) as plain:
                self._emit(self._sealer.seal(plain[: self._filled], final=True))
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None
        os.replace(self.part_path, self.final_path)
        self._spool.fsync_directory()

    def abort(self) -> None:
        """Forget the document: nothing of it stays on disk. Safe to call more than once."""
        self._filled = 0
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.part_path.unlink(missing_ok=True)
