"""Deadlines and a connection cap for our HTTP listeners (issue 19, finding 3).

uvicorn closes an idle kept-alive connection, but nothing else: a client that connects and
sends nothing, or half a request line, or a body one byte a minute, holds its socket (and, in
the spooler, an open ``.part`` file) for ever, and any number of them may connect. This mixin
goes in front of uvicorn's HTTP protocol class (h11 or httptools: it uses only what both have)
and gives every connection one deadline at a time, by what the connection is waiting for:

- a request head (just connected, or the previous answer sent): ``header_timeout`` from then,
  however the bytes trickle in;
- the request body: ``body_timeout`` since the last bytes arrived (not while the application
  itself has paused reading);
- the client to read our answer (the send buffer is full): ``idle_timeout``.

While the application works on a request there is no deadline: that is the application's to
bound. A WebSocket upgrade hands the connection to another protocol, and the deadline with it.
Past ``max_connections`` a new connection is answered 503 and closed before it costs more.

It lives in ``protocol`` because the server and the client services both serve HTTP and may
both import only this package in common; it needs the standard library only (the uvicorn class
is passed in by the caller).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 30\r\nConnection: close\r\n\r\ntoo many connections, try again"
)

# How a guard reports what it did: the caller's structured log, ``report(event, **fields)``.
Report = Callable[..., None]


@dataclass(frozen=True)
class HttpLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 5.0
    max_connections: int = 128


class ConnectionGuard:
    """Mixin for a uvicorn HTTP protocol class; see the module docstring."""

    limits: HttpLimits
    report: Report
    # What uvicorn's protocol classes have, set by them (declared for the type checker).
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    connections: set[Any]
    cycle: Any
    flow: Any
    client: tuple[str, int] | None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self._timer: asyncio.TimerHandle | None = None
        self._head_since = self._last_input = self.loop.time()
        self._write_stalled_since: float | None = None
        if len(self.connections) > self.limits.max_connections:
            self.report("http.refused", reason="too-many-connections", client=self.client)
            transport.write(BUSY)
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._last_input = self.loop.time()
        super().data_received(data)  # type: ignore[misc]
        self._arm()

    def on_response_complete(self) -> None:
        self._head_since = self.loop.time()  # the next request's head is due from now
        super().on_response_complete()  # type: ignore[misc]
        self._arm()

    def pause_writing(self) -> None:
        self._write_stalled_since = self.loop.time()
        super().pause_writing()  # type: ignore[misc]
        self._arm()

    def resume_writing(self) -> None:
        self._write_stalled_since = None
        super().resume_writing()  # type: ignore[misc]

    def handle_websocket_upgrade(self, *args: Any) -> None:
        self._cancel()
        super().handle_websocket_upgrade(*args)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def _deadline(self) -> tuple[float, str] | None:
        """When this connection is closed if nothing changes, and why; None: no deadline."""
        if self._write_stalled_since is not None:
            return self._write_stalled_since + self.limits.idle_timeout, "answer-not-read"
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return self._head_since + self.limits.header_timeout, "header-timeout"
        if not cycle.more_body or cycle.disconnected:
            return None
        if self.flow.read_paused:  # the application is behind, not the client
            self._last_input = self.loop.time()
        return self._last_input + self.limits.body_timeout, "body-timeout"

    def _arm(self) -> None:
        """Schedule the check for the current deadline, unless one is due sooner already."""
        due = self._deadline()
        if due is None or self.transport.is_closing():
            return
        if self._timer is not None:
            if self._timer.when() <= due[0]:
                return  # it fires first and looks again
            self._timer.cancel()
        self._timer = self.loop.call_at(due[0], self._check)

    def _check(self) -> None:
        self._timer = None
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return
        due = self._deadline()
        if due is None:
            return
        if self.loop.time() < due[0]:
            self._timer = self.loop.call_at(due[0], self._check)
            return
        # The application's receive() learns of it from uvicorn's connection_lost.
        self.report("http.closed", reason=due[1], client=self.client)
        self.transport.close()

    def _cancel(self) -> None:
        if getattr(self, "_timer", None) is not None:
            self._timer.cancel()  # type: ignore[union-attr]
            self._timer = None


def guarded(base: type, limits: HttpLimits, report: Report) -> type:
    """``base`` (a uvicorn HTTP protocol class) with these limits enforced."""
    fields = {"limits": limits, "report": staticmethod(report)}
    return type(f"Guarded{base.__name__}", (ConnectionGuard, base), fields)


def uvicorn_options(base: type, limits: HttpLimits, report: Report) -> dict[str, Any]:
    """The ``uvicorn.Config`` arguments that apply ``limits``: our protocol class, and
    uvicorn's own keep-alive timeout as the idle timeout between requests."""
    return {"http": guarded(base, limits, report), "timeout_keep_alive": limits.idle_timeout}
