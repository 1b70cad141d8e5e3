"""Through a corporate proxy (issue #12): a real proxy.py between the client and the server
carries registration, sync, the channel and so the release of a held job; NO_PROXY sends the
server direct; a dead proxy leaves the channel offline; gateway uploads (TLS on 7300) go
through the same proxy in an HTTP CONNECT tunnel.

The proxy's debug log names every upstream it connects to ("Connecting to upstream
HOST:PORT"), which is how the tests know the traffic went through it rather than around it.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from protocol.states import JobState
from services.core import proxy
from services.core.ipp import Operation, Status
from support.client import Client
from support.ports import free_port
from support.process import Process
from support.server import ServerProcess, add_printer_and_port
from support.waiting import wait_for
from tests.documents import sha256_file
from tests.e2e.conftest import Certificates, authorize_first_endpoint, channel_state
from tests.e2e.test_trace import events

PULL_PORT = {"name": "hall", "kind": "pull"}
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


class HttpProxy:
    """proxy.py from PyPI on a free loopback port, one worker, logging at debug level."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "proxy.log"
        self.process: Process | None = None

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "proxy",
            "--hostname",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--num-workers",
            "1",
            "--num-acceptors",
            "1",
            "--data-dir",
            str(self.directory / "data"),
            "--log-level",
            "d",
            "--log-file",
            str(self.log),
        ]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.directory)}
        self.process = Process("proxy", argv, env, self.directory / "proxy.out")
        wait_for(lambda: _listening(self.port), 30, "proxy.py to listen")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def upstreams(self) -> list[str]:
        """Every HOST:PORT the proxy opened a connection to, in order."""
        if not self.log.exists():
            return []
        return re.findall(r"Connecting to upstream (\S+)", self.log.read_text(errors="replace"))


def _listening(port: int) -> bool:
    return any(
        c.laddr.port == port and c.status == psutil.CONN_LISTEN
        for c in psutil.net_connections(kind="tcp")
    )


def _peer_ports(pid: int) -> set[int]:
    """The remote ports of ``pid``'s established TCP connections."""
    return {
        c.raddr.port
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.raddr and c.status == psutil.CONN_ESTABLISHED
    }


@pytest.fixture
def http_proxy(tmp_path: Path) -> Iterator[HttpProxy]:
    server = HttpProxy(tmp_path / "proxy")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients inherit the test's environment: none of the proxy variables unless a test
    sets them, so a developer's own proxy settings cannot make these tests pass or fail."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def start_client(make_client, cloud: ServerProcess, certificates: Certificates, env=None, **kw):
    client: Client = make_client(
        [PULL_PORT], server_url=cloud.base_url, ca_file=str(certificates.ca_file), **kw
    )
    client.env |= env or {}
    client.start("sync", "spooler", "delivery", "channel")
    return client


def release_held_job(cloud: ServerProcess, client: Client, raw_printer, document: Path) -> None:
    """Print to the pull port, see the server learn of it, release it there, and check the
    printer got exactly the document."""
    with cloud.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": "alice", "password": "pw-alice"})
    reply = client.ipp(
        Operation.PRINT_JOB, printer="hall", user="alice", document=document.read_bytes()
    )
    assert reply.code == Status.OK
    [job] = client.jobs()
    assert job.state == JobState.PENDING_HELD
    wait_for(lambda: cloud.job(job.uuid), 30, "the server to learn of the held job")

    with cloud.admin() as admin:
        released = admin.post("/api/v1/release", json={"user": "alice", "printer": "floor1"})
    assert released.raise_for_status().json()["job_ids"] == [job.uuid]

    wait_for(lambda: client.job_state(job.id) == JobState.COMPLETED, 30, "printed")
    assert sha256_file(raw_printer.jobs()[0]) == sha256_file(document)
    wait_for(lambda: cloud.job(job.uuid)["state"] == "completed", 30, "the report")


def assert_channel_rides_the_proxy(client: Client, cloud: ServerProcess, via: HttpProxy) -> None:
    server = f"127.0.0.1:{cloud.http_port}"
    # REST (registration, config, sync) and the WebSocket each opened tunnels to the server.
    assert via.upstreams().count(server) >= 2, via.upstreams()
    # The channel's live WebSocket is a connection to the proxy, none goes to the server.
    peers = _peer_ports(client.processes["channel"].pid)
    assert via.port in peers
    assert cloud.http_port not in peers


def test_held_job_is_released_through_the_configured_proxy(
    client_environment, make_client, cloud, certificates, raw_printer, http_proxy, tmp_path
):
    add_printer_and_port(cloud, "floor1", raw_printer.port, port_name="hall")
    client = start_client(make_client, cloud, certificates, proxy=http_proxy.url)
    authorize_first_endpoint(cloud)
    wait_for(lambda: channel_state(client) == "online", 60, "the channel online via the proxy")
    document = tmp_path / "contract.pdf"
    document.write_bytes(b"%PDF-1.7 through the proxy " + bytes(range(256)) * 1000)

    release_held_job(cloud, client, raw_printer, document)

    assert_channel_rides_the_proxy(client, cloud, http_proxy)
    # Without the proxy there is no way to the server: the channel notices and says offline.
    http_proxy.stop()
    wait_for(lambda: channel_state(client) == "offline", 30, "offline once the proxy is gone")


def test_held_job_is_released_through_https_proxy_from_the_environment(
    client_environment, make_client, cloud, certificates, raw_printer, http_proxy, tmp_path
):
    add_printer_and_port(cloud, "floor1", raw_printer.port, port_name="hall")
    client = start_client(make_client, cloud, certificates, env={"HTTPS_PROXY": http_proxy.url})
    authorize_first_endpoint(cloud)
    wait_for(lambda: channel_state(client) == "online", 60, "the channel online via the proxy")
    document = tmp_path / "env.pdf"
    document.write_bytes(b"%PDF-1.7 via HTTPS_PROXY " + bytes(range(256)) * 500)

    release_held_job(cloud, client, raw_printer, document)

    assert_channel_rides_the_proxy(client, cloud, http_proxy)


def test_a_dead_proxy_keeps_the_channel_offline(
    client_environment, make_client, cloud, certificates
):
    dead = f"http://127.0.0.1:{free_port()}"
    client = start_client(make_client, cloud, certificates, proxy=dead)

    wait_for(lambda: channel_state(client) == "offline", 30, "the channel to give up")
    # Not even the registration got through.
    with cloud.admin() as admin:
        assert admin.get("/api/v1/admin/endpoints").raise_for_status().json() == []


def test_no_proxy_sends_the_server_direct_past_the_proxy(
    client_environment, make_client, cloud, certificates, http_proxy
):
    client = start_client(
        make_client,
        cloud,
        certificates,
        env={"HTTPS_PROXY": http_proxy.url, "NO_PROXY": "localhost,127.0.0.1"},
        proxy=http_proxy.url,
    )
    authorize_first_endpoint(cloud)
    wait_for(lambda: channel_state(client) == "online", 60, "the channel online, direct")

    assert http_proxy.upstreams() == []
    assert cloud.http_port in _peer_ports(client.processes["channel"].pid)


def test_gateway_tunnel_carries_tls_through_the_proxy(http_proxy, certificates):
    """The CONNECT helper the gateway upload can use: TLS to the server inside the tunnel,
    the certificate verified against the server's name."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readexactly(5))
        await writer.drain()
        writer.close()

    async def round_trip() -> tuple[int, bytes]:
        tls_server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_server.load_cert_chain(certificates.cert, certificates.key)
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=tls_server)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await proxy.open_connection(
                "127.0.0.1", port, certificates.context, http_proxy.url, 10
            )
            writer.write(b"hello")
            answer = await reader.readexactly(5)
            writer.close()
        return port, answer

    port, answer = asyncio.run(round_trip())
    assert answer == b"hello"
    assert http_proxy.upstreams() == [f"127.0.0.1:{port}"]


def test_gateway_upload_goes_through_the_proxy(
    client_environment, make_client, cloud, certificates, raw_printer, http_proxy
):
    add_printer_and_port(cloud, "floor1", raw_printer.port, port_name="secure")
    gateway = f"127.0.0.1:{cloud.gateway_port}"
    client: Client = make_client(
        [],
        server_url=cloud.base_url,
        ca_file=str(certificates.ca_file),
        proxy=http_proxy.url,
        mode="gateway",
        gateway=gateway,
    )
    client.start("sync", "spooler", "delivery", "channel")
    authorize_first_endpoint(cloud)
    wait_for(
        lambda: client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer="secure").code == Status.OK,
        60,
        "the server's port, synced through the proxy",
    )
    reply = client.ipp(Operation.PRINT_JOB, printer="secure", user="alice", document=b"tunneled")
    assert reply.code == Status.OK
    [job] = client.jobs()

    wait_for(lambda: "uploaded" in events(client, job.id), 60, "uploaded")
    assert cloud.job(job.uuid)["state"] == "pending-held"
    assert client.job_state(job.id) == JobState.PROCESSING  # held on the server: not printed
    assert gateway in http_proxy.upstreams(), http_proxy.upstreams()
