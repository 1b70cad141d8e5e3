"""Documents at rest are sealed: they round-trip, and any change to the file is caught and
named, never handed out as plaintext."""

from __future__ import annotations

import hashlib
import os
import struct
import threading
import uuid

import pytest

from services.core import crypto
from services.core.spool import CHUNK_SIZE, Spool, SpoolIntegrityError, SpoolKeyError

RECORD = CHUNK_SIZE + crypto.TAG_SIZE
MARKER = b"PULLPRINT-PLAINTEXT-MARKER"


@pytest.fixture
def spool(tmp_path):
    return Spool(tmp_path / "spool", key_dir=tmp_path)


def store(spool: Spool, data: bytes, piece: int = 70_001) -> str:
    job = str(uuid.uuid4())
    writer = spool.writer(job, max_size=len(data) + 1)
    for start in range(0, len(data), piece):
        writer.write(data[start : start + piece])
    writer.commit()
    assert (writer.size, writer.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    return job


def read(spool: Spool, job: str) -> bytes:
    return b"".join(spool.read_chunks(job))


def flip(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 1_000_003]
)
def test_sealed_document_round_trips_at_every_record_boundary(spool, size):
    data = os.urandom(size)
    job = store(spool, data)
    assert read(spool, job) == data
    assert all(len(chunk) <= CHUNK_SIZE for chunk in spool.read_chunks(job))
    records = max(1, -(-size // CHUNK_SIZE))
    assert spool.path(job).stat().st_size == crypto.HEADER_SIZE + size + 16 * records


def test_no_plaintext_reaches_the_disk_not_even_in_the_part_file(spool):
    job = str(uuid.uuid4())
    writer = spool.writer(job, max_size=10 * CHUNK_SIZE)
    for _ in range(3 * CHUNK_SIZE // len(MARKER)):
        writer.write(MARKER)
        assert MARKER not in writer.part_path.read_bytes()
    writer.commit()
    raw = spool.path(job).read_bytes()
    assert MARKER not in raw and raw.startswith(crypto.MAGIC)
    assert read(spool, job).count(MARKER) == 3 * CHUNK_SIZE // len(MARKER)


def test_a_flipped_byte_anywhere_is_caught_and_names_the_chunk(spool):
    job = store(spool, os.urandom(3 * CHUNK_SIZE + 10))
    path, pristine = spool.path(job), spool.path(job).read_bytes()
    for offset, record in [(crypto.HEADER_SIZE + 5, 1), (crypto.HEADER_SIZE + 2 * RECORD, 3)]:
        path.write_bytes(pristine)
        flip(path, offset)
        chunks = spool.read_chunks(job)
        with pytest.raises(SpoolIntegrityError, match=f"chunk {record} of 4 failed auth"):
            for _ in range(4):
                next(chunks)
    path.write_bytes(pristine)
    flip(path, len(pristine) - 1)  # the last tag
    with pytest.raises(SpoolIntegrityError, match="chunk 4 of 4"):
        read(spool, job)
    for header_byte in (8, 12, crypto.HEADER_SIZE - 1):  # record size, nonce prefix, wrapped key
        path.write_bytes(pristine)
        flip(path, header_byte)
        with pytest.raises(SpoolIntegrityError, match="tampered with or damaged"):
            read(spool, job)


def test_truncation_at_a_record_boundary_and_reordering_are_caught(spool):
    job = store(spool, os.urandom(3 * CHUNK_SIZE + 10))
    path, pristine = spool.path(job), spool.path(job).read_bytes()
    header, body = pristine[: crypto.HEADER_SIZE], pristine[crypto.HEADER_SIZE :]
    records = [body[i : i + RECORD] for i in range(0, len(body), RECORD)]
    assert len(records) == 4
    # The last record dropped: what is now last was sealed as not final.
    path.write_bytes(header + b"".join(records[:3]))
    with pytest.raises(SpoolIntegrityError, match="chunk 3 of 3"):
        read(spool, job)
    # Cut inside a record.
    path.write_bytes(pristine[:-10])
    with pytest.raises(SpoolIntegrityError, match="chunk 4 of 4"):
        read(spool, job)
    # Only the header left.
    path.write_bytes(header)
    with pytest.raises(SpoolIntegrityError, match="chunk 1 of 1"):
        read(spool, job)
    # Two records swapped.
    path.write_bytes(header + records[1] + records[0] + records[2] + records[3])
    with pytest.raises(SpoolIntegrityError, match="chunk 1 of 4"):
        read(spool, job)


def test_a_document_moved_to_another_job_does_not_open(spool):
    job = store(spool, b"alice's payslip")
    other = str(uuid.uuid4())
    spool.path(job).rename(spool.path(other))
    with pytest.raises(SpoolIntegrityError, match="does not open with this machine's spool key"):
        read(spool, other)


def test_another_machine_key_does_not_open_it(tmp_path, spool):
    job = store(spool, b"secret" * 1000)
    elsewhere = Spool(spool.directory, key_dir=tmp_path / "other-machine")
    with pytest.raises(SpoolIntegrityError, match=r"spool\.key replaced"):
        read(elsewhere, job)
    assert read(spool, job) == b"secret" * 1000


def test_plaintext_documents_spooled_before_encryption_are_still_read(spool):
    job = str(uuid.uuid4())
    spool.path(job).write_bytes(b"%PDF-1.4 from an older version")
    assert b"".join(spool.read_chunks(job, 4)) == b"%PDF-1.4 from an older version"


def test_machine_key_is_private_and_made_once_by_concurrent_starters(tmp_path):
    keys: list[bytes] = []
    starters = [
        threading.Thread(target=lambda: keys.append(crypto.machine_key(tmp_path))) for _ in range(8)
    ]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    key_file = tmp_path / crypto.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [crypto.KEY_FILE]  # no temporaries left
    assert crypto.machine_key(tmp_path) == keys[0]


def test_a_damaged_key_file_is_refused_with_its_name(tmp_path):
    (tmp_path / crypto.KEY_FILE).write_bytes(b"short")
    spool = Spool(tmp_path / "spool", key_dir=tmp_path)
    with pytest.raises(SpoolKeyError, match=r"spool\.key is damaged: 5 bytes"):
        spool.writer(str(uuid.uuid4()), max_size=10)


def test_each_document_has_its_own_key_and_nonces(spool):
    data = b"same bytes" * 1000
    first, second = store(spool, data), store(spool, data)
    a, b = spool.path(first).read_bytes(), spool.path(second).read_bytes()
    assert a[crypto.HEADER_SIZE :] != b[crypto.HEADER_SIZE :]
    assert struct.unpack(">I", a[8:12]) == (CHUNK_SIZE,)
