"""Binding our loopback ports ourselves (services/core/listen.py): a taken port names its
holder, and the connections we accept still get TCP_NODELAY, as they did when uvicorn bound
the port (without it every small IPP answer waited for a delayed ACK)."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from services.core import listen


def test_a_taken_port_names_who_holds_it():
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        port = squatter.getsockname()[1]
        with pytest.raises(listen.PortTaken) as taken:
            listen.bind("127.0.0.1", port)
    assert str(taken.value).startswith(f"port {port} on 127.0.0.1 is taken by ")
    assert str(taken.value).endswith(f"(pid {os.getpid()})")


def test_accepted_connections_get_tcp_nodelay():
    sock = listen.bind("127.0.0.1", 0)
    port = sock.getsockname()[1]

    async def accept_one() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = writer.get_extra_info("socket")
            accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=sock)
        async with server:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            nodelay = await asyncio.wait_for(accepted, 10)
            writer.close()
            return nodelay

    assert asyncio.run(accept_one()) != 0
