"""Documents at rest: every spooled document is sealed with AES-256-GCM as it is written, under
a key of its own, so no plaintext byte of a job ever reaches the disk.

File format, version 1 (all integers big-endian)::

    header   magic "PPSPOOL" (7) | version 1 (1) | record size (4) | nonce prefix (8)
             | wrap nonce (12) | job key sealed with the machine key (32 + 16 tag)
    records  AES-GCM(job key, nonce = prefix | record index (4), plaintext)  each
             ``record size`` plaintext bytes + 16 tag bytes, but the last, which holds 0 to
             ``record size`` bytes: the record count follows from the file size.

- The job key is random per document (a retried Send-Document gets a new one) and is wrapped
  with AES-GCM under the machine key; the wrap's associated data is the rest of the header and
  the job uuid, so a changed header field or a header moved to another job does not open.
- Each record's associated data is the format version, the job uuid, the record index and a
  final-record flag: a changed byte, records swapped or dropped, a file cut at a record boundary
  (the new last record was sealed as not final) or a document renamed to another uuid all fail
  authentication, and we say which record.
- The machine key is 32 random bytes in ``{state_dir}/spool.key`` (0600), created on first use
  by whichever process needs it first; the file is complete before it appears under its name
  (written, fsynced, then hard-linked), so a second process starting at the same moment reads
  the same key, never half a file. Losing the key loses the spooled documents, which are
  transient by nature: the jobs are aborted with that reason.
- Not the OS keyring: the services run under supervisord as a system service, where no user
  session (Secret Service, Keychain) exists to hold it; a file as private as the store itself
  (and the endpoint credentials beside it) protects the same things.
"""

from __future__ import annotations

import os
import secrets
import struct
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"PPSPOOL"
VERSION = 1
KEY_FILE = "spool.key"
KEY_SIZE = 32
TAG_SIZE = 16
_PREFIX = struct.Struct(">7sBI8s12s")  # magic, version, record size, nonce prefix, wrap nonce
HEADER_SIZE = _PREFIX.size + KEY_SIZE + TAG_SIZE
# 4 bytes of record index in the nonce: 2**32 records of 256 KiB, far beyond max_job_size.
MAX_RECORDS = 2**32


class SpoolIntegrityError(Exception):
    """A sealed document does not open: damaged on disk, changed by someone, or sealed with
    another machine key. Never deliver any of it."""

    def __init__(self, message: str, record: int | None = None) -> None:
        super().__init__(f"document tampered with or damaged: {message}")
        self.record = record


class SpoolKeyError(Exception):
    """``spool.key`` exists but is not a key: nothing can be sealed or opened until fixed."""


def machine_key(directory: Path) -> bytes:
    """The machine key in ``directory/spool.key``, made on first use."""
    path = directory / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    directory.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, _aesgcm().generate_key(bit_length=256))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() fails if the name exists: of two processes creating it at once, one key wins,
        # and the name only ever points at a whole, fsynced file.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return _read_key(path)


def _aesgcm() -> type[AESGCM]:
    """AES-GCM, imported when a document is first sealed or opened, not with this module: the
    channel reaches the spool only to delete files, and cryptography costs each process that
    loads it about 7 MB (issue 23)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM


def _read_key(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != KEY_SIZE:
        raise SpoolKeyError(
            f"{path} is damaged: {len(key)} bytes, a spool key has {KEY_SIZE}; "
            "documents sealed with the lost key cannot be opened any more"
        )
    return key


def _record_aad(uuid: str, index: int, final: bool) -> bytes:
    return MAGIC + bytes([VERSION]) + uuid.encode() + struct.pack(">IB", index, final)


class Sealer:
    """The writing side of one document: its header, then one record at a time."""

    def __init__(self, machine_key: bytes, uuid: str, record_size: int) -> None:
        self._uuid = uuid
        self._prefix = secrets.token_bytes(8)
        aesgcm = _aesgcm()
        job_key = aesgcm.generate_key(bit_length=256)
        self._aead = aesgcm(job_key)
        wrap_nonce = secrets.token_bytes(12)
        fields = _PREFIX.pack(MAGIC, VERSION, record_size, self._prefix, wrap_nonce)
        wrapped = aesgcm(machine_key).encrypt(wrap_nonce, job_key, fields + uuid.encode())
        self.header = fields + wrapped
        self._index = 0

    def seal(self, plaintext: bytes | bytearray | memoryview, final: bool) -> bytes:
        if self._index >= MAX_RECORDS:
            raise ValueError("document has more records than a nonce can count")
        nonce = self._prefix + struct.pack(">I", self._index)
        sealed = self._aead.encrypt(nonce, plaintext, _record_aad(self._uuid, self._index, final))
        self._index += 1
        return sealed


class Opener:
    """The reading side of one document, from its header."""

    def __init__(self, machine_key: bytes, uuid: str, header: bytes) -> None:
        if len(header) != HEADER_SIZE:
            raise SpoolIntegrityError("the header is cut short")
        fields, wrapped = header[: _PREFIX.size], header[_PREFIX.size :]
        magic, version, self.record_size, self._prefix, wrap_nonce = _PREFIX.unpack(fields)
        if magic != MAGIC or version != VERSION:
            raise SpoolIntegrityError(f"unknown spool format (version {version})")
        from cryptography.exceptions import InvalidTag  # loaded with AES-GCM: see _aesgcm

        aesgcm = _aesgcm()
        try:
            job_key = aesgcm(machine_key).decrypt(wrap_nonce, wrapped, fields + uuid.encode())
        except InvalidTag:
            raise SpoolIntegrityError(
                "its header does not open with this machine's spool key "
                "(header changed, or spool.key replaced since capture)"
            ) from None
        self._uuid = uuid
        self._aead = aesgcm(job_key)

    def records(self, file_size: int) -> int:
        """How many records a file of ``file_size`` bytes holds (at least the final one)."""
        body = file_size - HEADER_SIZE
        return max(1, -(-body // (self.record_size + TAG_SIZE)))

    def open(self, index: int, sealed: bytes | memoryview, count: int) -> bytes:
        from cryptography.exceptions import InvalidTag  # loaded already, by __init__

        final = index == count - 1
        nonce = self._prefix + struct.pack(">I", index)
        try:
            return self._aead.decrypt(nonce, sealed, _record_aad(self._uuid, index, final))
        except InvalidTag:
            raise SpoolIntegrityError(
                f"chunk {index + 1} of {count} failed authentication", index
            ) from None
