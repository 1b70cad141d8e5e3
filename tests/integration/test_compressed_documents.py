"""Compressed documents (RFC 8011 ``compression``, issue 21): gzip and deflate are inflated as
they arrive, so the job, its sha256 and the printer get the document itself; a broken or cut
stream is refused and leaves nothing behind."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib

from services.core.ipp import Operation, Status, Tag
from support.printers import direct_printer
from support.waiting import wait_for


def deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)  # RFC 1951, as ipptool sends it
    return packer.compress(data) + packer.flush()


def test_gzip_and_deflate_documents_reach_the_printer_inflated(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    # Larger than one inflate step, and compressible far past the chunk a request carries.
    document = os.urandom(300_000) + b"\0" * 3_000_000
    attrs = client.ipp(Operation.GET_PRINTER_ATTRIBUTES).group(Tag.PRINTER)
    assert attrs.attributes["compression-supported"].values == ["deflate", "gzip", "none"]

    for coding, packed in (("gzip", gzip.compress(document)), ("deflate", deflate(document))):
        reply = client.ipp(Operation.PRINT_JOB, compression=(Tag.KEYWORD, coding), document=packed)
        assert reply.code == Status.OK, reply.operation.get("status-message")

    wait_for(lambda: len(raw_printer.jobs()) == 2, what="both jobs printed")
    assert [p.read_bytes() == document for p in raw_printer.jobs()] == [True, True]
    digest = hashlib.sha256(document).hexdigest()
    assert [(j.size, j.sha256) for j in client.jobs()] == [(len(document), digest)] * 2


def test_a_broken_or_cut_compressed_document_is_refused_and_leaves_nothing(
    make_client, raw_printer
):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")
    client.wait_printer()
    whole = gzip.compress(b"%PDF-1.4 a page\n" * 1000)

    for packed, message in (
        (b"not gzip at all", "the document is not gzip data"),
        (whole[: len(whole) // 2], "the gzip document ends early"),
    ):
        reply = client.ipp(Operation.PRINT_JOB, compression=(Tag.KEYWORD, "gzip"), document=packed)
        assert reply.code == Status.CLIENT_ERROR_COMPRESSION_ERROR
        assert reply.operation.get("status-message") == message
    unknown = client.ipp(Operation.PRINT_JOB, compression=(Tag.KEYWORD, "compress"), document=b"x")
    assert unknown.code == Status.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED

    assert client.jobs() == [] and client.spool_files() == []
    assert "Traceback" not in client.logs()


def test_a_document_inflating_past_max_job_size_is_refused_and_leaves_nothing(
    make_client, raw_printer
):
    """A few kilobytes of gzip can inflate to gigabytes: max_job_size counts inflated bytes."""
    client = make_client([direct_printer(raw_printer)], max_job_size=1_000_000)
    client.start("sync", "spooler")
    client.wait_printer()
    bomb = gzip.compress(b"\0" * 50_000_000)

    reply = client.ipp(Operation.PRINT_JOB, compression=(Tag.KEYWORD, "gzip"), document=bomb)

    assert len(bomb) < 100_000
    assert reply.code == Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    assert client.jobs() == [] and client.spool_files() == []
