"""Fixtures for end-to-end tests: the reference server (real process, trustme TLS) beside
pullprint clients and printers."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from support.client import Client
from support.server import ServerProcess
from support.waiting import wait_for

# Heartbeats every half second so "offline" and reconnects happen within a test's patience.
SERVER_OPTIONS = ["--heartbeat", "0.5", "--retry-initial", "0.2"]


class Certificates:
    """A test CA and a server certificate for 127.0.0.1, as files (the client reads ca_file)."""

    def __init__(self, directory: Path) -> None:
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        self.cert, self.key, self.ca_file = (
            directory / "server.pem",
            directory / "server.key",
            directory / "ca.pem",
        )
        leaf.private_key_pem.write_to_path(str(self.key))
        leaf.cert_chain_pems[0].write_to_path(str(self.cert))
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.context = ssl.create_default_context(cafile=str(self.ca_file))


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return Certificates(tmp_path)


def serve_cloud(
    tmp_path: Path, certificates: Certificates, *options: str
) -> Iterator[ServerProcess]:
    """The reference server with our test certificates (``options`` added to the usual ones);
    a fixture yields from it, so the server stops after the test."""
    server = ServerProcess(
        tmp_path / "server",
        certificates.cert,
        certificates.key,
        certificates.context,
        None,
        [*SERVER_OPTIONS, *options],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cloud(tmp_path: Path, certificates: Certificates) -> Iterator[ServerProcess]:
    yield from serve_cloud(tmp_path, certificates)


@pytest.fixture
def secondary(
    tmp_path: Path, certificates: Certificates, cloud: ServerProcess
) -> Iterator[ServerProcess]:
    """A second server process on the cloud's database, as a site runs its secondary."""
    server = ServerProcess(
        tmp_path / "secondary",
        certificates.cert,
        certificates.key,
        certificates.context,
        f"sqlite:///{cloud.data_dir}/server.db",
        SERVER_OPTIONS,
    )
    server.share_admin_token(cloud)
    server.start()
    yield server
    server.stop()


def authorize_first_endpoint(server: ServerProcess) -> int:
    """What an admin does in the admin pages: authorize the machine that registered."""

    def pending() -> int | None:
        with server.admin() as admin:
            endpoints = admin.get("/api/v1/admin/endpoints").raise_for_status().json()
        waiting = [e["id"] for e in endpoints if e["state"] == "pending"]
        return waiting[0] if waiting else None

    endpoint_id = wait_for(pending, 30, "the client to register")
    with server.admin() as admin:
        admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/authorize").raise_for_status()
    return endpoint_id


def channel_state(client: Client) -> str:
    """The last channel.status the channel logged."""
    log = client.root / "log" / "channel.log"
    states = [line for line in log.read_text().splitlines() if "channel.status" in line]
    return states[-1].split("state=")[1].split()[0] if states else ""


@pytest.fixture
def online_client(
    make_client: Callable[..., Client], cloud: ServerProcess, certificates: Certificates
) -> Callable[..., Client]:
    """A local-mode client connected to ``cloud`` and authorized, with sync, spooler,
    delivery and channel running."""

    def make(printers: list[dict], **settings: object) -> Client:
        client = make_client(
            printers, server_url=cloud.base_url, ca_file=str(certificates.ca_file), **settings
        )
        client.start("sync", "spooler", "delivery", "channel")
        authorize_first_endpoint(cloud)
        wait_for(lambda: channel_state(client) == "online", 60, "the channel to be online")
        return client

    return make
