from __future__ import annotations

import hashlib
import uuid

import pytest

from services.core.spool import DocumentTooLarge, Spool


def test_commit_makes_a_durable_private_file(tmp_path):
    spool = Spool(tmp_path / "spool", key_dir=tmp_path)
    job = str(uuid.uuid4())
    writer = spool.writer(job, max_size=100)
    writer.write(b"hello ")
    writer.write(b"world")
    assert not spool.path(job).exists()  # only the .part exists until commit
    writer.commit()
    assert b"hello world" not in spool.path(job).read_bytes()  # sealed: core/crypto.py
    assert writer.sha256 == hashlib.sha256(b"hello world").hexdigest() and writer.size == 11
    assert (spool.path(job).stat().st_mode & 0o777) == 0o600
    assert (spool.directory.stat().st_mode & 0o777) == 0o700
    assert b"".join(spool.read_chunks(job, 4)) == b"hello world"


def test_abort_and_too_large_leave_nothing(tmp_path):
    spool = Spool(tmp_path / "spool", key_dir=tmp_path)
    writer = spool.writer(str(uuid.uuid4()), max_size=10)
    writer.write(b"12345")
    writer.abort()
    writer = spool.writer(str(uuid.uuid4()), max_size=10)
    with pytest.raises(DocumentTooLarge):
        writer.write(b"x" * 11)
    assert list(spool.directory.iterdir()) == []


def test_partials_are_removed_and_paths_come_from_uuids_only(tmp_path):
    spool = Spool(tmp_path / "spool", key_dir=tmp_path)
    spool.writer(str(uuid.uuid4()), max_size=10).write(b"1")
    assert spool.remove_partials() == 1
    assert list(spool.directory.iterdir()) == []
    for bad in ("../etc/passwd", "x", ""):
        with pytest.raises(ValueError):
            spool.path(bad)
