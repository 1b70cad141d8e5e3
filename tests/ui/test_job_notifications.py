"""The job notifications against a real HTTP facade that follows the contract.

The fake facade answers ``GET /jobs`` with the jobs a test puts there, exactly as the real one
shapes them (JobInfo); what the tray announces is read from what it passed to
``QSystemTrayIcon.showMessage``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from tests.ui.conftest import dispose, wait_until
from tests.ui.fake_facade import FakeFacade
from ui.facade import Facade
from ui.notifications import JobNotices
from ui.preferences import Preferences
from ui.tray import TrayApp

OFFLINE = {"state": "offline", "server": "https://print.example.org", "reason": "connect timeout"}


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


def test_a_job_held_on_a_direct_port_is_released_by_its_owner_server_or_no_server(
    watched: tuple[TrayApp, Shown], facade_server: FakeFacade
) -> None:
    """No printer releases it (job-hold-until=indefinite on a port that prints at once), and
    no server is needed to: its owner does, with Release-Job or pullprint release."""
    tray, shown = watched
    facade_server.status["channel"] = dict(OFFLINE)
    polled(tray)
    facade_server.add_job(name="minutes.pdf", printer="office", port_kind="direct")
    wait_until(lambda: shown.texts, "a notification")
    assert shown.texts == [
        "“minutes.pdf” is held on office until you release it "
        "(Release-Job, or pullprint release 1 -P office)."
    ]


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
    job = {"id": "job-7", "ipp_job_id": 7, "name": "x.pdf", "state": "completed"}
    job["state_reasons"] = []
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
        "id": "0b4e7c9a-3f1d-4c55-9a0e-5d2f8e6b1a77",
        "ipp_job_id": 1,
        "name": "x.pdf",
        "state": "processing-stopped",
        "state_reasons": ["printer-stopped"],
        "state_message": "10.0.0.7:9100 does not answer; will retry",
        "created_at": 10.0,
    }
    held = {"id": "9d0c2b1e-6a7f-4e3b-8c5d-1f2e3a4b5c6d", "ipp_job_id": 2, "name": "y.pdf"}
    held |= {"state": "pending-held", "created_at": 10.0}
    held["state_reasons"] = ["job-hold-until-specified"]
    unauthorized = {"channel": {"state": "waiting-authorization", "server": "s", "reason": ""}}
    notices = JobNotices(started_at=0.0).update([stopped, held], unauthorized)
    assert [(n.job_id, n.kind, n.text, n.error) for n in notices] == [
        (
            stopped["id"],
            "waiting",
            "“x.pdf” is waiting: the printer does not answer "
            "(10.0.0.7:9100 does not answer; will retry).",
            True,
        ),
        (
            held["id"],
            "waiting",
            "“y.pdf” is held, but cannot be released now: "
            "this computer is waiting for an administrator's authorization.",
            True,
        ),
    ]
