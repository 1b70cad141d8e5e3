"""The server as a real cluster (issue 22), end to end.

A private PostgreSQL, HAProxy with the shipped config (deploy/haproxy/) and two server
processes; two PCs in gateway mode, each given only HAProxy's addresses, print 50 jobs to two
IPP printers (Debian's ippeveprinter): one printer takes its jobs at once (a direct port), the
other holds them until they are released at it (a pull port), and the releases go to both
processes. In the middle, the process that stored the most of the held jobs is SIGKILLed and
its jobs are released through HAProxy, to the one left.

Every job prints exactly once, whole, in the order its PC printed it on each printer; the jobs
the killed process had stored print from the other one; every PC says completed for each job.
An IPP printer is used because it tells a job cut off by a kill (the request never ends) from
a whole one; a raw printer cannot.
"""

from __future__ import annotations

import re
import shutil
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from protocol.states import JobState
from services.core.ipp import Operation, Status
from support.client import Client
from support.haproxy import Haproxy
from support.postgres import PostgresServer, pg_bindir
from support.server import ServerProcess, add_printer_and_port
from support.waiting import wait_for
from tests.documents import minimal_pdf
from tests.e2e.conftest import SERVER_OPTIONS, Certificates
from tests.e2e.test_routes import add_user, served
from tests.server.fleet import client_behind
from tests.server.peers import IppEvePrinter

PER_PC = 25  # two PCs: 50 jobs
USERS = ("alice", "bob")  # one per PC
DIRECT, PULL = "front", "hall"  # the ports; their printers are floor1 and floor2


@pytest.fixture
def cluster(
    tmp_path: Path, certificates: Certificates
) -> Iterator[tuple[list[ServerProcess], Haproxy]]:
    """Two server processes on one fresh PostgreSQL database, behind HAProxy."""
    bindir = pg_bindir()
    if bindir is None or shutil.which("haproxy") is None:
        pytest.skip("PostgreSQL or haproxy absent (Debian packages; make test installs them)")
    postgres = PostgresServer(bindir)
    servers: list[ServerProcess] = []
    try:
        postgres.start()
        url = postgres.create_database("cluster")
        for name in ("a", "b"):
            server = ServerProcess(
                tmp_path / name, certificates.cert, certificates.key, certificates.context, url,
                SERVER_OPTIONS,
            )  # fmt: skip
            if servers:
                server.share_admin_token(servers[0])  # one admin secret for the cluster
            servers.append(server)
            server.start()
        backends = [(s.http_port, s.gateway_port) for s in servers]
        with Haproxy.start(tmp_path / "haproxy", backends) as proxy:
            yield servers, proxy
    finally:
        for server in servers:
            server.stop()
        postgres.stop()


@pytest.fixture
def printers(tmp_path: Path) -> Iterator[dict[str, IppEvePrinter]]:
    started = {}
    try:
        for port in (DIRECT, PULL):
            started[port] = IppEvePrinter(tmp_path / f"printer-{port}")
            started[port].start()
        yield started
    finally:
        for printer in started.values():
            printer.stop()


def printed_in_order(printer: IppEvePrinter) -> list[bytes]:
    """The documents the printer printed, in the order it took the jobs (its job ids)."""
    files = printer._printed()
    return [p.read_bytes() for p in sorted(files, key=lambda p: int(p.name.split("-")[0]))]


def stored_by(server: ServerProcess) -> set[str]:
    """The jobs this process's gateway stored, from its log."""
    return set(re.findall(r"gateway\.stored job=(\S+)", server.logs()))


def release(via: ServerProcess | Haproxy, tls: ssl.SSLContext, token: str, user: str) -> list[str]:
    """``user``'s held jobs released at the pull printer, through ``via``."""
    with httpx.Client(base_url=via.base_url, verify=tls, timeout=30) as http:
        reply = http.post(
            "/api/v1/release",
            headers={"Authorization": f"Bearer {token}"},
            json={"user": user, "printer": "floor2"},
        )
    return reply.raise_for_status().json()["job_ids"]


def print_job(client: Client, port: str, user: str, document: bytes) -> str:
    reply = client.ipp(Operation.PRINT_JOB, printer=port, user=user, document=document)
    assert reply.code == Status.OK, reply.operation.get("status-message")
    return max(client.jobs(), key=lambda job: job.id).uuid


@pytest.mark.timeout(600)
def test_fifty_jobs_through_a_cluster_print_once_in_order_with_a_process_killed(
    cluster: tuple[list[ServerProcess], Haproxy],
    printers: dict[str, IppEvePrinter],
    make_client: Callable[..., Client],
    certificates: Certificates,
) -> None:
    servers, proxy = cluster
    a = servers[0]
    token = a.admin_token
    for user in USERS:
        add_user(a, user)
    for port, printer in printers.items():
        kind = "direct" if port == DIRECT else "pull"
        floor = "floor1" if port == DIRECT else "floor2"
        add_printer_and_port(
            a, floor, printer.port, protocol="ipp", path="/ipp/print", kind=kind,
            port_name=port,
        )  # fmt: skip
    pcs = [client_behind(proxy, make_client, certificates.ca_file, a) for _user in USERS]
    for pc in pcs:
        for port in (DIRECT, PULL):
            wait_for(lambda pc=pc, port=port: served(pc, port), 60, f"port {port} synced")

    # Each PC's documents (PDF: what the printers take), in the order it prints them; odd
    # ones held, even ones at once.
    documents = {
        user: [minimal_pdf(f"{user} job {n:02d} " * (40 + 30 * n)) for n in range(PER_PC)]
        for user in USERS
    }
    sent: dict[str, dict[str, list[bytes]]] = {user: {DIRECT: [], PULL: []} for user in USERS}
    held: dict[str, list[str]] = {user: [] for user in USERS}

    def print_half(numbers: range) -> None:
        for n in numbers:
            for pc, user in zip(pcs, USERS, strict=True):
                port = PULL if n % 2 else DIRECT
                uuid = print_job(pc, port, user, documents[user][n])
                sent[user][port].append(documents[user][n])
                if port == PULL:
                    held[user].append(uuid)

    def all_stored(user: str) -> bool:
        ours = set().union(*(stored_by(s) for s in servers))
        return set(held[user]) <= ours

    # First half: released through each process in turn.
    print_half(range(PER_PC // 2))
    for server, user in zip(servers, USERS, strict=True):
        wait_for(lambda user=user: all_stored(user), 60, f"{user}'s held jobs stored")
        assert release(server, certificates.context, token, user) == held[user]
    # Second half: the process that stored most of the held jobs dies before they are released.
    before = {user: len(held[user]) for user in USERS}
    print_half(range(PER_PC // 2, PER_PC))
    for user in USERS:
        wait_for(lambda user=user: all_stored(user), 60, f"{user}'s held jobs stored")
    later = {uuid for user in USERS for uuid in held[user][before[user] :]}
    victim = max(servers, key=lambda s: len(stored_by(s) & later))
    orphans = stored_by(victim) & later
    assert orphans, "the killed process holds held jobs of its own"
    victim.proc.kill()  # type: ignore[union-attr]  # SIGKILL: no goodbye to anyone
    victim.proc.wait()  # type: ignore[union-attr]
    for user in USERS:
        assert release(proxy, certificates.context, token, user) == held[user][before[user] :]

    def all_completed() -> bool:
        states = [job.state for pc in pcs for job in pc.jobs()]
        return len(states) == 2 * PER_PC and set(states) == {JobState.COMPLETED}

    wait_for(all_completed, 240, "all 50 jobs completed on their PCs")
    survivor = next(s for s in servers if s is not victim)
    assert orphans <= set(re.findall(r"output\.completed job=(\S+)", survivor.logs()))
    for port, printer in printers.items():
        arrived = printed_in_order(printer)
        for user in USERS:
            # Exactly once each, in the order the PC printed them.
            assert [d for d in arrived if d in sent[user][port]] == sent[user][port]
        assert len(arrived) == sum(len(sent[user][port]) for user in USERS)
