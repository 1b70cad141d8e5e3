"""The spool's writer (server/documents.py) when an upload loses its claim: a process that takes
a dead-looking upload's claim over after its lease may be that upload's own process, so both
write the same job id at once. Each writes a file named by its claim, and only the claim's
holder names the document in its commit."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server.documents import Spool


def test_an_upload_that_lost_its_claim_neither_mixes_into_nor_deletes_the_winners_document(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path, "this-instance")

    async def race() -> None:
        late = spool.writer("job-1", "late-token")
        await late.write(b"A" * 1000)
        retry = spool.writer("job-1", "retry-token")  # took the claim over after the lease
        await retry.write(b"B" * 10)
        await late.write(b"A" * 1000)  # the late one is still arriving
        await retry.close()
        retry.publish(None)  # type: ignore[arg-type]  # the spool's publish needs no session
        await late.close()
        await late.abort()  # its commit found its claim gone

    asyncio.run(race())

    assert (tmp_path / "job-1").read_bytes() == b"B" * 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job-1"]


def test_a_document_is_named_only_when_published_and_unnamed_again_by_its_abort(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path, "this-instance")

    async def write_publish_abort() -> list[str]:
        writer = spool.writer("job-2", "token")
        await writer.write(b"document")
        await writer.close()
        before = sorted(p.name for p in tmp_path.iterdir())
        writer.publish(None)  # type: ignore[arg-type]
        await writer.abort()  # the commit failed after all: no row, so no document
        return before

    assert asyncio.run(write_publish_abort()) == ["job-2.token.part"]
    assert list(tmp_path.iterdir()) == []
