"""My jobs and the job notifications against a real HTTP facade that follows the contract.

The fake facade answers ``GET /jobs`` with the jobs a test puts there, exactly as the real one
shapes them (JobInfo); what the tray shows is read from the window and from what it passed to
``QSystemTrayIcon.showMessage``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from PySide6.QtWidgets import QPushButton

from tests.ui.conftest import dispose, wait_until
from tests.ui.fake_facade import FakeFacade
from ui import i18n
from ui.dialogs.jobs import ACTION, JobsDialog
from ui.facade import Facade
from ui.notifications import JobNotices
from ui.preferences import Preferences
from ui.tray import TrayApp

OFFLINE = {"state": "offline", "server": "https://print.example.org", "reason": "connect timeout"}


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


class Shown:
    """Records what the tray hands to ``QSystemTrayIcon.showMessage``."""

    def __init__(self, tray: TrayApp) -> None:
        self.messages: list[tuple[str, str]] = []
        original = tray.icon.showMessage

        def show(title: str, text: str, *args: Any) -> None:
            self.messages.append((title, text))
            original(title, text, *args)

        tray.icon.showMessage = show

    @property
    def texts(self) -> list[str]:
        return [text for _title, text in self.messages]


@pytest.fixture
def preferences(tmp_path: Path) -> Preferences:
    return Preferences(tmp_path / "tray.ini")


@pytest.fixture
def watched(qapp: Any, facade: Facade, preferences: Preferences) -> Iterator[tuple[TrayApp, Shown]]:
    """A started tray polling every 100 ms with its own preferences file, and what it showed."""
    tray = TrayApp(facade, poll_interval_ms=100, preferences=preferences)
    shown = Shown(tray)
    tray.start()
    wait_until(lambda: tray.polls > 0, "the first poll answered")
    yield tray, shown
    tray.timer.stop()
    wait_until(lambda: tray.background.pending == 0, "background calls finished")
    tray.stop()
    for dialog in list(tray.dialogs.values()):
        dialog.close()
    dispose(tray.menu, tray)


def polled(tray: TrayApp) -> None:
    """Wait for a poll that started after now, so it saw the fake's latest jobs."""
    seen = tray.polls
    wait_until(lambda: tray.polls >= seen + 2, "the tray polled again")


# -- My jobs -------------------------------------------------------------------------------------


def test_my_jobs_lists_the_callers_jobs_newest_first_in_the_facades_states(
    qapp: Any, facade: Facade, facade_server: FakeFacade
) -> None:
    facade_server.add_job(name="held.pdf")
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
            ("Job 3", "Stopped", True),
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


def test_my_jobs_in_german(qapp: Any, facade: Facade, facade_server: FakeFacade) -> None:
    facade_server.add_job()
    i18n.set_language("de")
    with opened(JobsDialog(facade)) as dialog:
        assert dialog.windowTitle() == "Meine Aufträge"
        assert rows(dialog)[0]["state"] == "Zurückgehalten"
        assert dialog.cancel_button(1).text() == "Abbrechen"


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
            f"Could not cancel “quick.pdf”: job {job['id']} is already completed"
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


# -- notifications -------------------------------------------------------------------------------


def test_each_state_is_announced_once_in_its_words(
    watched: tuple[TrayApp, Shown], facade_server: FakeFacade
) -> None:
    tray, shown = watched
    job = facade_server.add_job(name="report.pdf")
    wait_until(lambda: shown.texts, "a notification")
    assert shown.texts == ["“report.pdf” is held. Release it at a printer."]
    assert shown.messages[0][0] == "pullprint"

    facade_server.set_job(job["id"], state="processing", state_reasons=["job-printing"])
    polled(tray)
    facade_server.set_job(
        job["id"],
        state="processing-stopped",
        state_reasons=["service-off-line"],
        state_message="no gateway reachable: print.example.org:7300: connection refused",
    )
    wait_until(lambda: len(shown.texts) == 2, "the waiting notification")
    assert shown.texts[1] == (
        "“report.pdf” is waiting: the server is not reachable "
        "(no gateway reachable: print.example.org:7300: connection refused)."
    )
    # Delivery retries: processing, stopped again, ... is still the one waiting notice.
    for state in ("processing", "processing-stopped", "processing", "processing-stopped"):
        facade_server.set_job(job["id"], state=state)
        polled(tray)
    facade_server.set_job(job["id"], state="completed", state_reasons=["none"])
    wait_until(lambda: len(shown.texts) == 3, "the printed notification")
    assert shown.texts[2] == "“report.pdf” was printed."
    for _ in range(3):
        polled(tray)
    assert len(shown.texts) == 3


def test_failed_and_canceled_say_why_and_own_cancels_are_not_announced(
    watched: tuple[TrayApp, Shown], facade_server: FakeFacade
) -> None:
    tray, shown = watched
    failing = facade_server.add_job(name="a.pdf", state="processing", state_reasons=[])
    expired = facade_server.add_job(name="b.pdf", state="pending", state_reasons=[])
    mine = facade_server.add_job(name="c.pdf", state="pending", state_reasons=[])
    incoming = facade_server.add_job(name="d.pdf", state_reasons=["job-incoming"])
    polled(tray)
    assert shown.texts == []  # pending, processing and a document still arriving: no news
    facade_server.set_job(
        failing["id"],
        state="aborted",
        state_reasons=["document-format-error"],
        state_message="ipp://printer:631/ipp/print: client-error-document-format-not-supported",
    )
    facade_server.set_job(
        expired["id"],
        state="canceled",
        state_reasons=["job-canceled-by-operator"],
        state_message="canceled on the server",
    )
    facade_server.set_job(mine["id"], state="canceled", state_reasons=["job-canceled-by-user"])
    facade_server.set_job(incoming["id"], state="canceled", state_reasons=["aborted-by-system"])
    wait_until(lambda: shown.texts, "the notifications")
    polled(tray)
    # One message for the poll that saw them, a line per job.
    assert shown.texts == [
        "“a.pdf” could not be printed: "
        "ipp://printer:631/ipp/print: client-error-document-format-not-supported\n"
        "“b.pdf” was canceled: canceled on the server\n"
        "“d.pdf” was canceled: aborted-by-system"
    ]


def test_held_while_the_server_is_unreachable_says_so_with_the_reason(
    watched: tuple[TrayApp, Shown], facade_server: FakeFacade
) -> None:
    tray, shown = watched
    facade_server.status["channel"] = dict(OFFLINE)
    polled(tray)
    facade_server.add_job(name="report.pdf")
    wait_until(lambda: shown.texts, "a notification")
    assert shown.texts == [
        "“report.pdf” is held, but cannot be released now: "
        "the server https://print.example.org is not reachable (connect timeout)."
    ]
    # Back online: now it can be released, which is news too; only once.
    facade_server.status["channel"] = {"state": "online", "server": "x", "reason": ""}
    wait_until(lambda: len(shown.texts) == 2, "the held notification")
    assert shown.texts[1] == "“report.pdf” is held. Release it at a printer."
    facade_server.status["channel"] = dict(OFFLINE)
    polled(tray)
    facade_server.status["channel"] = {"state": "online", "server": "x", "reason": ""}
    polled(tray)
    assert len(shown.texts) == 2


def test_what_was_there_at_login_is_not_announced_but_its_changes_are(
    qapp: Any, facade: Facade, facade_server: FakeFacade, preferences: Preferences
) -> None:
    yesterday = time.time() - 86_400
    old_done = facade_server.add_job(
        name="old.pdf", state="completed", created_at=yesterday, completed_at=yesterday + 60
    )
    old_held = facade_server.add_job(name="held.pdf", created_at=yesterday)
    tray = TrayApp(facade, poll_interval_ms=100, preferences=preferences)
    shown = Shown(tray)
    tray.start()
    try:
        wait_until(lambda: tray.polls > 0, "the first poll answered")
        polled(tray)
        assert shown.texts == []
        facade_server.set_job(old_held["id"], state="completed", state_reasons=[])
        wait_until(lambda: shown.texts, "the printed notification")
        assert shown.texts == ["“held.pdf” was printed."]
        assert old_done["state"] == "completed"
    finally:
        tray.timer.stop()
        wait_until(lambda: tray.background.pending == 0, "background calls finished")
        tray.stop()
        dispose(tray.menu, tray)


def test_a_job_that_ended_after_start_but_before_the_first_answer_is_announced() -> None:
    notices = JobNotices(started_at=1000.0)
    job = {"id": 7, "name": "x.pdf", "state": "completed", "state_reasons": []}
    assert notices.update([job | {"created_at": 990.0, "completed_at": 1005.0}], None) != []
    again = JobNotices(started_at=1000.0)
    assert again.update([job | {"created_at": 990.0, "completed_at": 995.0}], None) == []


def test_notifications_can_be_switched_off_and_that_is_remembered(
    watched: tuple[TrayApp, Shown], facade_server: FakeFacade, preferences: Preferences
) -> None:
    tray, shown = watched
    assert tray.notifications_action.isCheckable() and tray.notifications_action.isChecked()
    tray.notifications_action.trigger()
    assert not tray.notifications_action.isChecked()
    assert Preferences(Path(preferences.path)).notifications is False
    job = facade_server.add_job(name="quiet.pdf")
    polled(tray)
    facade_server.set_job(job["id"], state="completed", state_reasons=[])
    polled(tray)
    assert shown.texts == []
    # Switched on again: what happened meanwhile is not replayed; the next change is news.
    tray.notifications_action.trigger()
    assert Preferences(Path(preferences.path)).notifications is True
    polled(tray)
    assert shown.texts == []
    facade_server.add_job(name="loud.pdf")
    wait_until(lambda: shown.texts, "a notification")
    assert shown.texts == ["“loud.pdf” is held. Release it at a printer."]


def test_a_new_tray_starts_with_the_users_choice(
    qapp: Any, facade: Facade, preferences: Preferences
) -> None:
    preferences.notifications = False
    tray = TrayApp(facade, preferences=Preferences(Path(preferences.path)))
    try:
        assert not tray.notifications_action.isChecked()
    finally:
        tray.stop()
        dispose(tray.menu, tray)


def test_waiting_says_what_the_job_waits_for() -> None:
    stopped = {
        "id": 1,
        "name": "x.pdf",
        "state": "processing-stopped",
        "state_reasons": ["printer-stopped"],
        "state_message": "10.0.0.7:9100 does not answer; will retry",
        "created_at": 10.0,
    }
    held = {"id": 2, "name": "y.pdf", "state": "pending-held", "created_at": 10.0}
    held["state_reasons"] = ["job-hold-until-specified"]
    unauthorized = {"channel": {"state": "waiting-authorization", "server": "s", "reason": ""}}
    notices = JobNotices(started_at=0.0).update([stopped, held], unauthorized)
    assert [(n.job_id, n.kind, n.text, n.error) for n in notices] == [
        (
            1,
            "waiting",
            "“x.pdf” is waiting: the printer does not answer "
            "(10.0.0.7:9100 does not answer; will retry).",
            True,
        ),
        (
            2,
            "waiting",
            "“y.pdf” is held, but cannot be released now: "
            "this computer is waiting for an administrator's authorization.",
            True,
        ),
    ]
