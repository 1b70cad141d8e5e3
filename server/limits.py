"""Caps that keep one peer from taking what all need: HTTP request bodies, enforced before any
route reads one, and the number of gateway connections at once.

FastAPI reads a JSON body whole into memory; without a cap one request could take all of it.
Every legitimate body here (registration, login, reports, admin forms) is far below 1 MiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from protocol.gateway import encode_reply
from server.logs import event

MAX_BODY = 1024 * 1024


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is None and b"chunked" in headers.get(b"transfer-encoding", b""):
            await _refuse(send, 411, "length-required", "send a Content-Length")
            return
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _refuse(send, 413, "too-large", f"request bodies are limited to {self.max_body}")
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body: dict[str, Any] = {"detail": {"code": code, "message": message}}
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class ConnectionCap:
    """At most ``limit`` gateway connections at once (issue 19, finding 3). The gateway's own
    timeouts close slow peers, but until they do each holds a socket and a ``.part``; past the
    cap a new one is answered ``busy``, which endpoints retry later, and closed."""

    def __init__(self, handle: Handler, limit: int) -> None:
        self.handle = handle
        self.limit = limit
        self.active = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.active >= self.limit:
            event("gateway.refused", peer=writer.get_extra_info("peername"),
                  code="busy", reason="too-many-connections")  # fmt: skip
            with contextlib.suppress(OSError):
                writer.write(encode_reply("error", "busy", "too many connections, try again"))
            writer.close()
            return
        self.active += 1
        try:
            await self.handle(reader, writer)
        finally:
            self.active -= 1
