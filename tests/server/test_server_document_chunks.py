"""Documents in the database, on a real database (server/documents.py, issue 22, finding 2):
a write becomes the job's document only whole and only by its claim's holder; rows a sweep
took (their claim had expired) make the commit fail instead of publishing part of a job."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server import claims
from server.documents import Documents, Missing, Spool, Writer
from server.models import DocumentChunk
from server.store import Store

BODY = os.urandom(5 * 1024 * 1024 // 2)  # two full rows and a half one


@pytest.fixture
def documents(store: Store, tmp_path: Path) -> Documents:
    """conftest's database of the test's own, migrated, with documents kept in it."""
    store.migrate()
    return Documents(store, Spool(tmp_path, "this-instance"), "database")


def staged_write(documents: Documents, job_id: str, lease: float) -> Writer:
    """The body written and closed under a claim of `lease` seconds, not yet published."""
    with documents.store.session() as session:
        claim = claims.take(session, job_id, "this-instance", lease)

    async def write() -> Writer:
        writer = documents.writer(job_id, claim.token)
        await writer.write(BODY)
        await writer.close()
        return writer

    return asyncio.run(write())


def complete_rows(documents: Documents, job_id: str) -> int:
    with documents.store.session() as session:
        query = select(func.count()).where(DocumentChunk.job_id == job_id, DocumentChunk.complete)
        return session.scalar(query) or 0


def test_rows_swept_under_an_expired_claim_are_never_published_in_part(
    documents: Documents,
) -> None:
    writer = staged_write(documents, "job-late", lease=-1)  # the claim expired at once
    assert documents.sweep() == ["job-late"]  # to the sweep, an abandoned upload's rows
    expected = pytest.raises(Missing, match="3 chunks written, 0 left")
    with expected, documents.store.session() as session:
        writer.publish(session)
    assert complete_rows(documents, "job-late") == 0


def test_a_whole_write_is_published_and_read_back_in_rows(documents: Documents) -> None:
    writer = staged_write(documents, "job-whole", lease=60)
    assert documents.sweep() == []  # a live claim's rows stay
    with documents.store.session() as session:
        writer.publish(session)
    assert complete_rows(documents, "job-whole") == 3
    document = documents.chunks.open("job-whole", len(BODY))

    async def read() -> list[bytes]:
        return [chunk async for chunk in document.chunks()]

    rows = asyncio.run(read())
    assert [len(r) for r in rows] == [1024 * 1024, 1024 * 1024, len(BODY) - 2 * 1024 * 1024]
    assert b"".join(rows) == BODY
