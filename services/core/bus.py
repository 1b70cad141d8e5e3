"""ZeroMQ sockets, one pattern per purpose (DESIGN.md 5).

- Events: each service binds one PUB at ``ipc://{run_dir}/<service>.pub``; consumers SUB.
- Requests: each service binds one ROUTER at ``ipc://{run_dir}/<service>.rpc``; callers use a
  DEALER with a timeout and a few retries, closing and reopening the socket after a timeout
  (the guide's Lazy Pirate), so a restarted service is simply reached again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from services.core import messages
from services.core.logs import get_log
from services.core.messages import Envelope, Message, MessageError

log = get_log(__name__)

Handler = Callable[[Message], Awaitable[dict[str, Any]]]


class RequestFailed(Exception):
    """No reply within the timeout after every retry, or an error reply."""


def pub_address(run_dir: Path, service: str) -> str:
    return f"ipc://{run_dir}/{service}.pub"


def rpc_address(run_dir: Path, service: str) -> str:
    return f"ipc://{run_dir}/{service}.rpc"


class Publisher:
    def __init__(self, ctx: zmq.asyncio.Context, run_dir: Path, service: str) -> None:
        self._service = service
        self._socket = ctx.socket(zmq.PUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.bind(pub_address(run_dir, service))

    async def publish(self, message: Message) -> None:
        await self._socket.send_multipart(messages.encode(message, self._service))

    def close(self) -> None:
        self._socket.close()


class Subscriber:
    """Receives chosen event types from chosen services; undecodable frames are dropped."""

    def __init__(
        self,
        ctx: zmq.asyncio.Context,
        run_dir: Path,
        services: list[str],
        types: list[type[Message]],
    ) -> None:
        self._socket = ctx.socket(zmq.SUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        for cls in types:
            self._socket.setsockopt(zmq.SUBSCRIBE, cls.TYPE.encode())
        for service in services:
            # connect() to an ipc path that does not exist yet is fine: ZeroMQ retries.
            self._socket.connect(pub_address(run_dir, service))

    async def receive(self) -> Envelope:
        while True:
            frames = await self._socket.recv_multipart()
            try:
                return messages.decode(frames)
            except MessageError as exc:
                log.warning("bus.dropped", reason=str(exc))

    def close(self) -> None:
        self._socket.close()


class RpcServer:
    """Answers requests on the service's ROUTER with ``{ok, body | error}``."""

    def __init__(
        self,
        ctx: zmq.asyncio.Context,
        run_dir: Path,
        service: str,
        handlers: dict[type[Message], Handler],
    ) -> None:
        self._handlers = {cls.TYPE: handler for cls, handler in handlers.items()}
        self._socket = ctx.socket(zmq.ROUTER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.bind(rpc_address(run_dir, service))

    async def serve(self) -> None:
        while True:
            frames = await self._socket.recv_multipart()
            identity, payload = frames[0], frames[1:]
            reply = await self._answer(payload)
            await self._socket.send_multipart([identity, reply])

    async def _answer(self, frames: list[bytes]) -> bytes:
        try:
            envelope = messages.decode(frames)
        except MessageError as exc:
            return messages.error("bad-request", str(exc))
        handler = self._handlers.get(envelope.message.TYPE)
        if handler is None:
            return messages.error("unknown-request", envelope.message.TYPE)
        try:
            return messages.ok(await handler(envelope.message))
        except Exception as exc:  # one failed request must not stop the service
            log.exception("rpc.failed", type=envelope.message.TYPE)
            return messages.error("internal", str(exc))

    def close(self) -> None:
        self._socket.close()


async def request(
    ctx: zmq.asyncio.Context,
    run_dir: Path,
    service: str,
    message: Message,
    *,
    src: str,
    timeout: float = 1.0,
    retries: int = 2,
) -> dict[str, Any]:
    """Send one request and return the reply body; ``RequestFailed`` otherwise."""
    for _attempt in range(retries + 1):
        socket = ctx.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(rpc_address(run_dir, service))
        try:
            await socket.send_multipart(messages.encode(message, src))
            if await socket.poll(int(timeout * 1000), zmq.POLLIN):
                return _body(await socket.recv())
        finally:
            # A fresh socket per attempt: a late reply to an earlier attempt can't be mistaken
            # for this one's.
            socket.close()
    raise RequestFailed(f"{service}: no reply after {retries + 1} attempts")


def _body(payload: bytes) -> dict[str, Any]:
    try:
        reply = messages.decode_reply(payload)
    except MessageError as exc:
        raise RequestFailed(str(exc)) from None
    if not reply["ok"]:
        err = reply.get("error") or {}
        raise RequestFailed(f"{err.get('code')}: {err.get('message')}")
    return reply.get("body") or {}
