"""Noticing that the machine slept: the wall clock jumped ahead of the monotonic clock.

While a machine is suspended its monotonic clock stands still (Linux CLOCK_MONOTONIC, macOS
mach_absolute_time) and the wall clock does not, so after a resume ``time.time() -
time.monotonic()`` has grown by about the time asleep. Checked every ``CHECK_EVERY`` seconds; a
growth beyond ``THRESHOLD`` is a wake. NTP slews the wall clock by milliseconds, far below it; a
person setting the clock forward by minutes also counts as a wake, which costs only an early
reconnect and an early retry.

What a service does on a wake (channel: reconnect now, expire held jobs; delivery: retry the
waiting jobs now) is the ``on_wake`` it passes in.

Tests cannot suspend the machine. With ``PULLPRINT_TEST_CLOCK_FILE`` set to a file path, the
detector adds the number of seconds written in that file to the wall clock it reads, so a test
moves the wall clock forward by writing "3600" there. Nothing else reads that variable, and a
missing or unreadable file means no offset, so it cannot change a real installation's clock.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from services.core.logs import EventLog

CHECK_EVERY = 5.0
# Longer than any scheduling delay of a busy machine, shorter than any real sleep worth noticing.
THRESHOLD = 30.0
TEST_CLOCK_ENV = "PULLPRINT_TEST_CLOCK_FILE"


def wall_clock() -> float:
    """``time.time()``, plus the test offset when ``PULLPRINT_TEST_CLOCK_FILE`` names one."""
    path = os.environ.get(TEST_CLOCK_ENV)
    offset = 0.0
    if path:
        try:
            offset = float(Path(path).read_text().strip() or 0)
        except (OSError, ValueError):
            offset = 0.0
    return time.time() + offset


class WakeDetector:
    def __init__(
        self,
        log: EventLog,
        on_wake: Callable[[float], Awaitable[None]],
        *,
        every: float = CHECK_EVERY,
        threshold: float = THRESHOLD,
        wall: Callable[[], float] = wall_clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.on_wake = on_wake
        self.every = every
        self.threshold = threshold
        self.wall = wall
        self.monotonic = monotonic
        self.skew = self._skew()
        self.wakes = 0

    def _skew(self) -> float:
        return self.wall() - self.monotonic()

    async def check(self) -> bool:
        """One look; True (and ``on_wake`` done) when the machine slept since the last one.
        A wall clock set back is remembered silently: nothing waits on the past."""
        skew = self._skew()
        jump, self.skew = skew - self.skew, skew
        if jump <= self.threshold:
            return False
        self.wakes += 1
        self.log.info("machine.woke", slept=round(jump, 1))
        try:
            await self.on_wake(jump)
        except Exception:
            self.log.exception("machine.wake_failed")
        return True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.check()
