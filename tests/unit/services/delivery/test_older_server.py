"""A client newer than its server (issue 21): the job's options need gateway protocol v3, and a
v2 server refuses the header as an unknown version. The job must still print, without its
options and saying so, rather than end aborted or wait forever while an organisation upgrades
its clients before its servers. The server here is the outside world at its edge: a real TLS
socket that answers as a v2 gateway does."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from protocol.gateway import decode_map, encode_reply, read_frame
from services.core import capabilities, endpoint
from services.core.config import Settings
from services.core.ipp import Attribute, Tag
from services.core.store import Job, Printer
from services.delivery import destination, gateway
from services.delivery.gateway import GatewayTransport
from services.delivery.router import Route
from services.delivery.transport import DeliveryError

DOCUMENT = b"%PDF-1.4 a document with options\n"


class V2Gateway:
    """Answers each upload as a v2 server: v3 is an unknown version; v1 and v2 are stored."""

    def __init__(self) -> None:
        self.headers: list[dict] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = decode_map(await read_frame(reader, 65536))
        self.headers.append(header)
        await reader.readexactly(header["size"])
        if header["v"] in (1, 2):
            writer.write(encode_reply("ok", "stored"))
        else:
            writer.write(encode_reply("error", "unsupported-version", "expected v=2"))
        await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def v2_gateway() -> AsyncIterator[tuple[V2Gateway, str, ssl.SSLContext]]:
    ca = trustme.CA()
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(served)
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    peer = V2Gateway()
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0, ssl=served)
    address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield peer, address, client_tls
    finally:
        gateway.OLDER_SERVERS.discard(address)
        server.close()
        await server.wait_closed()


def settings_for(tmp_path: Path, address: str) -> Settings:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    endpoint.save_token(state, "access-token")
    return Settings(state_dir=state, gateway=address)


def job_with_copies() -> tuple[Job, Printer]:
    options = {"copies": Attribute("copies", Tag.INTEGER, [2])}
    job = Job(
        uuid="5b0c8a4e-1f6d-4c49-9a51-0a6c2c1d7e11",
        printer="office",
        owner="alice",
        name="report",
        format="application/pdf",
        size=len(DOCUMENT),
        sha256="0" * 64,
        options=capabilities.encode_attributes(options),
    )
    port = Printer(name="office", kind="direct", host="10.0.0.7", port=9100, server_id=6)
    return job, port


async def upload(settings: Settings, tls: ssl.SSLContext, job: Job, port: Printer) -> None:
    sent = destination.transport(
        settings, tls, Route.GATEWAY, job, port, destination.destination(job, port)
    )
    assert isinstance(sent, GatewayTransport)
    await sent.open()
    await sent.send(DOCUMENT)
    await sent.finish()


def test_a_server_older_than_the_client_gets_the_job_without_its_options(
    tmp_path: Path,
) -> None:
    asyncio.run(_older_server_scenario(tmp_path))


async def _older_server_scenario(tmp_path: Path) -> None:
    async with v2_gateway() as (peer, address, tls):
        settings = settings_for(tmp_path, address)
        job, port = job_with_copies()

        with pytest.raises(DeliveryError) as refused:
            await upload(settings, tls, job, port)
        # Retried, not the end of the job; the reason says what happens next.
        assert not refused.value.final
        assert "older than this client" in str(refused.value)
        assert peer.headers[0]["v"] == 3 and "options" in peer.headers[0]
        assert destination.options_left_behind(job, settings) == (
            "the server is older than this client and takes no options: it prints without copies"
        )

        await upload(settings, tls, job, port)  # the next attempt: stored

        assert peer.headers[1]["v"] == 2 and "options" not in peer.headers[1]
