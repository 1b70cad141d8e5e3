"""The baseline holder of idle connections: ``python -m benchmarks.idle_server CERT KEY PORT``
accepts TLS connections on loopback PORT (0: any; the port is printed), and writes every line
it reads back to its sender. The least an asyncio server must do to keep N TLS connections
open and answer a heartbeat on each; the channels row sets our server against it."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
    writer.close()


async def serve(cert: str, key: str, port: int) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # The backlog of uvicorn's listener, so both meet a crowd of reconnects alike.
    server = await asyncio.start_server(echo, "127.0.0.1", port, ssl=context, backlog=2048)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2], int(sys.argv[3])))
