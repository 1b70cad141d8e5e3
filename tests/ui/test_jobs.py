"""My jobs against a real HTTP facade that follows the contract.

The fake facade answers ``GET /jobs`` with the jobs a test puts there, exactly as the real one
shapes them (JobInfo: ``id`` the uuid the tray asks about, ``ipp_job_id`` the number people are
shown); what the tray shows is read from the window. The notifications are
test_job_notifications.py's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from PySide6.QtWidgets import QPushButton

from tests.ui.conftest import wait_until
from tests.ui.fake_facade import FakeFacade
from ui import i18n
from ui.dialogs.jobs import ACTION, JobsDialog
from ui.facade import Facade
from ui.tray import TrayApp


@contextmanager
def opened(dialog: JobsDialog) -> Iterator[JobsDialog]:
    """The window shown (it refreshes only while it is), and closed afterwards."""
    dialog.show()
    try:
        yield dialog
    finally:
        dialog.reject()
        # A refresh already sent still answers; let it land before the test's client closes.
        wait_until(lambda: not dialog.loading, "the last refresh answered")


def rows(dialog: JobsDialog) -> list[dict[str, Any]]:
    """What each row shows, by column name, and whether it offers Cancel."""
    names = ("name", "state", "printer", "route", "submitted", "size")
    shown = []
    for row in range(dialog.table.rowCount()):
        cells = {name: dialog.table.item(row, column).text() for column, name in enumerate(names)}
        cells["cancel"] = isinstance(dialog.table.cellWidget(row, ACTION), QPushButton)
        shown.append(cells)
    return shown


# -- My jobs -------------------------------------------------------------------------------------


def test_my_jobs_lists_the_callers_jobs_newest_first_in_the_facades_states(
    qapp: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    held = facade_server.add_job(name="held.pdf")
    facade_server.add_job(
        name="done.pdf",
        state="completed",
        route="direct",
        state_reasons=["job-completed-successfully"],
        completed_at=time.time(),
    )
    facade_server.add_job(
        name="",
        state="processing-stopped",
        route="gateway",
        state_reasons=["service-off-line"],
        state_message="no gateway reachable: print.example.org:7300: refused",
    )
    facade_server.add_job(name="odd.pdf", state="some-future-state", state_reasons=[])
    with opened(JobsDialog(facade)) as dialog:
        shown = rows(dialog)
        assert [(r["name"], r["state"], r["cancel"]) for r in shown] == [
            ("odd.pdf", "some-future-state", False),  # unknown: as the facade said, no guess
            ("Job 3", "Stopped", True),  # unnamed: the number lp showed, its ipp_job_id
            ("done.pdf", "Completed", False),
            ("held.pdf", "Held", True),
        ]
        assert shown[1]["route"] == "via the gateway"
        assert shown[3]["route"] == "–" and shown[3]["printer"] == "hall"
        assert shown[3]["size"] == "52.4 kB"
        # The selected row's facts, with the facade's keyword, reasons and message.
        dialog.table.selectRow(1)
        facts = dialog.facts.text()
        assert "Stopped (processing-stopped: service-off-line)" in facts
        assert "no gateway reachable" in facts
        assert dialog.table.item(1, 1).toolTip().startswith("Stopped (processing-stopped")
        # People see the number and the uuid side by side; the facade is asked by the uuid.
        dialog.table.selectRow(3)
        assert f"1 ({held['id']})" in dialog.facts.text()
        wait_until(lambda: not dialog.loading, "the trace read")
        assert ("GET", f"/jobs/{held['id']}/trace", None) in facade_server.calls


def test_my_jobs_in_german(qapp: Any, facade: Facade, facade_server: FakeFacade) -> None:
    job = facade_server.add_job()
    i18n.set_language("de")
    with opened(JobsDialog(facade)) as dialog:
        assert dialog.windowTitle() == "Meine Aufträge"
        assert rows(dialog)[0]["state"] == "Zurückgehalten"
        assert dialog.cancel_button(job["id"]).text() == "Abbrechen"


def test_cancel_in_my_jobs_cancels_at_the_facade_and_shows_its_answer(
    qapp: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    held = facade_server.add_job(name="held.pdf")
    with opened(JobsDialog(facade)) as dialog:
        dialog.cancel_button(held["id"]).click()
        assert ("POST", f"/jobs/{held['id']}/cancel", None) in facade_server.changes()
        assert rows(dialog)[0]["state"] == "Canceled"
        assert not rows(dialog)[0]["cancel"]
        assert dialog.message.text() == "“held.pdf” is canceled."


def test_cancel_of_a_job_that_finished_meanwhile_says_why(
    qapp: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    job = facade_server.add_job(name="quick.pdf", state="processing", state_reasons=[])
    # No timed refresh before the click: the window still shows the job as processing.
    with opened(JobsDialog(facade, refresh_ms=60_000)) as dialog:
        facade_server.set_job(job["id"], state="completed")
        dialog.cancel_button(job["id"]).click()
        assert dialog.message.text() == (
            f"Could not cancel “quick.pdf”: job {job['ipp_job_id']} is already completed"
        )
        # The refresh after the refusal shows why.
        wait_until(lambda: rows(dialog)[0]["state"] == "Completed", "the refresh shows it")


def test_my_jobs_follows_the_facade_while_open(
    qapp: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    job = facade_server.add_job(name="held.pdf")
    with opened(JobsDialog(facade, refresh_ms=100)) as dialog:
        facade_server.set_job(job["id"], state="processing", state_reasons=["job-printing"])
        wait_until(lambda: rows(dialog)[0]["state"] == "Processing", "processing shown")
        facade_server.set_job(job["id"], state="completed", route="direct")
        wait_until(lambda: rows(dialog)[0]["state"] == "Completed", "completed shown")
        assert not rows(dialog)[0]["cancel"]
        facade_server.add_job(name="next.pdf")
        wait_until(lambda: len(rows(dialog)) == 2, "the new job shown")
        assert rows(dialog)[0]["name"] == "next.pdf"


def test_my_jobs_says_when_the_list_is_not_current(
    qapp: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    facade_server.add_job(name="held.pdf")
    with opened(JobsDialog(facade, refresh_ms=100)) as dialog:
        facade_server.stop()
        wait_until(lambda: not dialog.current, "the failed refresh noticed")
        assert dialog.message.text().startswith("Not up to date: the job list could not be read")
        assert not dialog.table.isEnabled()
        assert not rows(dialog)[0]["cancel"]  # nothing to cancel without the facade
        facade_server.start()
        wait_until(lambda: dialog.current, "the list current again")
        assert rows(dialog)[0]["cancel"] and dialog.message.isHidden()


def test_my_jobs_with_no_jobs_says_so(qapp: Any, facade: Facade) -> None:
    with opened(JobsDialog(facade)) as dialog:
        assert dialog.table.rowCount() == 0
        assert dialog.message.text() == "You have no print jobs."


def test_menu_item_opens_my_jobs(tray: TrayApp) -> None:
    assert tray.menu.actions().index(tray.jobs_action) <= 2  # near the top
    assert tray.jobs_action.text() == "My jobs…" and tray.jobs_action.isEnabled()
    tray.jobs_action.trigger()
    assert isinstance(tray.dialogs.get("jobs"), JobsDialog)
