from __future__ import annotations

import time

import pytest

from protocol.states import JobState
from services.core import ipp
from services.core.capabilities import Capabilities
from services.core.ipp import Attribute, IppError, Message, Operation, Status, Tag
from services.core.store import Job, Store
from services.spooler.capture import abort_abandoned, job_template
from services.spooler.printer import PrinterObject
from services.spooler.raw import pjl_template


def test_create_job_without_document_is_aborted_after_the_timeout(tmp_path):
    store = Store(tmp_path / "pullprint.db")
    now = time.time()
    with store.session() as session:
        for n, (reasons, created) in enumerate(
            [("job-incoming", now - 500), ("job-incoming", now), ("job-hold-until-specified", 0)]
        ):
            session.add(
                Job(
                    uuid=f"{n:08d}-0000-0000-0000-000000000000",
                    printer="p",
                    owner="o",
                    size=0,
                    sha256="",
                    state=int(JobState.PENDING_HELD),
                    state_reasons=reasons,
                    created_at=created,
                    updated_at=created,
                )
            )
        session.commit()

    # Named by uuid, as the bus message the spooler then publishes names it.
    assert abort_abandoned(store, cutoff=now - 120) == ["00000000-0000-0000-0000-000000000000"]

    with store.session() as session:
        states = [session.get(Job, i).state for i in (1, 2, 3)]
    # Only the stale incoming job: a fresh one may still get its document, and a held pull
    # job waits for its release, however old.
    assert states == [JobState.ABORTED, JobState.PENDING_HELD, JobState.PENDING_HELD]
    store.dispose()


def test_pjl_header_names_owner_and_job():
    head = b'\x1b%-12345X@PJL JOB NAME="Budget 2027"\r\n@PJL SET USERNAME="dave"\r\n%PDF'
    template = pjl_template(head)
    assert (template["owner"], template["name"]) == ("dave", "Budget 2027")
    assert pjl_template(b"%PDF-1.7")["owner"] == "anonymous"


def test_a_job_without_document_format_is_the_ports_default_and_others_are_refused():
    """Checked against what the port presents, before a document byte is read: a printer
    that takes only PDF gets no JPEG (it would abort the job at delivery)."""
    pdf_only = PrinterObject(
        "office",
        "direct",
        8631,
        capabilities=Capabilities(
            {"document-format-supported": Attribute(
                "document-format-supported", Tag.MIME_TYPE, ["application/pdf"])}
        ),
    )  # fmt: skip

    assert job_template(print_job_request(), "alice", pdf_only)["format"] == "application/pdf"
    for refused in ("image/jpeg", "image/pwg-raster", "application/octet-stream"):
        with pytest.raises(IppError) as caught:
            job_template(print_job_request(refused), "alice", pdf_only)
        assert caught.value.status == Status.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED
        assert str(caught.value).endswith("office takes application/pdf")


def print_job_request(document_format: str | None = None) -> Message:
    request = ipp.request(Operation.PRINT_JOB)
    if document_format is not None:
        request.operation.add("document-format", Tag.MIME_TYPE, document_format)
    return request
