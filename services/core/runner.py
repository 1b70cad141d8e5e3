"""What every service process shares: start-up, the bus sockets, the status request, the rescan
timer, and a clean stop on SIGTERM.

A service subclasses ``Service``, says what it does in ``tasks()`` and what it reports in
``status()``; ``main()`` in its ``__main__.py`` is one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import zmq.asyncio

from services.core import listen, logs, profile
from services.core.bus import Publisher, RpcServer, Subscriber
from services.core.config import ConfigError, Settings, load_settings
from services.core.messages import Message, StatusRequest
from services.core.store import Store
from services.core.wake import WakeDetector

EXIT_PORT_TAKEN = 3  # our loopback port is held by another process: the log line names it
EXIT_CONFIG = 2  # supervisord shows it; the log line above it says which key is wrong


class Service:
    """Base of the five service processes."""

    name = "service"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started_at = time.time()
        self.log = logs.get_log(self.name)
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        self.ctx = zmq.asyncio.Context()
        self.publisher = Publisher(self.ctx, settings.run_dir, self.name)
        self.rpc = RpcServer(self.ctx, settings.run_dir, self.name, self.handlers())

    def handlers(self) -> dict[type[Message], Callable[[Message], Coroutine[Any, Any, dict]]]:
        return {StatusRequest: self._status}

    async def _status(self, _message: Message) -> dict[str, Any]:
        return {"service": self.name, "uptime": round(time.time() - self.started_at, 1)} | (
            await self.status()
        )

    async def status(self) -> dict[str, Any]:
        """Service-specific facts for ``GET /status``; the base adds name and uptime."""
        return {"state": "running"}

    def tasks(self) -> list[Coroutine[Any, Any, None]]:
        """The service's own loops, run beside the request server."""
        return []

    async def on_wake(self, slept: float) -> None:
        """The machine resumed after about ``slept`` seconds (``core/wake.py``). A service that
        overrides this gets a wake detector; the others do not watch the clock."""

    async def wake_on(
        self, services: list[str], types: list[type[Message]], wake: asyncio.Event
    ) -> None:
        """Set ``wake`` on every matching notification: the work itself reads the store."""
        sub = Subscriber(self.ctx, self.settings.run_dir, services, types)
        try:
            while True:
                await sub.receive()
                wake.set()
        finally:
            sub.close()

    async def run(self) -> None:
        self.log.info("service.started", pid=os.getpid())
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.rpc.serve())
                for task in self.tasks():
                    group.create_task(task)
                # The server's configuration profile may set the log level (core/profile.py).
                group.create_task(
                    profile.follow_log_level(
                        Store(self.settings.db_path),
                        self.settings.log_level,
                        self.settings.rescan_interval,
                    )
                )
                if type(self).on_wake is not Service.on_wake:
                    group.create_task(WakeDetector(self.log, self.on_wake).run())
        finally:
            self.close()

    def close(self) -> None:
        self.rpc.close()
        self.publisher.close()
        self.ctx.term()


def main(factory: type[Service]) -> None:
    """Process entry: load config (one clear line and exit 2 if bad), run until SIGTERM."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"pullprint: {exc}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    logs.setup(factory.name, settings.log_level)
    try:
        service = factory(settings)
    except listen.PortTaken as exc:
        # One line, no traceback; supervisord tries again (the port may be let go), and the
        # facade's status names the holder meanwhile.
        logs.get_log(factory.name).error("service.port-taken", reason=str(exc))
        sys.exit(EXIT_PORT_TAKEN)
    asyncio.run(_run_until_signal(service))


async def _run_until_signal(service: Service) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await service.run()
    except asyncio.CancelledError:
        service.log.info("service.stopped")


async def every(seconds: float, wake: asyncio.Event, work: Callable[[], Coroutine]) -> None:
    """Run ``work`` now, then whenever ``wake`` is set or ``seconds`` pass (the rescan timer).

    Notifications only set ``wake``; the work always reads the store, so a lost notification
    costs at most one interval of delay.
    """
    while True:
        wake.clear()
        await work()
        await wait_for_wake(wake, seconds)


async def wait_for_wake(wake: asyncio.Event, seconds: float) -> None:
    """Sleep until ``wake`` is set or ``seconds`` pass, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), timeout=seconds)
