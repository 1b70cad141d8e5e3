"""The FastAPI application: the routers of each facet, one error shape, OpenAPI at
``/openapi.json``. Built around a ``Facade`` so tests and the process share one assembly."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from services.api import (
    account,
    audit,
    config,
    errors,
    jobs,
    preferences,
    printers,
    status,
    support,
)
from services.api.context import Facade
from services.core import VERSION
from services.core.hosts import host_allowed

DESCRIPTION = """The local facade of the pullprint client: the only interface the tray, the CLI
and admin tools use. Loopback only. The caller is the OS user owning the connection (asked of
the kernel). Changes need `Authorization: Bearer <token>`: the admin token
(`{state_dir}/api.token`) or the caller's own token, made by `GET /session`. Every error is
`{"detail": {"code", "message"}}`."""


def build_app(facade: Facade) -> FastAPI:
    app = FastAPI(title="pullprint facade", version=VERSION, description=DESCRIPTION)
    app.state.facade = facade
    errors.install(app)
    errors.document(app)
    modules = (status, jobs, printers, account, config, preferences, support, audit)
    for module in modules:
        app.include_router(module.router)
    _refuse_foreign_hosts(app)
    return app


def _refuse_foreign_hosts(app: FastAPI) -> None:
    """A web page reaching us by DNS rebinding sends its own name as Host: answer 403 before
    any route runs (services/core/hosts.py). Added last, so it is the outermost middleware."""

    @app.middleware("http")
    async def loopback_host_only(request: Request, call_next: Any) -> Any:
        if not host_allowed(request.scope["headers"]):
            return errors.error_response(
                403, "bad-host", "Host must be localhost, 127.0.0.1 or [::1]: this is loopback only"
            )
        return await call_next(request)
