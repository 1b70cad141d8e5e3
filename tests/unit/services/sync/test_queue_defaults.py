"""The profile's default color, duplex and paper reach the OS queues: every queue once when
they change, then only new queues (with the current defaults); lpadmin is faked at its runner
(tests/integration/test_queue_defaults.py runs the real one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.rest import EffectiveProfile, ProfileSettings
from services.core import capabilities, profile
from services.core.config import Settings
from services.core.store import Printer
from services.sync.queues import CupsBackend, QueueError, device_uri
from services.sync.service import SyncService
from tests.unit.services.sync.test_queues import FakeCups


def assigned(**settings: str) -> EffectiveProfile:
    return EffectiveProfile(name="office", settings=ProfileSettings(**settings))


def test_queue_options_name_the_ipp_defaults() -> None:
    chosen = assigned(default_color="monochrome", default_duplex="two-sided-long-edge")
    assert profile.queue_options(chosen) == {
        "print-color-mode-default": "monochrome",
        "sides-default": "two-sided-long-edge",
    }
    assert profile.queue_options(None) == {}


def test_options_go_to_lpadmin_and_none_removes_one() -> None:
    cups = FakeCups()
    CupsBackend(runner=cups).ensure(
        "office",
        device_uri(8631, "office"),
        "Office",
        {"sides-default": "one-sided", "media-default": None},
    )
    [call] = cups.admin
    assert call[-4:] == ["-R", "media-default", "-o", "sides-default=one-sided"]


def test_an_option_that_would_be_a_flag_is_refused_before_any_command() -> None:
    cups = FakeCups()
    with pytest.raises(QueueError):
        CupsBackend(runner=cups).ensure(
            "office", device_uri(8631, "office"), "Office", {"media-default": "-x office"}
        )
    assert cups.admin == []


@pytest.fixture
def sync(tmp_path: Path):
    settings = Settings(
        state_dir=tmp_path / "state", run_dir=tmp_path / "run", log_dir=tmp_path, os_queues="none"
    )
    service = SyncService(settings)
    service.queues = CupsBackend(runner=FakeCups())
    yield service
    service.close()


def test_changed_defaults_update_every_queue_once_then_only_new_ones(sync: SyncService) -> None:
    cups: FakeCups = sync.queues.runner  # type: ignore[attr-defined]
    assert sync._apply_queues(["a", "b"]) == (2, 0, 0)
    assert all("-o" not in call and "-R" not in call for call in cups.admin)

    cups.admin.clear()
    sync.profile = assigned(default_duplex="two-sided-long-edge")
    assert sync._apply_queues(["a", "b"]) == (0, 2, 0)
    assert [call[-2:] for call in cups.admin] == [["-o", "sides-default=two-sided-long-edge"]] * 2

    cups.admin.clear()
    assert sync._apply_queues(["a", "b", "c"]) == (1, 0, 0)
    assert cups.admin[0][1] == "c" and cups.admin[0][-1] == "sides-default=two-sided-long-edge"

    cups.admin.clear()
    sync.profile = None  # the profile went: its defaults leave every queue
    assert sync._apply_queues(["a", "b", "c"]) == (0, 3, 0)
    assert [call[-2:] for call in cups.admin] == [["-R", "sides-default"]] * 3
    cups.admin.clear()
    assert sync._apply_queues(["a", "b", "c"]) == (0, 0, 0) and cups.admin == []


def test_each_queue_gets_its_printers_defaults_under_the_profiles(sync: SyncService) -> None:
    cups: FakeCups = sync.queues.runner  # type: ignore[attr-defined]

    def printer_can(name: str, caps: capabilities.Capabilities | None) -> None:
        with sync.store.session() as session:
            row = session.get(Printer, name) or Printer(name=name, kind="direct")
            row.capabilities = caps.to_json() if caps else None
            session.merge(row)
            session.commit()

    def options_of(call: list[str]) -> list[str]:
        return [a for a in call if "-default" in a]

    colour = capabilities.for_raw(color=True, media=["iso_a5_148x210mm"])
    printer_can("a", colour)
    assert sync._apply_queues(["a", "b"]) == (2, 0, 0)
    by_queue = {call[1]: options_of(call) for call in cups.admin}
    assert by_queue == {
        "a": [
            "media-default=iso_a5_148x210mm",
            "print-color-mode-default=color",
            "sides-default=one-sided",
        ],
        "b": [],  # not read yet: nothing claimed
    }

    cups.admin.clear()
    assert sync._apply_queues(["a", "b"]) == (0, 0, 0) and cups.admin == []

    printer_can("a", capabilities.for_raw())  # another printer now: monochrome, A4
    sync.profile = assigned(default_paper="letter")
    assert sync._apply_queues(["a", "b"]) == (0, 2, 0)
    by_queue = {call[1]: call[call.index("-L") + 2 :] for call in cups.admin}
    assert by_queue["a"] == [
        "-o", "media-default=letter",
        "-o", "print-color-mode-default=monochrome",
        "-o", "sides-default=one-sided",
    ]  # fmt: skip
    assert by_queue["b"] == ["-o", "media-default=letter"]


def test_a_printers_default_lpadmin_would_misread_is_left_out(sync: SyncService) -> None:
    cups: FakeCups = sync.queues.runner  # type: ignore[attr-defined]
    hostile = capabilities.for_raw(media=["-x office"])  # as a printer's answer could say
    with sync.store.session() as session:
        session.add(Printer(name="a", kind="direct", capabilities=hostile.to_json()))
        session.commit()

    assert sync._apply_queues(["a"]) == (1, 0, 0)
    [call] = cups.admin
    assert "-x office" not in " ".join(call) and "print-color-mode-default=monochrome" in call
