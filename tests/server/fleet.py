"""What tests of several server processes do with a client and read to tell where its
channel is: its own status lines and the servers' logs."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import httpx

from protocol.states import JobState
from services.core.ipp import Operation, Status
from support.client import Client
from support.haproxy import Haproxy
from support.server import ServerProcess
from tests.e2e.conftest import authorize_first_endpoint


def client_behind(
    proxy: Haproxy, make_client: Callable[..., Client], ca_file: Path, admin: ServerProcess
) -> Client:
    """A PC in gateway mode whose one server is ``proxy``: started, registered through it and
    authorized on ``admin``, a process behind it."""
    client = make_client(
        [], mode="gateway", servers=[proxy.base_url], gateway=proxy.gateway,
        ca_file=str(ca_file),
    )  # fmt: skip
    client.start("sync", "spooler", "delivery", "channel")
    authorize_first_endpoint(admin)
    return client


def statuses(client: Client) -> list[tuple[str, str]]:
    """Every (state, server) the channel logged, oldest first."""
    log = client.root / "log" / "channel.log"
    found = []
    for line in log.read_text().splitlines() if log.exists() else []:
        if "channel.status" in line:
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            found.append((fields.get("state", ""), fields.get("server", "")))
    return found


def online_on(client: Client, url: str) -> bool:
    found = statuses(client)
    return bool(found) and found[-1] == ("online", url)


def channels_opened(server: ServerProcess) -> int:
    return server.logs().count("channel.open")


def print_held(client: Client, port: str, data: bytes) -> str:
    """Print to a pull port as alice; the job's uuid."""
    reply = client.ipp(Operation.PRINT_JOB, printer=port, user="alice", document=data)
    assert reply.code == Status.OK, reply.operation.get("status-message")
    return max(client.jobs(), key=lambda job: job.id).uuid


def served(client: Client, port: str) -> bool:
    return client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer=port).code == Status.OK


def release(base_url: str, ca: ssl.SSLContext, admin_token: str, printer: str) -> list[str]:
    """Alice's held jobs released at ``printer`` by the admin API at ``base_url`` (a server
    process, or HAProxy: the one admin token opens it on whichever process answers)."""
    with httpx.Client(base_url=base_url, verify=ca, timeout=30) as http:
        released = http.post(
            "/api/v1/release",
            headers={"Authorization": f"Bearer {admin_token}"},
            json={"user": "alice", "printer": printer},
        )
    return released.raise_for_status().json()["job_ids"]


def job_state(client: Client, job_uuid: str) -> JobState | None:
    return next((j.state for j in client.jobs() if j.uuid == job_uuid), None)
