"""Row 7: sync of 1,000 input ports. The reference server (``pullprint-server run``, trustme
TLS, as tests/e2e start it) gets 1,000 input ports through its admin REST API; a client's sync
process runs first without a token (its sync fails: not authorized), then gets the endpoint
token and a ``sync.now`` over the bus, and is timed until its store holds all 1,000 printers.
OS queues are off (``os_queues = "none"``) so the figure is sync's own, not lpadmin's.

The baseline is one plain ``GET /api/v1/printers`` of the same list with a fresh TLS connection,
as sync makes every run: what any client must at least spend to learn the ports.
Goal: under 10 s.
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import time
from pathlib import Path

import httpx
import trustme
import zmq.asyncio
from sqlalchemy import func, select

from benchmarks.common import Row, close
from services.core import endpoint
from services.core.bus import RequestFailed, request
from services.core.messages import StatusRequest, WakeRequest
from services.core.store import Printer
from support.client import Client
from support.server import ServerProcess, authorized_endpoint
from support.waiting import wait_for

PRINTERS = 10


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate for 127.0.0.1 (as tests/e2e/conftest.py makes)."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = directory / "server.pem", directory / "server.key", directory / "ca.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    ca.cert_pem.write_to_path(str(ca_file))
    return cert, key, ca_file


def seed(server: ServerProcess, ports: int) -> None:
    """Ten printers; half the ports direct (one target each), half pull (two printers each)."""
    with server.admin() as admin:
        for n in range(PRINTERS):
            admin.post(
                "/api/v1/admin/printers",
                json={"name": f"p{n}", "host": "127.0.0.1", "port": 9100 + n, "protocol": "raw"},
            ).raise_for_status()
        for n in range(ports):
            kind = "direct" if n % 2 else "pull"
            chosen = [f"p{n % PRINTERS}"] if kind == "direct" else [f"p{n % PRINTERS}", "p0"]
            admin.post(
                "/api/v1/admin/ports",
                json={"name": f"port-{n:04d}", "kind": kind, "printers": sorted(set(chosen))},
            ).raise_for_status()


def ask(client: Client, message: object) -> dict | None:
    async def once() -> dict | None:
        ctx = zmq.asyncio.Context()
        try:
            return await request(ctx, client.root / "run", "sync", message, src="bench")  # type: ignore[arg-type]
        except RequestFailed:
            return None
        finally:
            ctx.term()

    return asyncio.run(once())


def server_printers(client: Client) -> int:
    with client.store.session() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Printer).where(Printer.source == "server")
            )
            or 0
        )


def timed_sync(client: Client, expected: int) -> float:
    """sync.now, then poll until the store has ``expected`` server printers and sync says ok."""
    before = (ask(client, StatusRequest()) or {}).get("last_sync") or 0
    started = time.perf_counter()
    if ask(client, WakeRequest()) is None:
        raise RuntimeError("sync did not answer sync.now")
    while True:
        status = ask(client, StatusRequest()) or {}
        if (status.get("last_sync") or 0) > before and status.get("state") in ("ok", "failed"):
            break
        if time.perf_counter() - started > 300:
            raise RuntimeError(f"sync did not finish in 300 s:\n{client.logs()}")
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    if status["state"] != "ok" or server_printers(client) != expected:
        raise RuntimeError(f"sync {status}; {server_printers(client)} of {expected} printers")
    return elapsed


def plain_get(base_url: str, ca: ssl.SSLContext, token: str) -> float:
    started = time.perf_counter()
    with httpx.Client(verify=ca, timeout=60) as http:
        headers = {"Authorization": f"Bearer {token}"}
        reply = http.get(f"{base_url}/api/v1/printers", headers=headers)
        reply.raise_for_status()
        ports = len(reply.json()["ports"])
    elapsed = time.perf_counter() - started
    assert ports > 0
    return elapsed


def run(work: Path, quick: bool) -> list[Row]:
    ports = 100 if quick else 1000
    cert, key, ca_file = certificates(work)
    ca = ssl.create_default_context(cafile=str(ca_file))
    server = ServerProcess(work / "server", cert, key, ca, None)
    client: Client | None = None
    try:
        server.start()
        seeding = time.perf_counter()
        seed(server, ports)
        seeding = time.perf_counter() - seeding
        client = Client(server_url=server.base_url, ca_file=str(ca_file), sync_interval=3600)
        client.start("sync")
        # Without a token the first sync fails at once; then it waits for sync.now.
        wait_for(lambda: (ask(client, StatusRequest()) or {}).get("state") == "failed", 60)
        _, token = authorized_endpoint(server, "bench-pc")
        endpoint.save_token(client.root / "state", token)
        first = timed_sync(client, ports)
        again = timed_sync(client, ports)  # nothing changed: the incremental path
        baseline = statistics.median(plain_get(server.base_url, ca, token) for _ in range(3))
    finally:
        if client is not None:
            close(client)
        server.stop()
    return [
        Row(
            f"sync_{ports}_ports_s",
            first,
            baseline,
            "lower",
            goal="< 10 s",
            met=first < 10,
            note="sync.now to all ports in the store; baseline one GET of the same list",
            extra={"ports": ports, "resync_unchanged_s": again, "seeding_s": seeding},
        )
    ]
