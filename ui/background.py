"""Run facade calls off the GUI thread and hand their results back to it.

A hung service would otherwise freeze the tray menu for a whole HTTP timeout on every poll.
Results come back through a queued Qt signal, so callbacks always run on the GUI thread, where
touching widgets is allowed.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal


class Background(QObject):
    """``run(work, done)``: ``work()`` in a worker thread, then ``done(result)`` in the GUI."""

    # Only a number crosses threads: the callback and its future wait in ``_waiting``. Passing
    # Python objects through a queued PySide6 signal corrupted reference counts (a crash at exit).
    _finished = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Two workers: a slow support call must not hold up the status poll.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pullprint-tray")
        self._ids = itertools.count()
        self._waiting: dict[int, tuple[Callable[[Any], None] | None, Future[Any]]] = {}
        self._lock = threading.Lock()
        self._stopped = False
        self._finished.connect(self._deliver)

    @property
    def pending(self) -> int:
        """Calls whose callback has not run yet."""
        with self._lock:
            return len(self._waiting)

    def run(self, work: Callable[[], Any], done: Callable[[Any], None] | None = None) -> None:
        if self._stopped:
            return  # an answer or a dialog closing after quit may still ask for a poll
        call_id = next(self._ids)
        future = self._pool.submit(work)
        with self._lock:
            self._waiting[call_id] = (done, future)
        future.add_done_callback(lambda _f: self._finished.emit(call_id))

    def shutdown(self) -> None:
        self._stopped = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, call_id: int) -> None:
        with self._lock:
            done, future = self._waiting.pop(call_id)
        if done is not None and not future.cancelled():
            # Facade methods never raise; anything else that did is a bug worth seeing.
            done(future.result())
