"""The configuration profile in the client's store: saved as the server answered it, read over
the configuration file for the keys it sets, the lock named by the profile that set it, and
the log level followed while a process runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from protocol.rest import EffectiveProfile, ProfileSettings
from services.core import profile
from services.core.config import Settings
from services.core.store import Store

LOCKED = EffectiveProfile(
    name="alice-own",
    settings=ProfileSettings(sync_interval=45, allow_local_configuration=False, log_level="debug"),
    sources={
        "sync_interval": "alice-own",
        "allow_local_configuration": "office",
        "log_level": "alice-own",
    },
)


def test_the_stored_profile_overrides_only_the_keys_it_sets(tmp_path: Path) -> None:
    store = Store(tmp_path / "pullprint.db")
    assert profile.load(store) is None
    assert profile.save(store, LOCKED) is True
    assert profile.save(store, LOCKED) is False  # the same answer again changes nothing
    loaded = profile.load(store)
    assert loaded == LOCKED

    settings = Settings(sync_interval=300, retention=7200)
    applied = profile.overlay(settings, loaded)
    assert applied.sync_interval == 45 and applied.log_level == "debug"
    assert applied.retention == 7200  # not in the profile: the file's
    assert profile.overlay(settings, None) is settings

    assert profile.save(store, None) is True
    assert profile.load(store) is None


def test_the_lock_is_named_after_the_profile_that_set_it() -> None:
    assert profile.locked_by(LOCKED) == "office"
    allowed = EffectiveProfile(name="x", settings=ProfileSettings(allow_local_configuration=True))
    assert profile.locked_by(allowed) is None
    assert profile.locked_by(EffectiveProfile(name="y")) is None
    assert profile.locked_by(None) is None


def test_the_log_level_follows_the_profile_while_running(tmp_path: Path) -> None:
    store = Store(tmp_path / "pullprint.db")
    root = logging.getLogger()
    before = root.level

    async def run() -> None:
        task = asyncio.create_task(profile.follow_log_level(store, "info", 0.01))
        await asyncio.sleep(0.05)
        assert root.level == logging.INFO
        profile.save(store, LOCKED)
        await asyncio.sleep(0.05)
        assert root.level == logging.DEBUG
        profile.save(store, None)
        await asyncio.sleep(0.05)
        assert root.level == logging.INFO
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(run())
    finally:
        root.setLevel(before)
