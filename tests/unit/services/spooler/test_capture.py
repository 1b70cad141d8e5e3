from __future__ import annotations

import time

from protocol.states import JobState
from services.core.store import Job, Store
from services.spooler.capture import abort_abandoned
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
