"""The selected job's trace in My jobs' details, from GET /jobs/{id}/trace of a fake facade that
answers as the real one (JobTrace)."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from tests.ui.conftest import wait_until
from tests.ui.fake_facade import FakeFacade
from tests.ui.test_jobs import opened
from ui import i18n
from ui.dialogs.jobs import JobsDialog
from ui.facade import Facade


def event(event: str, detail: str, at: float | None = None) -> dict[str, Any]:
    return {"at": at or time.time(), "event": event, "detail": detail}


def test_the_details_show_the_selected_jobs_trace_and_follow_it(
    qapp: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    job = facade_server.add_job(
        name="report.pdf", state="processing-stopped", state_reasons=["printer-stopped"]
    )
    facade_server.traces[job["id"]] = [
        event("captured", "on floor1 from tester: 'report.pdf', 52431 bytes application/pdf"),
        event("stored", "document and job committed to disk (sha256 0123456789ab...)"),
        event("attempt", "attempt 1"),
        event("route", "wait: floor1 at 10.0.0.5:9100 did not answer within 2 s"),
        event("attempt-failed", "attempt 1: 10.0.0.5:9100 does not answer; next try in 1 s"),
    ]
    with opened(JobsDialog(facade, refresh_ms=100)) as dialog:
        wait_until(lambda: "Attempt failed" in dialog.trace.text(), "the trace shown")
        shown = dialog.trace.text()
        assert "Trace" in shown and "Captured" in shown and "Route" in shown
        assert "wait: floor1 at 10.0.0.5:9100 did not answer within 2 s" in shown
        assert shown.index("Captured") < shown.index("Attempt failed")

        # The printer is reset and the job prints: the row changes, and so does its trace.
        facade_server.traces[job["id"]] += [
            event("reset", "printer floor1 reset by root: retrying now"),
            event("delivered", "printed at floor1 (raw 10.0.0.5:9100); attempt 2"),
        ]
        facade_server.set_job(job["id"], state="completed", route="direct")
        wait_until(lambda: "Delivered" in dialog.trace.text(), "the trace followed the job")
        assert "Printer reset" in dialog.trace.text()


def test_a_trace_that_cannot_be_read_says_so_and_unknown_events_show_as_they_came(
    qapp: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    first = facade_server.add_job(name="one.pdf")
    second = facade_server.add_job(name="two.pdf")
    facade_server.traces[second["id"]] = [event("some-new-event", "from a newer service")]
    facade_server.fail[f"/jobs/{first['id']}/trace"] = 500
    with opened(JobsDialog(facade)) as dialog:  # the newest (two.pdf) is selected first
        wait_until(lambda: "some-new-event" in dialog.trace.text(), "the unknown event")
        dialog.table.selectRow(1)
        wait_until(lambda: "could not be read" in dialog.trace.text(), "the failure said")


def test_the_trace_speaks_the_trays_language(
    qapp: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    job = facade_server.add_job(name="bericht.pdf")
    facade_server.traces[job["id"]] = [event("held", "waiting for release at a printer")]
    i18n.set_language("de")
    with opened(JobsDialog(facade)) as dialog:
        wait_until(lambda: "waiting for release" in dialog.trace.text(), "the trace shown")
        assert "Held for release" not in dialog.trace.text()
