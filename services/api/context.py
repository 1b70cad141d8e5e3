"""What the routes of the facade share: settings, the store, the token keeper and the bus.

Routes reach it through the ``FacadeDep`` dependency instead of importing the service
process, so each route module stays small and testable on its own.
"""

from __future__ import annotations

from typing import Annotated, Any

import zmq.asyncio
from fastapi import Depends, Request

from services.api.tokens import Tokens
from services.core.bus import Publisher, RequestFailed, request
from services.core.config import Settings
from services.core.logs import EventLog
from services.core.messages import Message, WakeRequest
from services.core.spool import Spool
from services.core.store import Store


class Facade:
    def __init__(
        self,
        settings: Settings,
        ctx: zmq.asyncio.Context,
        publisher: Publisher,
        log: EventLog,
    ) -> None:
        self.settings = settings
        # After PUT /config: the processes being restarted in the background, and why the last
        # restart failed ("" when it did not).
        self.restarting: list[str] = []
        self.restart_failure = ""
        self.ctx = ctx
        self.publisher = publisher
        self.log = log
        self.store = Store(settings.db_path)
        self.spool = Spool(settings.spool_dir, key_dir=settings.state_dir)
        self.tokens = Tokens(settings.state_dir, settings.run_dir)

    async def ask(
        self, service: str, message: Message, *, timeout: float = 0.5, retries: int = 1
    ) -> dict[str, Any]:
        """One request to another service; ``RequestFailed`` when it does not answer.

        Short timeouts: a person is waiting, and a dead service must show as unreachable
        within a second rather than hang the tray.
        """
        return await request(
            self.ctx,
            self.settings.run_dir,
            service,
            message,
            src="api",
            timeout=timeout,
            retries=retries,
        )

    async def ask_or_none(self, service: str, message: Message) -> dict[str, Any] | str:
        """The reply body, or the reason there was none (for status pages)."""
        try:
            return await self.ask(service, message)
        except RequestFailed as exc:
            return str(exc)

    async def wake(self, *services: str) -> None:
        """Ask services to look at the store now (a login, a route switch). They also would on
        their own timers, so one that does not answer is only logged."""
        for service in services:
            try:
                await self.ask(service, WakeRequest())
            except RequestFailed:
                self.log.info("wake.unanswered", service=service)

    async def publish(self, message: Message) -> None:
        await self.publisher.publish(message)

    def close(self) -> None:
        self.store.dispose()


def get_facade(request: Request) -> Facade:
    return request.app.state.facade


FacadeDep = Annotated[Facade, Depends(get_facade)]
