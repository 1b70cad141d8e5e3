"""The api process: the small FastAPI facade on loopback that the tray, the CLI and admins use.

It holds no state of its own: ``GET /status`` asks every service over the bus and says which
one did not answer, so "service unreachable" is a fact the tray can show, not a guess.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from fastapi import FastAPI

from services.core import VERSION
from services.core.bus import RequestFailed, request
from services.core.config import Settings
from services.core.messages import StatusRequest
from services.core.runner import Service

SERVICES = ("spooler", "channel", "sync", "delivery", "api")


class ApiService(Service):
    name = "api"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.app = build_app(self)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",  # the facade is for this machine only
            port=settings.api_port,
            log_config=None,
            access_log=False,
        )
        self.http = uvicorn.Server(config)
        self.http.install_signal_handlers = lambda: None  # the runner owns signals

    def tasks(self) -> list[Any]:
        return [self.http.serve()]

    async def status(self) -> dict[str, Any]:
        return {
            "state": "running" if self.http.started else "starting",
            "port": self.settings.api_port,
        }

    async def service_status(self, service: str) -> dict[str, Any]:
        try:
            return await request(
                self.ctx,
                self.settings.run_dir,
                service,
                StatusRequest(),
                src=self.name,
                timeout=0.5,
                retries=1,
            )
        except RequestFailed as exc:
            return {"service": service, "state": "unreachable", "reason": str(exc)}


def build_app(service: ApiService) -> FastAPI:
    app = FastAPI(title="pullprint facade", version=VERSION)

    @app.get("/status")
    async def status() -> dict[str, Any]:
        """Health of every service process, the mode, and the version."""
        answers = await asyncio.gather(*(service.service_status(name) for name in SERVICES))
        services = {answer["service"]: answer for answer in answers}
        healthy = all(a.get("state") != "unreachable" for a in answers)
        return {
            "ok": healthy,
            "version": VERSION,
            "mode": service.settings.mode,
            "services": services,
        }

    return app
