"""The HTTP connection guard on a real uvicorn listener, with each HTTP implementation uvicorn
may pick (h11, httptools): raw sockets that go idle, send half a head, stall a body, or come one
too many, and are closed or refused; and the requests a real client sends, which are not."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.sync.client import connect as ws_connect

from protocol.http_limits import HttpLimits, uvicorn_options
from support.ports import free_port
from support.waiting import wait_for
from tests.slow_peers import BOUND, answer, closed_by_peer, connect, post_head

# Short limits so the test is quick; the bound we wait is generous (a loaded machine).
LIMITS = HttpLimits(header_timeout=0.5, body_timeout=0.5, idle_timeout=0.5, max_connections=3)


class Echo:
    """Reads the whole body and answers its length; notes a body cut off by a disconnect."""

    def __init__(self) -> None:
        self.disconnects = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            message = await receive()
            await send({"type": "websocket.send", "text": message.get("text", "")})
            return
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnects += 1
                return
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        body = str(size).encode()
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class Listener:
    def __init__(self, base: type, events: list[tuple[str, dict[str, Any]]]) -> None:
        self.app = Echo()
        self.port = free_port()

        def report(name: str, **fields: Any) -> None:
            events.append((name, fields))

        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_config=None, lifespan="off",
            ws="auto", **uvicorn_options(base, LIMITS, report),
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()))

    def start(self) -> None:
        self.thread.start()
        wait_for(lambda: self.server.started, 20, "uvicorn to listen")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)

    def connect(self) -> socket.socket:
        return connect(self.port)


@pytest.fixture(params=[H11Protocol, HttpToolsProtocol], ids=["h11", "httptools"])
def listener(request: pytest.FixtureRequest) -> Iterator[tuple[Listener, list[Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    server = Listener(request.param, events)
    server.start()
    yield server, events
    server.stop()


def test_a_connection_that_sends_nothing_is_closed(listener):
    server, events = listener
    with server.connect() as s:
        assert closed_by_peer(s) == b""
    assert events[-1][0] == "http.closed" and events[-1][1]["reason"] == "header-timeout"


def test_half_a_request_head_trickled_in_is_closed(listener):
    server, events = listener
    with server.connect() as s:
        # Bytes keep coming, but the head never completes: the deadline is not reset by them.
        for piece in (b"POST / HT", b"TP/1.1\r\n", b"Host: local"):
            s.sendall(piece)
        assert closed_by_peer(s) == b""
    assert events[-1][1]["reason"] == "header-timeout"


def test_a_stalled_body_is_closed_and_the_application_told(listener):
    server, events = listener
    with server.connect() as s:
        s.sendall(post_head(1000) + b"x" * 10)
        assert closed_by_peer(s) == b""
    assert events[-1][1]["reason"] == "body-timeout"
    wait_for(lambda: server.app.disconnects == 1, BOUND, "the application to see the disconnect")


def test_a_body_that_keeps_coming_is_not_cut_by_the_header_deadline(listener):
    server, _ = listener
    with server.connect() as s:
        s.sendall(post_head(6))
        for _ in range(6):  # longer in all than header_timeout, never stalled for body_timeout
            time.sleep(LIMITS.header_timeout / 4)
            s.sendall(b"x")
        assert answer(s) == b"HTTP/1.1 200 OK 6"


def test_kept_alive_connections_serve_the_next_request(listener):
    server, _ = listener
    with server.connect() as s:
        for _ in range(3):
            s.sendall(post_head(2) + b"ab")
            assert answer(s) == b"HTTP/1.1 200 OK 2"
        assert closed_by_peer(s) == b""  # then idle: closed


def test_one_connection_past_the_cap_is_refused_with_503(listener):
    server, events = listener
    held = [server.connect() for _ in range(LIMITS.max_connections)]
    try:
        for s in held:  # each is accepted and counted before the next one comes
            s.sendall(post_head(1) + b"a")
            assert answer(s) == b"HTTP/1.1 200 OK 1"
        with server.connect() as extra:
            assert closed_by_peer(extra).startswith(b"HTTP/1.1 503 ")
        assert events[-1][0] == "http.refused"
    finally:
        for s in held:
            s.close()
    # Once they are gone, connections are accepted again.
    wait_for(lambda: _answers(server), BOUND, "a connection to be accepted again")


def _answers(server: Listener) -> bool:
    with server.connect() as s:
        s.sendall(post_head(1) + b"a")
        return answer(s) == b"HTTP/1.1 200 OK 1"


def test_a_websocket_outlives_the_http_deadlines(listener):
    server, _ = listener
    with ws_connect(f"ws://127.0.0.1:{server.port}/", open_timeout=BOUND) as ws:
        # Past every deadline of the HTTP connection it was upgraded from.
        time.sleep(3 * LIMITS.header_timeout)
        ws.send("still here")
        assert ws.recv(timeout=BOUND) == "still here"
