"""The channel: one persistent WebSocket per endpoint (`/api/v1/channel`).

Endpoints report their jobs here (hello, job.stored, job.state, report) and the server sends
commands (release, cancel, printers.changed, config.changed) from the `commands` table. Every
message except heartbeats and acks is acked by id. A heartbeat goes out every interval and
costs the database nothing: 1,000 idle channels that each read (and wrote) on every tick made
hundreds of transactions a second (issue 22, finding 4). A channel reads its commands and
re-checks its endpoint when it opens and when it is nudged: a revoke or a command queued by
any process (the admin CLI too) nudges it through NOTIFY on PostgreSQL. `watch`, one sweep a
second for all of this process's channels, catches what no nudge announced: on SQLite, which
has no NOTIFY, every change made by another process; on PostgreSQL, a NOTIFY sent while the
listener was reconnecting. Which process holds a channel, and whether that process still
lives, is server/presence.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from starlette.websockets import WebSocket, WebSocketDisconnect

from protocol.channel import (
    CLIENT_MESSAGES,
    CLOSE_PROTOCOL,
    CLOSE_UNAUTHORIZED,
    ChannelMessage,
    Hello,
    JobStateChange,
    Report,
    StoredJob,
)
from server import accounting, commands, presence, tokens
from server.logs import event
from server.models import Command, Endpoint, now
from server.store import Store

MAX_MESSAGE = 1024 * 1024
REVOKED_REASON = "endpoint revoked"


class Connection:
    """One endpoint's socket; sends are serialized because two tasks write to it."""

    def __init__(self, endpoint_id: int, websocket: WebSocket) -> None:
        self.endpoint_id = endpoint_id
        self.websocket = websocket
        self.lock = asyncio.Lock()
        self.nudged = asyncio.Event()
        self.sent: set[str] = set()  # command ids sent on this connection, awaiting acks

    async def send(self, message: ChannelMessage) -> None:
        async with self.lock:
            await self.websocket.send_text(message.model_dump_json())

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason)


class ChannelHub:
    def __init__(self, store: Store, heartbeat_interval: float, lease: presence.Lease) -> None:
        self.store = store
        self.heartbeat_interval = heartbeat_interval
        self.lease = lease
        self.connections: dict[int, Connection] = {}
        self.loop: asyncio.AbstractEventLoop | None = None  # set by the app on start-up

    def bearer_endpoint(self, websocket: WebSocket) -> int | None:
        header = websocket.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return self._authorized(token=token)

    def _authorized(self, token: str | None = None, endpoint_id: int | None = None) -> int | None:
        """Reads only: a heartbeat must not cost a database write (presence.py)."""
        with self.store.session() as session:
            if token is not None:
                endpoint = tokens.check_access(session, token).endpoint
            else:
                query = select(Endpoint).where(
                    Endpoint.state == "authorized", Endpoint.id == endpoint_id
                )
                endpoint = session.scalar(query)
            return None if endpoint is None else endpoint.id

    async def serve(self, websocket: WebSocket) -> None:
        endpoint_id = await asyncio.to_thread(self.bearer_endpoint, websocket)
        if endpoint_id is None:
            # Closing before accept answers the handshake with HTTP 403.
            await websocket.close(code=CLOSE_UNAUTHORIZED)
            event("channel.refused", peer=websocket.client)
            return
        await websocket.accept()
        conn = Connection(endpoint_id, websocket)
        old = self.connections.get(endpoint_id)
        self.connections[endpoint_id] = conn
        if old is not None:
            await old.close(1000, "replaced by a newer connection")
        await asyncio.to_thread(self._hold, endpoint_id, True)
        event("channel.open", endpoint=endpoint_id)
        ticker = asyncio.create_task(self._tick(conn))
        try:
            await self._receive(conn)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            if self.connections.get(endpoint_id) is conn:
                del self.connections[endpoint_id]
                await asyncio.to_thread(self._hold, endpoint_id, False)
            event("channel.closed", endpoint=endpoint_id)

    def _hold(self, endpoint_id: int, held: bool) -> None:
        """Record that this process holds the channel, or no longer does (a row, so every
        process can see it; presence.py says when it is believed)."""
        with self.store.session() as session:
            if held:
                presence.hold(session, endpoint_id, self.lease.holder)
            else:
                presence.let_go(session, endpoint_id, self.lease.holder)

    def nudge(self, endpoint_ids: set[int] | None = None) -> None:
        """Send queued commands now instead of on the next heartbeat. Thread-safe: REST
        handlers call it from the thread pool."""
        if self.loop is None:
            return
        for endpoint_id, conn in list(self.connections.items()):
            if endpoint_ids is None or endpoint_id in endpoint_ids:
                self.loop.call_soon_threadsafe(conn.nudged.set)

    async def disconnect(self, endpoint_id: int) -> None:
        conn = self.connections.get(endpoint_id)
        if conn is not None:
            event("channel.revoked", endpoint=endpoint_id)
            await conn.close(CLOSE_UNAUTHORIZED, REVOKED_REASON)

    async def watch(self, interval: float = 1.0) -> None:
        """Notice changes to our channels that no nudge announced, with one sweep for all of
        them: revoked endpoints are closed at once, new commands nudge their channel."""
        while True:
            await asyncio.sleep(interval)
            if not self.connections:
                continue
            try:
                revoked, waiting = await asyncio.to_thread(self._changes)
            except Exception as exc:  # a locked or restarting database: next round
                event("channel.watch_failed", error=exc.__class__.__name__)
                continue
            for endpoint_id in revoked:
                await self.disconnect(endpoint_id)
            for endpoint_id, command_ids in waiting.items():
                conn = self.connections.get(endpoint_id)
                if conn is not None and not command_ids <= conn.sent:
                    conn.nudged.set()

    def _changes(self) -> tuple[list[int], dict[int, set[str]]]:
        with self.store.session() as session:
            ours = select(Endpoint.id).where(Endpoint.channel_holder == self.lease.holder)
            revoked = session.scalars(ours.where(Endpoint.state != "authorized")).all()
            waiting: dict[int, set[str]] = {}
            rows = session.execute(
                select(Command.endpoint_id, Command.id).where(
                    Command.acked_at.is_(None), Command.endpoint_id.in_(ours)
                )
            )
            for endpoint_id, command_id in rows:
                waiting.setdefault(endpoint_id, set()).add(command_id)
        return [e for e in revoked if e in self.connections], waiting

    async def _tick(self, conn: Connection) -> None:
        """Heartbeats; the database only at the start and when nudged (see the module)."""
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            nudged = True  # a new channel sends what was queued while it was away
            while True:
                if nudged:
                    if await asyncio.to_thread(self._authorized, None, conn.endpoint_id) is None:
                        event("channel.revoked", endpoint=conn.endpoint_id)
                        await conn.close(CLOSE_UNAUTHORIZED, REVOKED_REASON)
                        return
                    await self._flush(conn)
                await conn.send(ChannelMessage.new("heartbeat", {"ts": now()}))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(conn.nudged.wait(), self.heartbeat_interval)
                nudged = conn.nudged.is_set()
                conn.nudged.clear()

    async def _flush(self, conn: Connection) -> None:
        pending = await asyncio.to_thread(self._unacked, conn.endpoint_id)
        for command_id, type_, body in pending:
            if command_id in conn.sent:
                continue
            conn.sent.add(command_id)
            await conn.send(ChannelMessage(type=type_, id=command_id, body=body))  # type: ignore[arg-type]
            event("channel.command", endpoint=conn.endpoint_id, type=type_, id=command_id)

    def _unacked(self, endpoint_id: int) -> list[tuple[str, str, dict[str, Any]]]:
        with self.store.session() as session:
            return [(c.id, c.type, c.body) for c in commands.unacked(session, endpoint_id)]

    async def _receive(self, conn: Connection) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await conn.websocket.receive_text()
                message = self._parse(text)
                if message is None:
                    await conn.close(CLOSE_PROTOCOL, "not a channel message")
                    return
                reply = await asyncio.to_thread(self._handle, conn, message)
                if reply is not None:
                    await conn.send(reply)

    @staticmethod
    def _parse(text: str) -> ChannelMessage | dict[str, Any] | None:
        """None for garbage; a dict when the envelope is fine but the type is unknown."""
        if len(text) > MAX_MESSAGE:
            return None
        try:
            raw = json.loads(text)
        except ValueError:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            return None
        if raw.get("type") not in CLIENT_MESSAGES:
            return raw
        try:
            return ChannelMessage.model_validate(raw)
        except ValidationError:
            return None

    def _handle(self, conn: Connection, message: ChannelMessage | dict[str, Any]) -> Any:
        if isinstance(message, dict):
            return ChannelMessage(
                type="ack",
                id=message["id"],
                body={"ok": False, "code": "unknown-type", "message": str(message.get("type"))},
            )
        if message.type == "ack":
            with self.store.session() as session:
                commands.mark_acked(
                    session, conn.endpoint_id, message.id, bool(message.body.get("ok", True))
                )
            conn.sent.discard(message.id)
            return None
        if message.type == "heartbeat":  # the socket being alive is all it says
            return None
        handler, model = HANDLERS[message.type]
        try:
            body = model.model_validate(message.body)
        except ValidationError as exc:
            return message.ack(False, "invalid-body", _fields(exc))
        with self.store.session() as session:
            code = handler(session, conn.endpoint_id, body)
        event(
            "channel.message",
            endpoint=conn.endpoint_id,
            type=message.type,
            code=code,
            job=getattr(body, "job_id", None),
        )
        return message.ack(code in ("ok", "duplicate"), code)


def _fields(exc: ValidationError) -> str:
    return "invalid fields: " + ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())


def _hello(session: Any, endpoint_id: int, hello: Hello) -> str:
    endpoint = session.get(Endpoint, endpoint_id)
    if hello.hostname:
        endpoint.hostname = hello.hostname
    if hello.version:
        endpoint.version = hello.version
    endpoint.last_seen_at = now()
    return "ok"


HANDLERS: dict[str, tuple[Callable[[Any, int, Any], str], type[BaseModel]]] = {
    "hello": (_hello, Hello),
    "job.stored": (accounting.record_stored, StoredJob),
    "job.state": (accounting.record_state, JobStateChange),
    "report": (accounting.record_report, Report),
}
