"""The FastAPI application: the routers of each facet, one error shape, OpenAPI at
``/openapi.json``. Built around a ``Facade`` so tests and the process share one assembly."""

from __future__ import annotations

from fastapi import FastAPI

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
    return app
