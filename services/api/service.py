"""The api process: the small FastAPI facade on loopback that the tray, the CLI and admins use.

It holds no state of its own beyond the admin token it creates at start: jobs, printers and
switches are read from the store, and the other services are asked over the bus.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from protocol.http_limits import uvicorn_options
from services.api.app import build_app
from services.api.context import Facade
from services.core import listen
from services.core.config import Settings
from services.core.runner import Service


class ApiService(Service):
    name = "api"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.facade = Facade(settings, self.ctx, self.publisher, self.log)
        # Before the port opens: a change can never meet a facade without its admin token.
        self.facade.tokens.ensure_admin()
        self.app = build_app(self.facade)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",  # the facade is for this machine only
            port=settings.api_port,
            log_config=None,
            access_log=False,
            # uvicorn believes X-Forwarded-For from 127.0.0.1 by default; nothing proxies us,
            # and the facade asks the kernel who the caller is by the real client address.
            proxy_headers=False,
            lifespan="off",  # no startup hooks; and no lifespan task to cancel at SIGTERM
            **uvicorn_options(AutoHTTPProtocol, settings.http_limits, self.log.info),
        )
        self.http = uvicorn.Server(config)
        self.http.install_signal_handlers = lambda: None  # the runner owns signals
        # Bound here, not by uvicorn: a taken port is one line naming its holder (listen.py).
        self.socket = listen.bind("127.0.0.1", settings.api_port)

    def tasks(self) -> list[Any]:
        return [self.http.serve(sockets=[self.socket])]

    async def status(self) -> dict[str, Any]:
        return {
            "state": "running" if self.http.started else "starting",
            "port": self.settings.api_port,
        }

    def close(self) -> None:
        self.facade.close()
        super().close()
