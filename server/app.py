"""One server process: the HTTPS app (REST, channel, pages) and the TLS gateway on one
asyncio loop, with Document Output running beside them."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from protocol.http_limits import HttpLimits, uvicorn_options
from server import (
    admin_api,
    admin_secret,
    api,
    auth,
    claims,
    notify,
    outcomes,
    pages,
    presence,
    retention,
    tls,
)
from server.channel import MAX_MESSAGE, ChannelHub
from server.context import ServerContext, instance_id
from server.documents import Documents, Kind, Spool, default_kind
from server.gateway import Gateway, Limits
from server.limits import BodyLimit, ConnectionCap
from server.logs import event
from server.output import DocumentOutput, RetryPolicy
from server.store import Store, default_url, make_data_dir
from server.throttle import ThrottlePolicy
from server.tls_buffers import install_growing_buffers
from server.tokens import TokenPolicy

# Channel messages are small JSON: compression saves nothing worth a zlib state per socket,
# and no frame is buffered beyond what the channel accepts as one message.
CHANNEL_WEBSOCKETS: dict[str, Any] = {"ws_per_message_deflate": False, "ws_max_size": MAX_MESSAGE}


@dataclass
class RunOptions:
    data_dir: Path
    cert: Path
    key: Path
    host: str = "127.0.0.1"
    # Addresses whose X-Forwarded-For is believed (--trusted-proxy); none: no header is.
    trusted_proxies: tuple[str, ...] = ()
    http_port: int = 8443
    gateway_port: int = 7300
    db_url: str | None = None
    documents: Kind | None = None  # None: the database on PostgreSQL, the spool on SQLite
    heartbeat: float = 10.0
    presence_lease: float = presence.DEFAULT_LENGTH
    output_poll: float = 1.0
    expiry_interval: float = 60.0
    limits: Limits = field(default_factory=Limits)
    # The HTTPS port: every endpoint's channel is one connection, hence the high cap.
    http: HttpLimits = field(default_factory=lambda: HttpLimits(max_connections=4096))
    gateway_max_connections: int = 256
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    tokens: TokenPolicy = field(default_factory=TokenPolicy)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """400 for a body that is not JSON at all, 422 for JSON with wrong fields."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = {"code": "malformed-json", "message": "request body is not valid JSON"}
        return JSONResponse({"detail": detail}, status_code=400)
    fields = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in errors)
    detail = {"code": "invalid", "message": f"invalid fields: {fields}"}
    return JSONResponse({"detail": detail}, status_code=422)


def create_app(ctx: ServerContext, opts: RunOptions) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Started and stopped inside uvicorn's lifespan so a SIGTERM shuts them down too.
        async with contextlib.AsyncExitStack() as stack:
            await _start_background(ctx, opts, stack)
            event("server.started", host=opts.host, http_port=opts.http_port,
                  gateway_port=opts.gateway_port, pid=os.getpid(),
                  trusted_proxies=",".join(opts.trusted_proxies) or "none")  # fmt: skip
            yield
        event("server.stopped")

    app = FastAPI(title="pullprint server", lifespan=lifespan, openapi_url="/api/v1/openapi.json")
    app.state.ctx = ctx
    app.include_router(api.router)
    app.include_router(admin_api.router)
    app.include_router(outcomes.router)
    app.include_router(pages.router)
    app.add_api_websocket_route("/api/v1/channel", ctx.hub.serve)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(BodyLimit)
    return app


async def _start_background(
    ctx: ServerContext, opts: RunOptions, stack: contextlib.AsyncExitStack
) -> None:
    """The gateway listener, Document Output, retention and (PostgreSQL) the NOTIFY listener,
    each registered on `stack` to be stopped in reverse order."""
    ctx.hub.loop = asyncio.get_running_loop()
    # Database calls run in threads (asyncio.to_thread); the default pool of cpu+4 threads is
    # too small once many channels tick at once, and a starved pool stalls uploads.
    ctx.hub.loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="db"))
    gateway = Gateway(ctx.store, ctx.documents, opts.limits, ctx.output.submit, ctx.instance)
    listener = await asyncio.start_server(
        ConnectionCap(gateway.handle, opts.gateway_max_connections),
        opts.host,
        opts.gateway_port,
        ssl=tls.server_context(opts.cert, opts.key),
        ssl_handshake_timeout=opts.limits.header_timeout,
    )
    stack.callback(listener.close)
    for coroutine in (
        presence.keep(ctx.store, ctx.hub.lease),
        ctx.output.run(),
        retention.run(
            ctx.store,
            ctx.documents,
            opts.expiry_interval,
            ctx.tokens.pending_ttl,
            ctx.throttle,
        ),
    ):
        stack.push_async_callback(_cancel, asyncio.create_task(coroutine))
    stack.push_async_callback(ctx.output.stop)
    if ctx.store.engine.dialect.name == "postgresql":
        notes = notify.Listener(ctx.store.url, lambda endpoint: ctx.hub.nudge({endpoint}))
        notes.start()
        stack.callback(notes.stop)
    stack.push_async_callback(_cancel, asyncio.create_task(ctx.hub.watch()))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def prepare(opts: RunOptions) -> ServerContext:
    """Data dir, database (migrated), admin token, spool: everything before listening."""
    make_data_dir(opts.data_dir)
    spool_dir = opts.data_dir / "spool"
    spool_dir.mkdir(mode=0o700, exist_ok=True)
    os.chmod(spool_dir, 0o700)
    store = Store(opts.db_url or default_url(opts.data_dir))
    store.migrate()
    make_data_dir(opts.data_dir)  # the database files exist now
    # Before anything is cleaned or recovered: a process that may not start changes nothing.
    admin_token = admin_secret.adopt(store, opts.data_dir)
    instance = instance_id(opts.data_dir)
    spool = Spool(spool_dir, instance)
    removed = spool.clean()
    documents = Documents(store, spool, opts.documents or default_kind(store))
    lease = presence.Lease(presence.new_holder(), instance, opts.presence_lease)
    with store.session() as session:
        released = claims.release_instance(session, instance)
        forgotten = lease.begin(session)
    output = DocumentOutput(store, documents, opts.retry, instance, opts.output_poll)
    recovered = output.recover()
    auth.dummy_hash()  # made now, so the first unknown-user login costs what the others do
    event("server.prepared", removed_parts=removed, recovered_jobs=recovered,
          released_claims=released, forgotten_leases=forgotten,
          documents=documents.kind)  # fmt: skip
    return ServerContext(
        data_dir=opts.data_dir,
        documents=documents,
        store=store,
        admin_token=admin_token,
        hub=ChannelHub(store, opts.heartbeat, lease),
        output=output,
        gateway_address=f"{opts.host}:{opts.gateway_port}",
        instance=instance,
        tokens=opts.tokens,
        throttle=opts.throttle,
    )


def run(opts: RunOptions) -> None:
    ctx = prepare(opts)
    install_growing_buffers()  # an idle channel's TLS read buffer: 16 KiB, not 256
    config = uvicorn.Config(
        create_app(ctx, opts),
        host=opts.host,
        port=opts.http_port,
        ssl_certfile=str(opts.cert),
        ssl_keyfile=str(opts.key),
        log_config=None,
        access_log=False,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, so any local
        # client could choose the address its limits count: only from named proxies.
        proxy_headers=bool(opts.trusted_proxies),
        forwarded_allow_ips=list(opts.trusted_proxies),
        timeout_graceful_shutdown=5,
        **CHANNEL_WEBSOCKETS,
        **uvicorn_options(AutoHTTPProtocol, opts.http, event),
    )
    try:
        uvicorn.Server(config).run()
    finally:
        ctx.store.close()
