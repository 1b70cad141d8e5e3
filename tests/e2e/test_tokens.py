"""Short-lived endpoint tokens end to end: with a 3 s access token a client keeps printing,
releasing, syncing and uploading across many expiries without anyone noticing; a revoked client
loses its channel and its uploads are refused within seconds, and it says so."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.states import JobState
from services.core import endpoint, users
from services.core.ipp import Operation, Status
from support import ROOT
from support.ports import free_port
from support.server import ServerProcess, add_printer_and_port
from support.waiting import wait_for
from tests.e2e.conftest import (
    Certificates,
    authorize_first_endpoint,
    channel_state,
    serve_cloud,
)
from tests.e2e.test_trace import events
from tests.server.clients import header, upload

ACCESS_TTL = 3.0
# Revocation must reach a connected client within this; it bounds a wait, it is not a timing.
REVOCATION_BOUND = 5.0
PULL = {"name": "hall", "kind": "pull"}


@pytest.fixture
def cloud(tmp_path: Path, certificates: Certificates) -> Iterator[ServerProcess]:
    """The reference server handing out 3-second access tokens (this module's `cloud`)."""
    yield from serve_cloud(tmp_path, certificates, "--access-token-ttl", str(ACCESS_TTL))


def add_user(cloud: ServerProcess, name: str) -> None:
    with cloud.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": name, "password": "pw"}).raise_for_status()


def release(cloud: ServerProcess, user: str, printer: str) -> list[str]:
    with cloud.admin() as admin:
        reply = admin.post("/api/v1/release", json={"user": user, "printer": printer})
        return reply.raise_for_status().json()["job_ids"]


def print_bytes(client, printer: str, data: bytes) -> int:
    reply = client.ipp(Operation.PRINT_JOB, printer=printer, user="alice", document=data)
    assert reply.code == Status.OK, reply.operation.get("status-message")
    return max(job.id for job in client.jobs())


def credentials(client) -> endpoint.Credentials | None:
    return endpoint.load_credentials(client.root / "state")


def channel_states(client) -> list[str]:
    log = client.root / "log" / "channel.log"
    return [
        line.split("state=")[1].split()[0]
        for line in log.read_text().splitlines()
        if "channel.status" in line
    ]


def setup_ports(cloud: ServerProcess, raw_printer) -> None:
    """A pull port released at the raw printer, and a direct port whose printer the client
    cannot reach, so its jobs go up the TLS gateway (Document Output takes them from there)."""
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, port_name="hall")
    add_printer_and_port(cloud, "away", free_port(), kind="direct", port_name="front")


def served(client, name: str) -> bool:
    return client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer=name).code == Status.OK


def print_release_and_upload(client, cloud: ServerProcess, round_: int) -> None:
    """A held job released at the printer (channel) and a job uploaded to the gateway."""
    held = print_bytes(client, "hall", f"held {round_}".encode())
    uploaded = print_bytes(client, "front", f"uploaded {round_}".encode())
    held_uuid = next(j.uuid for j in client.jobs() if j.id == held)
    wait_for(lambda: cloud.job(held_uuid), 10, "the server to learn of the held job")
    assert release(cloud, "alice", "floor1") == [held_uuid]
    wait_for(lambda: client.job_state(held) == JobState.COMPLETED, 10, "released, printed")
    # The server has it (its printer is away): processing until the server's outcome.
    wait_for(lambda: "uploaded" in events(client, uploaded), 10, "uploaded")
    assert client.job_state(uploaded) == JobState.PROCESSING


def test_client_keeps_printing_across_access_token_expiries(online_client, cloud, raw_printer):
    setup_ports(cloud, raw_printer)
    # Sync asks the server for printers every second, so it too meets expired tokens.
    client = online_client([], gateway=f"127.0.0.1:{cloud.gateway_port}", sync_interval=1)
    wait_for(lambda: served(client, "hall") and served(client, "front"), 30, "the server's ports")
    first = credentials(client)
    assert first is not None and first.lifetime == ACCESS_TTL
    mode = (client.root / "state" / endpoint.CREDENTIALS_FILE).stat().st_mode & 0o777
    assert mode == 0o600
    seen_tokens = {first.token}

    for round_ in range(4):
        # Each round starts on an access token the client has not used before.
        wait_for(
            lambda: (c := credentials(client)) is not None and c.token not in seen_tokens,
            3 * ACCESS_TTL,
            "the client to refresh its access token",
        )
        seen_tokens.add(credentials(client).token)  # type: ignore[union-attr]
        print_release_and_upload(client, cloud, round_)

    # Several expiries really passed: the first access token is long refused.
    with cloud.http(first.token) as http:
        assert http.get("/api/v1/config").json()["detail"]["code"] == "token-expired"
    printed = sorted(p.read_bytes() for p in raw_printer.jobs())
    assert printed == [f"held {r}".encode() for r in range(4)]
    assert {j.route for j in client.jobs() if j.printer == "front"} == {"via-server"}
    # Nobody noticed: the channel never left "online", no job was ever stopped, sync never failed.
    states = channel_states(client)
    assert states[states.index("online") :] == ["online"]
    logs = all_logs(client)
    after_online = sync_log_after_first_success(client)
    assert "sync.failed" not in after_online, after_online
    stopped = [ln for ln in logs.splitlines() if "processing-stopped" in ln]
    assert stopped == []
    assert cloud.logs().count("endpoint.token_refreshed") >= 4
    # No token ever reached a log line.
    for token in seen_tokens | {credentials(client).refresh_token}:  # type: ignore[union-attr]
        assert token not in logs and token not in cloud.logs()


def all_logs(client) -> str:
    return "\n".join(p.read_text(errors="replace") for p in (client.root / "log").glob("*.log"))


def sync_log_after_first_success(client) -> str:
    """Sync fails until the admin authorized the machine; from its first success on, never."""
    text = (client.root / "log" / "sync.log").read_text()
    return text[text.index("printers.changed") :]


def test_revoked_client_loses_its_channel_and_its_uploads_are_refused(
    online_client, cloud, raw_printer, tmp_path
):
    setup_ports(cloud, raw_printer)
    client = online_client([], gateway=f"127.0.0.1:{cloud.gateway_port}")
    wait_for(lambda: served(client, "front"), 30, "the server's ports")
    old = credentials(client)
    assert old is not None
    [endpoint_id] = [e["id"] for e in cloud_endpoints(cloud) if e["state"] == "authorized"]
    port_id = next(p["id"] for p in cloud_ports(cloud) if p["name"] == "front")

    with cloud.admin() as admin:
        admin.post(f"/api/v1/admin/endpoints/{endpoint_id}/revoke").raise_for_status()
    revoked_at = time.monotonic()

    def disconnected_and_refused() -> bool:
        body = b"sent with the revoked endpoint's token"
        reply = upload(
            cloud.gateway_port, cloud.ca, header(old.token, "after-revoke", port_id, body), body
        )
        assert reply is not None and reply.code == "unauthorized"
        return channel_state(client) != "online" and "channel.closed" in cloud.logs()

    wait_for(disconnected_and_refused, REVOCATION_BOUND, "the channel closed, uploads refused")
    assert time.monotonic() - revoked_at <= REVOCATION_BOUND
    # The client is back at registration, and its status says why.
    wait_for(lambda: credentials(client) is None or not credentials(client).refresh_token, 10)
    wait_for(lambda: channel_state(client) == "waiting-authorization", 30, "registered again")
    status = [ln for ln in (client.root / "log" / "channel.log").read_text().splitlines()
              if "channel.status" in ln][-1]  # fmt: skip
    assert "revoked on the server" in status
    # A job printed now is not uploaded under the old identity...
    job_id = print_bytes(client, "front", b"after the revocation")
    wait_for(lambda: client.job_state(job_id) == JobState.PROCESSING_STOPPED, 15, "held back")
    uuid = next(j.uuid for j in client.jobs() if j.id == job_id)
    assert cloud.job(uuid) is None
    # ...and once an admin authorizes the machine again, it goes up.
    authorize_first_endpoint(cloud)
    wait_for(lambda: channel_state(client) == "online", 30, "online again")
    wait_for(lambda: "uploaded" in events(client, job_id), 60, "uploaded after all")
    assert client.job_state(job_id) == JobState.PROCESSING  # its printer is away
    assert cloud.job(uuid) is not None


def cloud_endpoints(cloud: ServerProcess) -> list[dict]:
    with cloud.admin() as admin:
        return admin.get("/api/v1/admin/endpoints").raise_for_status().json()


def cloud_ports(cloud: ServerProcess) -> list[dict]:
    with cloud.admin() as admin:
        return admin.get("/api/v1/admin/ports").raise_for_status().json()


def test_disabling_a_user_logs_them_out_on_the_client(online_client, cloud, raw_printer):
    """Custom login: the OS user printing as a disabled server user is logged out at once."""
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, port_name="hall")
    client = online_client([], login_type="custom")
    wait_for(lambda: served(client, "hall"), 30, "the server's port")
    login = subprocess.run(
        [sys.executable, "-m", "cli", "login", "alice", "--os-user", "bob",
         "--password-stdin"],
        input="pw\n", env=client.env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr

    result = cloud.cli("user", "disable", "alice")
    assert result.returncode == 0, result.stderr

    def logged_out() -> bool:
        return "bob" not in users.load_map(client.store)

    wait_for(logged_out, REVOCATION_BOUND, "bob logged out on the client")
    with cloud.http() as http:
        assert (
            http.post("/api/v1/login", json={"user": "alice", "password": "pw"}).status_code == 401
        )
