"""A real CUPS queue prints through us: a private cupsd, a queue created with
``lpadmin -v ipp://127.0.0.1:PORT/printers/office`` and ``lp`` (issue 5, "Done when").

This is the path applications take (DESIGN.md 1): CUPS' ipp backend is the IPP client, so these
tests catch what ipptool's suites do not, such as the operations and attributes the backend
relies on and the IPP Everywhere PPD that ``-m everywhere`` builds from our printer attributes.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from protocol.states import JobState
from services.core.store import Job
from support.client import Client
from support.cups import PrivateCups
from support.printers import VirtualPrinter, direct_printer
from support.waiting import wait_for
from tests.documents import minimal_pdf, sha256_file
from tests.peers import printer_attributes, private_cupsd

# What CUPS 2.4's IPP Everywhere PPD generator (cups/ppd-cache.c, _ppdCreateFromIPP) reads to
# decide whether it can build a PPD; shown when it refuses, since its own message ("Printer does
# not support required IPP attributes or document formats") names none. It needs application/pdf,
# image/urf or image/pwg-raster among the formats; media sizes (media-col-database or PWG names
# in media-supported); and, when image/urf or image/pwg-raster is listed, urf-supported with an
# RSnnn value or pwg-raster-document-resolution-supported.
EVERYWHERE_INPUTS = (
    "document-format-supported",
    "urf-supported",
    "pwg-raster-document-resolution-supported",
    "pwg-raster-document-type-supported",
    "media-col-database",
    "media-supported",
    "media-default",
    "printer-resolution-default",
    "printer-resolution-supported",
    "print-quality-supported",
)


@pytest.fixture
def cups() -> Iterator[PrivateCups]:
    """A private cupsd for this test only (skips with the reason when it cannot run here)."""
    with private_cupsd() as cups:
        yield cups


@pytest.fixture
def client(make_client: Callable[..., Client], raw_printer: VirtualPrinter) -> Client:
    """sync + spooler + delivery serving the direct port ``office`` that prints to the raw
    virtual printer."""
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    return client


def spooler_uri(client: Client) -> str:
    """The device URI CUPS is given: our printer object for the port ``office``."""
    return f"ipp://127.0.0.1:{client.spooler_port}/printers/office"


def add_queue(cups: PrivateCups, client: Client, queue: str, *model: str) -> None:
    """``lpadmin -p QUEUE -E -v OUR_URI [MODEL...]``; no model makes a raw queue."""
    result = cups.run("lpadmin", "-p", queue, "-E", "-v", spooler_uri(client), *model)
    assert result.returncode == 0, f"lpadmin: {result.stderr}\n{cups.logs()}"


def submit(cups: PrivateCups, queue: str, document: Path, *options: str) -> str:
    """``lp -d QUEUE [OPTIONS] FILE``; the CUPS job id (``q1-1``)."""
    result = cups.run("lp", "-d", queue, *options, str(document))
    assert result.returncode == 0, f"lp: {result.stderr}\n{cups.logs()}"
    # "request id is q1-1 (1 file(s))"
    return result.stdout.split("request id is ", 1)[1].split()[0]


def cups_completed(cups: PrivateCups, queue: str) -> set[str]:
    """The job ids CUPS lists as completed on ``queue``: its ipp backend finished them."""
    result = cups.run("lpstat", "-W", "completed", "-o", queue)
    return {line.split()[0] for line in result.stdout.splitlines() if line.strip()}


def wait_delivered(
    client: Client, printer: VirtualPrinter, cups: PrivateCups, cups_job: str
) -> tuple[Job, Path]:
    """Wait until CUPS finished ``cups_job``, our store completed it and the printer has it;
    return our job and the printed file."""
    queue = cups_job.rsplit("-", 1)[0]
    wait_for(
        lambda: cups_job in cups_completed(cups, queue),
        60,
        f"CUPS to finish {cups_job}; error_log:\n" + "\n".join(cups.error_lines()[-30:]),
    )
    [job] = wait_for(lambda: client.jobs(), 30, "the job in our store")
    wait_for(lambda: client.job_state(job.id) == JobState.COMPLETED, 60, f"job {job.id} done")
    [printed] = wait_for(printer.jobs, 30, "the document at the printer")
    return client.jobs()[0], printed


def random_document(path: Path, size: int = 64 * 1024) -> Path:
    """Bytes no filter recognises, so CUPS types them application/octet-stream."""
    path.write_bytes(os.urandom(size))
    return path


@pytest.mark.parametrize(
    ("name", "options", "document_format"),
    [
        ("report.pdf", ("-o", "raw"), "application/octet-stream"),
        ("report.pdf", (), "application/pdf"),
        ("blob.bin", (), "application/octet-stream"),
    ],
    ids=["pdf-o-raw", "pdf", "binary"],
)
def test_raw_queue_prints_through_us_unchanged(
    name: str,
    options: tuple[str, ...],
    document_format: str,
    cups: PrivateCups,
    client: Client,
    raw_printer: VirtualPrinter,
    tmp_path: Path,
) -> None:
    """A raw CUPS queue pointing at our printer passes the document through byte for byte,
    with or without ``-o raw``, and the owner and name CUPS sends end up on our job."""
    document = tmp_path / name
    if name.endswith(".pdf"):
        document.write_bytes(minimal_pdf("through cups"))
    else:
        random_document(document)
    add_queue(cups, client, "q1")

    cups_job = submit(cups, "q1", document, *options)

    job, printed = wait_delivered(client, raw_printer, cups, cups_job)
    digest = sha256_file(document)
    assert sha256_file(printed) == digest
    assert (job.sha256, job.size) == (digest, document.stat().st_size)
    assert (job.owner, job.name, job.format) == (getpass.getuser(), name, document_format)


def test_everywhere_queue_gets_a_ppd_from_our_attributes_and_prints(
    cups: PrivateCups, client: Client, raw_printer: VirtualPrinter, tmp_path: Path
) -> None:
    """``lpadmin -m everywhere`` makes cupsd build a PPD from our Get-Printer-Attributes (in
    the background: lpadmin returns before it is done). It must succeed, or desktops cannot
    add our queue the driverless way; then a PDF printed with the PPD's filters reaches the
    printer as a PDF, and ``-o raw`` still passes bytes through unchanged."""
    add_queue(cups, client, "q1", "-m", "everywhere")
    ppd = cups.root / "etc" / "ppd" / "q1.ppd"

    def ppd_outcome() -> list[str] | bool:
        return cups.error_lines(r"q1: PPD creation failed|Unable to create PPD") or (
            ppd.exists() and ppd.stat().st_size > 0 and "*PPD-Adobe" in ppd.read_text()[:200]
        )

    outcome = wait_for(ppd_outcome, 60, "cupsd to build or refuse the everywhere PPD")
    attributes = printer_attributes(spooler_uri(client))
    assert outcome is True, (
        "cupsd could not build an IPP Everywhere PPD from our printer attributes:\n"
        + "\n".join(outcome)
        + "\nwhat CUPS 2.4's generator reads, as we serve it:\n"
        + "\n".join(f"  {n} = {attributes.get(n, '(absent)')}" for n in EVERYWHERE_INPUTS)
    )

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(minimal_pdf("everywhere"))
    cups_job = submit(cups, "q1", pdf)
    job, printed = wait_delivered(client, raw_printer, cups, cups_job)
    assert job.format == "application/pdf"
    assert printed.read_bytes().startswith(b"%PDF")

    raw_job = submit(cups, "q1", pdf, "-o", "raw")
    wait_for(lambda: raw_job in cups_completed(cups, "q1"), 60, f"CUPS to finish {raw_job}")
    wait_for(lambda: len(raw_printer.jobs()) == 2, 60, "the raw job at the printer")
    assert sha256_file(raw_printer.jobs()[1]) == sha256_file(pdf)


def test_each_os_user_printing_through_a_cups_queue_owns_their_job(
    cups: PrivateCups,
    client: Client,
    raw_printer: VirtualPrinter,
    two_users: tuple[str, str],
) -> None:
    """Two real OS users print with ``lp`` to one CUPS queue: CUPS's backend (lp or root) prints
    for them, and each job is recorded as its user's (issue 19: the spooler trusts the name
    only from the backend, and the legitimate path must keep working)."""
    add_queue(cups, client, "q1")
    shared = Path(tempfile.mkdtemp(prefix="pp-lp-"))
    shared.chmod(0o755)
    try:
        for user in two_users:
            document = random_document(shared / f"{user}.bin", 4096)
            document.chmod(0o644)
            result = subprocess.run(
                ["runuser", "-u", user, "--", "lp", "-h", cups.server, "-d", "q1", str(document)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, f"lp as {user}: {result.stderr}\n{cups.logs()}"
        jobs = wait_for(lambda: len(client.jobs()) == 2 and client.jobs(), 60, "both jobs")
        wait_for(lambda: len(raw_printer.jobs()) == 2, 60, "both jobs at the printer")
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    assert sorted((job.owner, job.name) for job in jobs) == sorted(
        (user, f"{user}.bin") for user in two_users
    )
