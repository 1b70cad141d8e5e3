"""The load generator of the channels row: N endpoints' connections held from this one asyncio
process. Each link does what the server can see a real client do (services/channel): on
connect a hello (and, for the endpoints sampled for release latency, one held job), a
heartbeat every interval, an ack for every command, and after a drop the client's reconnect
policy. ``Channels`` speaks the channel to our server; ``Echoes`` holds plain TLS connections
to the baseline (benchmarks/idle_server.py) with the same heartbeats and the same policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
import time
from collections.abc import Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from protocol.channel import ChannelMessage

# services/channel/service.py's policy (benchmarks may not import that package): 1 s, doubling
# to 60 s, each wait times a jitter of 0.5-1; back to 1 s after a connection that was online.
BACKOFF_MIN, BACKOFF_MAX = 1.0, 60.0
OPEN_TIMEOUT = 10.0  # the client's own (services/channel/connection.py)


class Fleet:
    """``count`` links, each reconnected for ever by the client's policy until ``stop``."""

    def __init__(self, count: int, interval: float) -> None:
        self.count = count
        self.interval = interval
        self.online: set[int] = set()
        self.opened_at: dict[int, float] = {}  # perf_counter of each link's latest connect
        self.heartbeats = 0  # sent by us since the start
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def link(self, index: int) -> None:
        """One connection of link ``index``, served until it drops; calls ``up`` once open."""
        raise NotImplementedError

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._keep(i)) for i in range(self.count)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.online.clear()

    def up(self, index: int) -> None:
        self.online.add(index)
        self.opened_at[index] = time.perf_counter()
        self._changed.set()

    async def wait_online(self, timeout: float, since: float = 0.0) -> float:
        """Seconds until every link is open on a connection made after ``since`` (a
        perf_counter: a restart's links count once they came back, not while their old
        connection is still being closed); raises past ``timeout``."""
        started = time.perf_counter()
        while (fresh := sum(self.opened_at[i] >= since for i in self.online)) < self.count:
            left = timeout - (time.perf_counter() - started)
            if left <= 0:
                opened = f"{fresh} of {self.count}"
                raise RuntimeError(f"{opened} links open after {timeout:.0f} s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return time.perf_counter() - started

    async def beat(self, send: Any) -> None:
        """A heartbeat every interval, the first at a random point of it: real clients did
        not all connect in the same second, and a herd would measure the herd."""
        await asyncio.sleep(random.uniform(0, self.interval))
        while True:
            await send()
            self.heartbeats += 1
            await asyncio.sleep(self.interval)

    async def _keep(self, index: int) -> None:
        backoff = BACKOFF_MIN
        while True:
            # Refused, reset, timed out, closed: the client only waits and tries again.
            with contextlib.suppress(Exception):
                await self.link(index)
            if index in self.online:
                self.online.discard(index)
                backoff = BACKOFF_MIN
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
            backoff = min(BACKOFF_MAX, backoff * 2)


class Channels(Fleet):
    """Channels to our server(s): link i uses ``urls[i % len(urls)]`` with ``tokens[i]``.
    ``held[i]`` is the owner of one held job link i reports on connect (job id ``bench-i``);
    ``arrived`` gets the time a release for such a job came in."""

    def __init__(
        self,
        urls: Sequence[str],
        tokens: Sequence[str],
        tls: ssl.SSLContext,
        interval: float,
        held: dict[int, str],
    ) -> None:
        super().__init__(len(tokens), interval)
        self.urls = ["wss" + u.removeprefix("https") + "/api/v1/channel" for u in urls]
        self.tokens, self.tls, self.held = tokens, tls, held
        self.arrived: dict[str, asyncio.Future[float]] = {}

    async def link(self, index: int) -> None:
        async with connect(
            self.urls[index % len(self.urls)],
            ssl=self.tls,
            additional_headers={"Authorization": f"Bearer {self.tokens[index]}"},
            open_timeout=OPEN_TIMEOUT,
            ping_interval=None,  # the client runs the channel's own heartbeat
            max_size=1024 * 1024,
        ) as ws:
            await _send(ws, ChannelMessage.new("hello", {"hostname": f"bench-{index}"}))
            if index in self.held:
                body = {"job_id": f"bench-{index}", "owner": self.held[index], "size": 1024}
                await _send(ws, ChannelMessage.new("job.stored", body))
            self.up(index)
            heart = asyncio.create_task(
                self.beat(lambda: _send(ws, ChannelMessage.new("heartbeat", {"ts": time.time()})))
            )
            try:
                async for frame in ws:
                    await self._command(ws, json.loads(frame))
            finally:
                heart.cancel()

    async def _command(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        if message["type"] in ("heartbeat", "ack"):
            return
        if message["type"] == "release":
            now = time.perf_counter()
            for job_id in message["body"]["job_ids"]:
                waiting = self.arrived.get(job_id)
                if waiting is not None and not waiting.done():
                    waiting.set_result(now)
        await _send(ws, ChannelMessage.model_validate(message).ack())

    def expect(self, index: int) -> asyncio.Future[float]:
        """The time the release of link ``index``'s held job arrives."""
        future = asyncio.get_running_loop().create_future()
        self.arrived[f"bench-{index}"] = future
        return future


async def _send(ws: ClientConnection, message: ChannelMessage) -> None:
    await ws.send(message.model_dump_json())


class Echoes(Fleet):
    """Plain TLS connections to the baseline echo server on loopback ``port``."""

    def __init__(self, count: int, port: int, tls: ssl.SSLContext, interval: float) -> None:
        super().__init__(count, interval)
        self.port, self.tls = port, tls
        self.writers: dict[int, asyncio.StreamWriter] = {}
        self.pongs: dict[int, asyncio.Future[float]] = {}

    async def link(self, index: int) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.port, ssl=self.tls), OPEN_TIMEOUT
        )
        self.writers[index] = writer
        self.up(index)

        async def heartbeat() -> None:
            writer.write(b"heartbeat\n")
            await writer.drain()

        heart = asyncio.create_task(self.beat(heartbeat))
        try:
            while line := await reader.readline():
                waiting = self.pongs.pop(index, None) if line.startswith(b"ping") else None
                if waiting is not None and not waiting.done():
                    waiting.set_result(time.perf_counter())
        finally:
            heart.cancel()
            writer.close()

    async def round_trip(self, index: int) -> float:
        """Seconds for one line to go to the baseline server and back on link ``index``."""
        future = asyncio.get_running_loop().create_future()
        self.pongs[index] = future
        started = time.perf_counter()
        self.writers[index].write(b"ping\n")
        return await asyncio.wait_for(future, 30) - started
