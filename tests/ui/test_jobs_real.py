"""My jobs and the owner's notifications against the real facade and spooler (issue 12).

A serverless client with a pull printer: jobs printed to it stay held. The tray reaches the
facade as the OS user ``nobody`` (through tests/os_users.py: the facade takes the caller from the
kernel, never from the request), and the spooler makes the job's owner its
``requesting-user-name``. So a job printed as ``nobody`` is the tray user's, and one printed as
``alice`` is another user's, which the facade does not list to ``nobody``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed (pip install pytest-qt)")

from protocol.states import JobState
from services.core.ipp import Group, Operation, Tag
from support.printers import direct_printer
from support.waiting import wait_for
from tests.os_users import can_switch_user, relay_as
from tests.ui.conftest import dispose
from tests.ui.real_service import ALL_SERVICES, WAIT_MS, Installation, close_tray, installation
from tests.ui.test_job_notifications import Shown
from tests.ui.test_jobs import rows
from ui.dialogs.jobs import JobsDialog
from ui.facade import Facade
from ui.preferences import Preferences
from ui.tray import TrayApp

pytestmark = pytest.mark.skipif(
    not can_switch_user(), reason="needs root to reach the facade as another OS user"
)

TRAY_USER = "nobody"
HALL = {"name": "hall", "kind": "pull"}  # serverless pull port: jobs stay held


@pytest.fixture(scope="module")
def serverless_pull() -> Iterator[Installation]:
    with installation(*ALL_SERVICES, printers=[HALL]) as inst:
        inst.wait_services_up()
        inst.client.wait_printer("hall")
        yield inst


def print_held(inst: Installation, user: str, name: str) -> tuple[int, str]:
    """The job's IPP job-id (the store's row, ``job_state``'s) and its uuid (the facade's id)."""
    reply = inst.client.ipp(
        Operation.PRINT_JOB,
        user=user,
        printer="hall",
        document=b"%PDF-1.4 " + name.encode(),
        job_name=(Tag.NAME, name),
    )
    job = reply.group(Tag.JOB)
    return job.get("job-id"), job.get("job-uuid").removeprefix("urn:uuid:")


def test_own_held_job_is_announced_listed_and_canceled_and_another_users_is_not(
    qtbot: Any, qapp: Any, serverless_pull: Installation, tmp_path: Path
) -> None:
    inst = serverless_pull
    with relay_as(TRAY_USER, inst.client.api_port) as url:
        facade = Facade(url)
        session = facade.session()
        assert session.ok and session.data["user"] == TRAY_USER  # what the kernel said
        tray = TrayApp(facade, poll_interval_ms=200, preferences=Preferences(tmp_path / "t.ini"))
        shown = Shown(tray)
        tray.start()
        try:
            qtbot.waitUntil(lambda: tray.polls > 0, timeout=WAIT_MS)
            others, _ = print_held(inst, "alice", "alices-payslip.pdf")
            mine, mine_uuid = print_held(inst, TRAY_USER, "mine.pdf")

            held = "“mine.pdf” is held. Release it at a printer."
            qtbot.waitUntil(lambda: held in shown.texts, timeout=WAIT_MS)
            seen = tray.polls
            qtbot.waitUntil(lambda: tray.polls >= seen + 3, timeout=WAIT_MS)
            assert shown.texts == [held]  # alice's job: not a word
            assert inst.client.job_state(others) == JobState.PENDING_HELD  # yet it is there

            tray.jobs_action.trigger()
            dialog = tray.dialogs["jobs"]
            assert isinstance(dialog, JobsDialog)
            assert [(r["name"], r["state"], r["printer"]) for r in rows(dialog)] == [
                ("mine.pdf", "Held", "hall")
            ]
            assert dialog.jobs[0]["owner"] == TRAY_USER
            assert dialog.jobs[0]["state"] == "pending-held"
            # The real facade names it by uuid, and gives the number lp showed alongside.
            assert (dialog.jobs[0]["id"], dialog.jobs[0]["ipp_job_id"]) == (mine_uuid, mine)

            dialog.cancel_button(mine_uuid).click()
            qtbot.waitUntil(
                lambda: inst.client.job_state(mine) == JobState.CANCELED, timeout=WAIT_MS
            )
            assert rows(dialog)[0]["state"] == "Canceled"
            assert dialog.message.text() == "“mine.pdf” is canceled."
            assert inst.client.job_state(others) == JobState.PENDING_HELD
            # Canceled by its owner, who knows: no notification for that.
            seen = tray.polls
            qtbot.waitUntil(lambda: tray.polls >= seen + 3, timeout=WAIT_MS)
            assert shown.texts == [held]
        finally:
            tray.timer.stop()
            qtbot.waitUntil(lambda: tray.background.pending == 0, timeout=WAIT_MS)
            for dialog in list(tray.dialogs.values()):
                dialog.reject()
                qtbot.waitUntil(lambda d=dialog: not d.loading, timeout=WAIT_MS)
            tray.stop()
            dispose(tray.menu, tray)
            facade.close()


def test_a_job_held_on_a_direct_port_says_how_its_owner_releases_it(
    qtbot: Any, qapp: Any, raw_printer: Any, tmp_path: Path
) -> None:
    """job-hold-until=indefinite on a direct port: no printer releases it, its owner does
    (Release-Job, or ``pullprint release``), so the tray says that, and it is true."""
    office = direct_printer(raw_printer)
    with installation(*ALL_SERVICES, printers=[office]) as inst:
        inst.wait_services_up()
        inst.client.wait_printer("office")
        with relay_as(TRAY_USER, inst.client.api_port) as url:
            facade = Facade(url)
            tray = TrayApp(facade, poll_interval_ms=200, preferences=Preferences(tmp_path / "t"))
            shown = Shown(tray)
            tray.start()
            try:
                qtbot.waitUntil(lambda: tray.polls > 0, timeout=WAIT_MS)
                hold = Group(Tag.JOB).add("job-hold-until", Tag.KEYWORD, "indefinite")
                reply = inst.client.ipp(
                    Operation.PRINT_JOB,
                    user=TRAY_USER,
                    printer="office",
                    job=hold,
                    document=b"held here",
                    job_name=(Tag.NAME, "minutes.pdf"),
                )
                job_id = reply.group(Tag.JOB).get("job-id")

                held = (
                    f"“minutes.pdf” is held on office until you release it "
                    f"(Release-Job, or pullprint release {job_id} -P office)."
                )
                qtbot.waitUntil(lambda: held in shown.texts, timeout=WAIT_MS)
                assert shown.texts == [held]
            finally:
                close_tray(qtbot, tray, facade)
        released = inst.client.run_cli("release", str(job_id), "-P", "office")
        assert released.returncode == 0, released.stderr
        wait_for(lambda: inst.client.job_state(job_id) == JobState.COMPLETED, 30, "printed")
        assert [p.read_bytes() for p in raw_printer.jobs()] == [b"held here"]
