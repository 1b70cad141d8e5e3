"""One connection of the persistent channel (DESIGN.md 8), from hello to the moment it drops.

Three loops share the socket: the reader (heartbeats, acks, commands), the heartbeat (ours
every interval; three of the server's missed means the server is gone), and the outbox pump
(reports from the store, each sent until the server acks its id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from protocol.channel import HEARTBEAT_INTERVAL, ChannelMessage
from protocol.states import JobState
from services.core import VERSION, jobs, outbox
from services.core.logs import get_log
from services.core.store import Job, Store

log = get_log("channel")
MISSED_HEARTBEATS = 3

CommandHandler = Callable[[ChannelMessage], Awaitable[tuple[bool, str, str]]]


class ServerGone(Exception):
    """No heartbeat from the server for three intervals."""


class Connection:
    def __init__(
        self,
        url: str,
        token: str,
        tls: ssl.SSLContext,
        store: Store,
        on_command: CommandHandler,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        mode: str = "local",
        proxy: str | None = None,
    ) -> None:
        self._interval = heartbeat_interval
        self._mode = mode
        # services/core/proxy.py decided; None means direct (not websockets' own env lookup).
        self._proxy = proxy
        self.url = url
        self._token = token
        self._tls = tls
        self._store = store
        self._on_command = on_command
        self._in_flight: set[str] = set()
        self._last_heard = time.monotonic()
        self.outbox_wake = asyncio.Event()

    async def run(self, online: Callable[[], Awaitable[None]]) -> None:
        """Connect (through the proxy, if one was given), say hello, and serve until the
        connection drops (raises then)."""
        ws_url = "wss" + self.url[len("https") :] + "/api/v1/channel"
        async with connect(
            ws_url,
            ssl=self._tls,
            proxy=self._proxy,
            additional_headers={"Authorization": f"Bearer {self._token}"},
            open_timeout=10,
            ping_interval=None,  # we run the protocol's own heartbeat
            max_size=1024 * 1024,
        ) as ws:
            await self._send(
                ws,
                ChannelMessage.new(
                    "hello",
                    {
                        "hostname": socket.gethostname(),
                        "version": VERSION,
                        "mode": self._mode,
                        "held_jobs": self._held_jobs(),
                    },
                ),
            )
            await online()
            async with asyncio.TaskGroup() as group:
                group.create_task(self._read(ws))
                group.create_task(self._heartbeat(ws))
                group.create_task(self._pump(ws))

    async def _read(self, ws: ClientConnection) -> None:
        async for frame in ws:
            self._last_heard = time.monotonic()
            try:
                message = ChannelMessage.model_validate(json.loads(frame))
            except (ValueError, ValidationError) as exc:
                log.warning("channel.dropped", reason=str(exc)[:200])
                continue
            if message.type == "heartbeat":
                continue
            if message.type == "ack":
                await asyncio.to_thread(self._acked, message)
                continue
            ok, code, text = await self._on_command(message)
            await self._send(ws, message.ack(ok, code, text))
        raise ConnectionClosed(ws.close_rcvd, ws.close_sent)

    async def _heartbeat(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if time.monotonic() - self._last_heard > MISSED_HEARTBEATS * self._interval:
                raise ServerGone(f"no heartbeat for {MISSED_HEARTBEATS} intervals")
            await self._send(ws, ChannelMessage.new("heartbeat", {"ts": time.time()}))

    async def _pump(self, ws: ClientConnection) -> None:
        """Send every unsent outbox row once per connection; acks mark them sent."""
        while True:
            self.outbox_wake.clear()
            rows = await asyncio.to_thread(self._unsent)
            for row in rows:
                if row.key in self._in_flight:
                    continue
                self._in_flight.add(row.key)
                await self._send(
                    ws, ChannelMessage(type=row.type, id=row.key, body=json.loads(row.body))
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outbox_wake.wait(), 1.0)

    def _unsent(self) -> list[Any]:
        with self._store.session() as session:
            return outbox.unsent(session)

    def _acked(self, ack: ChannelMessage) -> None:
        if ack.id not in self._in_flight:
            return
        if not ack.body.get("ok", False):
            # A refusal is final (bad body, unknown job): resending would be refused again.
            log.warning(
                "report.refused",
                job=_job_of(ack.id),
                key=ack.id,
                code=ack.body.get("code"),
                reason=ack.body.get("message"),
            )
        with self._store.session() as session:
            outbox.mark_sent(session, [ack.id])
            _trace_ack(session, ack)
            session.commit()
        self._in_flight.discard(ack.id)

    def _held_jobs(self) -> list[str]:
        with self._store.session() as session:
            query = select(Job.uuid).where(Job.state == int(JobState.PENDING_HELD))
            return list(session.scalars(query))

    async def _send(self, ws: ClientConnection, message: ChannelMessage) -> None:
        await ws.send(message.model_dump_json())


# The acks worth a line in the job's trace: the server knows a held job, and has its end.
TRACED_ACKS = {
    "job.stored": "the server knows the held job and can release it",
    "report": "the server has the job's final report",
}


def _trace_ack(session: Any, ack: ChannelMessage) -> None:
    """In the transaction that marks the report sent: the job's trace says the server has it."""
    kind = ack.id.partition(":")[0]
    if kind not in TRACED_ACKS:
        return
    row_id = session.scalar(select(Job.id).where(Job.uuid == _job_of(ack.id)))
    if row_id is None:
        return
    if ack.body.get("ok", False):
        detail = f"{kind}: {TRACED_ACKS[kind]}"
    else:
        detail = f"{kind} refused: {ack.body.get('message') or ack.body.get('code')}"
    jobs.record(session, row_id, "reported", detail)


def _job_of(key: str) -> str:
    """The job's uuid in an outbox key (``job.stored:<uuid>``, ``job.state:<uuid>:...``,
    ``report:<uuid>``)."""
    return key.split(":")[1] if key.count(":") else ""
