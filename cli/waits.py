"""Waiting for the service from a command: ``--wait`` polls the store or the facade, never
sleeps blindly."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# How long --wait (status, print) and sync wait by default: a channel registers, a sync or a
# small job completes in seconds; a minute says something is wrong, and why.
WAIT_TIMEOUT = 60.0


def poll(condition: Callable[[], object], timeout: float) -> Any:
    """What ``condition`` returns once it is truthy, or None after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.25)
    return result
