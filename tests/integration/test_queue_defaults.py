"""The configuration profile's default color, duplex and paper on our OS queues in a real
(private) cupsd: lpadmin keeps them as server-side defaults of a raw queue, lpoptions shows
them, and taking them out of the profile removes them again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.sync.queues import CupsBackend, apply, wanted_queues
from support.cups import PrivateCups
from tests.peers import private_cupsd

DEFAULTS = {
    "print-color-mode-default": "monochrome",
    "sides-default": "two-sided-long-edge",
    "media-default": "iso_a4_210x297mm",
}


@pytest.fixture
def cups() -> Iterator[PrivateCups]:
    """A private cupsd for this test only (skips with the reason when it cannot run here)."""
    with private_cupsd() as cups:
        yield cups


def test_queue_defaults_are_set_changed_and_removed(cups: PrivateCups) -> None:
    backend = CupsBackend(cups.server)
    wanted = wanted_queues(8631, ["office", "lobby"])
    assert apply(backend, wanted, options=DEFAULTS) == (2, 0, 0)
    for name in wanted:
        options = cups.run("lpoptions", "-p", name).stdout
        assert "print-color-mode=monochrome" in options, options
        assert "sides=two-sided-long-edge" in options
        assert "media=iso_a4_210x297mm" in options

    changed = {"print-color-mode-default": "color", "sides-default": None, "media-default": None}
    assert apply(backend, wanted, options=changed, every_queue=True) == (0, 2, 0)
    options = cups.run("lpoptions", "-p", "office").stdout
    assert "print-color-mode=color" in options, options
    assert "sides=two-sided" not in options and "media=iso_a4" not in options
