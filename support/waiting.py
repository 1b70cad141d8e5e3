"""Waiting for a condition instead of sleeping: the one wait tests and benchmarks use."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 30.0, what: str = "") -> T:
    """Poll ``condition`` every 50 ms until it returns something truthy, and return that; fail
    with ``what`` after ``timeout`` s. The timeout only bounds a failing test, so it is
    generous: a loaded machine must not fail a test that would have passed."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.05)
