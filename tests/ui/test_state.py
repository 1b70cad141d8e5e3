"""The icon-state rules on their own, for answers the fake facade does not produce."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from tests.ui.fake_facade import IDLE_STATUS
from ui.facade import Result
from ui.icons import TrayState
from ui.state import derive_status, tooltip


def test_unreachable_facade_is_the_error_state() -> None:
    status = derive_status(Result(False, code="unreachable", message="connection refused"))
    assert status.state is TrayState.ERROR
    assert status.reason == "The pullprint service is not reachable."


def test_an_error_answer_names_the_facades_message() -> None:
    status = derive_status(Result(False, code="internal", message="database locked", status=500))
    assert status.state is TrayState.ERROR
    assert "database locked" in status.reason


def test_a_failed_sync_keeps_the_icon_idle_and_says_why_in_the_tooltip() -> None:
    answer = {**IDLE_STATUS, "sync": {"state": "failed", "reason": "server said 503"}}
    status = derive_status(Result(True, answer))
    assert status.state is TrayState.IDLE
    text = tooltip(status, "0.9.0")
    assert text.splitlines()[0] == "pullprint 0.9.0"
    assert "Last synchronization failed: server said 503" in text
    assert "Mode: local storage" in text
    assert "Delivery: stored and delivered locally" in text


def test_syncing_wins_over_offline() -> None:
    answer = {
        **IDLE_STATUS,
        "sync": {"state": "running"},
        "channel": {"state": "offline", "server": "https://print.example.org", "reason": ""},
    }
    assert derive_status(Result(True, answer)).state is TrayState.SYNCING


def test_a_configuration_being_applied_is_progress_not_an_error() -> None:
    """After Save the facade restarts processes in the background: while it does, some of them
    do not answer, and the tray shows progress instead of "Not running" (issue 20)."""
    answer = {
        **IDLE_STATUS,
        "ok": False,
        "restarting": ["channel", "delivery", "spooler"],
        "services": {"spooler": {"state": "unreachable"}, "api": {"state": "running"}},
    }
    status = derive_status(Result(True, answer))
    assert status.state is TrayState.SYNCING
    assert status.reason == "Applying the new settings…"
    # A process that is away without being restarted still is an error.
    answer["services"]["sync"] = {"state": "unreachable"}
    assert derive_status(Result(True, answer)).reason == "Not running: sync"
