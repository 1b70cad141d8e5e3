"""Issue 22, finding 6: a TLS connection the server accepts starts with a 16 KiB read buffer (an
idle channel keeps it), and one that streams gets asyncio's 256 KiB after a few reads, so
uploads read as they did. Real TLS over loopback with asyncio's own server; the buffer is read
from the connection's protocol object."""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import ssl
from collections.abc import Iterator

import pytest
import trustme

from server.tls_buffers import LARGE, SMALL, install_growing_buffers


@pytest.fixture
def growing() -> Iterator[None]:
    original = asyncio.sslproto.SSLProtocol
    install_growing_buffers()
    yield
    asyncio.sslproto.SSLProtocol = original  # type: ignore[misc]


def buffer_sizes(sent: int) -> tuple[int, int]:
    """The server side's read buffer of one connection just after the handshake, and after
    the client sent ``sent`` bytes."""
    ca = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_side)
    client_side = ssl.create_default_context()
    ca.configure_trust(client_side)

    async def run() -> tuple[int, int]:
        accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await accepted.put((reader, writer))

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_side)
        port = server.sockets[0].getsockname()[1]
        _, client = await asyncio.open_connection("127.0.0.1", port, ssl=client_side)
        reader, writer = await accepted.get()
        protocol = writer.transport._ssl_protocol  # type: ignore[attr-defined]
        first = len(protocol._ssl_buffer)
        client.write(b"x" * sent)
        await client.drain()
        await reader.readexactly(sent)
        after = len(protocol._ssl_buffer)
        client.close()
        writer.close()
        server.close()
        return first, after

    return asyncio.run(run())


def test_an_idle_connection_keeps_a_small_read_buffer(growing: None) -> None:
    assert buffer_sizes(100) == (SMALL, SMALL)


def test_a_streaming_connection_grows_to_asyncios_buffer(growing: None) -> None:
    assert buffer_sizes(16 * 1024 * 1024) == (SMALL, LARGE)
