"""10,000 random and mutated IPP requests against a live spooler: every one is answered with an
IPP response (never a dropped connection or an HTTP error), and the store and spool stay
consistent: no partial file, no document without its row, no stored job without its document."""

from __future__ import annotations

import random

import httpx

from protocol.states import TERMINAL
from services.core import ipp
from services.core.ipp import Group, Operation, Tag
from support.printers import direct_printer

REQUESTS = 10_000


def seeds(uri: str) -> list[bytes]:
    """Well-formed requests of every operation we serve, as mutation starting points."""
    out = []
    for operation in Operation:
        request = ipp.request(operation, request_id=7)
        op = request.operation
        op.add("printer-uri", Tag.URI, uri)
        op.add("requesting-user-name", Tag.NAME, "fuzz")
        op.add("job-id", Tag.INTEGER, 1)
        op.add("last-document", Tag.BOOLEAN, True)
        op.add("document-format", Tag.MIME_TYPE, "application/pdf")
        op.add("requested-attributes", Tag.KEYWORD, "all", "job-id")
        job = Group(Tag.JOB)
        job.add("media-col", Tag.BEGIN_COLLECTION, {"media-type": (Tag.KEYWORD, ["plain"])})
        request.groups.append(job)
        out.append(ipp.encode(request) + b"%PDF-1.7 fuzz")
    return out


def mutate(rng: random.Random, data: bytes) -> bytes:
    raw = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice = rng.random()
        position = rng.randrange(len(raw))
        if choice < 0.5:
            raw[position] = rng.randrange(256)
        elif choice < 0.7:
            del raw[position : position + rng.randint(1, 8)]
        elif choice < 0.9:
            raw[position:position] = rng.randbytes(rng.randint(1, 8))
        else:
            raw = raw[:position]
        if not raw:
            break
    return bytes(raw)


def test_ten_thousand_random_and_mutated_requests(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")  # no delivery: every stored job stays to be checked
    client.wait_printer()
    uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/office"
    rng = random.Random(20261125)
    corpus = seeds(uri)
    statuses: dict[int, int] = {}

    with httpx.Client(base_url=f"http://127.0.0.1:{client.spooler_port}", timeout=30) as http:
        for n in range(REQUESTS):
            if n % 10 == 0:
                body = rng.randbytes(rng.randint(0, 200))
            else:
                body = mutate(rng, rng.choice(corpus))
            reply = http.post(
                "/printers/office", content=body, headers={"Content-Type": "application/ipp"}
            )
            assert reply.status_code == 200, (n, body)
            code = int.from_bytes(reply.content[2:4], "big")
            statuses[code] = statuses.get(code, 0) + 1

    # Mutations mostly produce errors, but some requests stay valid and store jobs.
    assert len(statuses) > 3
    documents = {p.name for p in client.spool_files()}
    assert not [name for name in documents if name.endswith(".part")]
    rows = {job.uuid: job for job in client.jobs()}
    assert documents <= set(rows), "a document without its row"
    for job in rows.values():
        if job.state_reasons != "job-incoming" and job.state not in TERMINAL:
            assert job.uuid in documents, f"job {job.id} lost its document"
    log = (client.root / "log" / "spooler.log").read_text()
    failures = [line[:2000] for line in log.splitlines() if "request.failed" in line]
    assert not failures, failures
