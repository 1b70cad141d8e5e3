"""Run facade calls off the GUI thread and hand their results back to it.

A hung service would otherwise freeze the tray menu for a whole HTTP timeout on every poll.
Results come back through a queued Qt signal, so callbacks always run on the GUI thread, where
touching widgets is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal


class Background(QObject):
    """``run(work, done)``: ``work()`` in a worker thread, then ``done(result)`` in the GUI."""

    _finished = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Two workers: a slow support call must not hold up the status poll.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pullprint-tray")
        self._finished.connect(self._deliver)
        self.pending = 0

    def run(self, work: Callable[[], Any], done: Callable[[Any], None] | None = None) -> None:
        self.pending += 1
        future = self._pool.submit(work)
        future.add_done_callback(lambda f: self._finished.emit(done, f))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, done: Callable[[Any], None] | None, future: Future[Any]) -> None:
        self.pending -= 1
        if done is not None and not future.cancelled():
            # Facade methods never raise; anything else that did is a bug worth seeing.
            done(future.result())
