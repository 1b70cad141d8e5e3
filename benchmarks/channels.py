"""The channels row: N endpoints with open channels (issue 22, finding 6). N simulated
endpoints (1,000; ``--channels N`` for others, 10,000 being the goal's size; 100 with
``--quick``) are registered and authorized through the REST and admin APIs, then hold one
channel each from this one process (benchmarks/channel_load.py: hello, heartbeats, acks, the
client's reconnect policy) to a real ``pullprint-server`` on a private PostgreSQL cluster
(benchmarks/channel_setup.py), or on SQLite when PostgreSQL cannot be started here; the output
says which. Figures, each beside a baseline measured in the same run against
benchmarks/idle_server.py (an asyncio server that only holds TLS connections and echoes lines)
with the same N, heartbeats and client policy:

- RSS per idle channel: the server's RSS with N channels open minus its RSS before the first,
  over N; baseline the same for the idle server's TLS connections. Goal < 0.1 MB. The baseline
  keeps asyncio's 256 KiB TLS read buffer per connection, which the server no longer does
  (server/tls_buffers.py), so this ratio can be below 1.
- CPU while idle, % of one core over the idle window; baseline the idle server's.
- Database transactions per second while idle (pg_stat_database; no baseline), and rows
  written per heartbeat the server received. Goal: no database write per heartbeat (< 0.01,
  leaving room for the timers that are not heartbeats). Not measured on SQLite.
- Release to endpoint, p50 and p99: an admin's ``POST /api/v1/release`` for one endpoint's held
  job until that endpoint's channel receives the ``release``, one release at a time on
  sampled endpoints (one not there within 30 s counts as never: ``inf``); baseline a line's
  round trip through the idle server. Goal p99 < 200 ms.
- Back after a restart: SIGTERM, start again, until every endpoint has its channel again
  (the client's backoff included); baseline the same for the idle server. Goal < 30 s (the
  goal's size is 10,000).

Several processes: ``measure`` takes the server processes (RSS and CPU are their sums) and the
URLs the endpoints use (link i takes ``urls[i % len(urls)]``). ``behind_haproxy`` runs it again
for two processes on a fresh database behind HAProxy with the shipped config (rows
``channels_Nx2_*``; enrollment and releases go to process a, the restart restarts both) when
PostgreSQL runs; else the output says why not.
"""

from __future__ import annotations

import asyncio
import math
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.channel_load import Channels, Echoes, Fleet
from benchmarks.channel_setup import Database, Tls
from benchmarks.common import MB, Row, percentile
from support import ROOT
from support.haproxy import Haproxy
from support.server import ServerProcess, add_printer_and_port

ENROLLING_AT_ONCE = 16
RELEASE_WAIT = 30.0  # s; a release that takes longer is counted as never arriving


@dataclass(frozen=True)
class Sizes:
    count: int
    heartbeat: float  # the server's and the endpoints' interval, s
    idle: float  # the idle window, s
    samples: int  # releases timed

    @classmethod
    def of(cls, quick: bool, count: int | None) -> Sizes:
        # Quick: short heartbeats, so a short window still sees several per channel.
        count = count or (100 if quick else 1000)
        if quick:
            return cls(count, 2.0, 6.0, min(count, 20))
        return cls(count, 10.0, 30.0, min(count, 200))


@dataclass
class Figures:
    rss_per_link: float  # bytes
    cpu_percent: float
    round_trips: list[float]  # s
    back_after_restart: float  # s
    xacts_per_s: float | None = None
    writes_per_heartbeat: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def rss(pids: Sequence[int]) -> int:
    return sum(psutil.Process(pid).memory_info().rss for pid in pids)


def cpu_seconds(pids: Sequence[int]) -> float:
    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids)


async def idle(fleet: Fleet, pids: Sequence[int], db: Database | None, seconds: float) -> dict:
    """CPU, transactions and rows written over ``seconds`` with nothing but heartbeats."""
    cpu, beats, counted = cpu_seconds(pids), fleet.heartbeats, db.counters() if db else None
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - started
    result = {
        "cpu_percent": 100 * (cpu_seconds(pids) - cpu) / elapsed,
        "heartbeats": fleet.heartbeats - beats,
    }
    after = db.counters() if db else None
    if counted is not None and after is not None:
        result["xacts_per_s"] = (after[0] - counted[0]) / elapsed
        result["rows_written"] = after[1] - counted[1]
        result["writes_per_heartbeat"] = result["rows_written"] / max(1, result["heartbeats"])
    return result


async def enroll(servers: Sequence[ServerProcess], count: int, tls: Tls) -> list[str]:
    """``count`` endpoints registered, authorized and given a token, as a client and an
    admin would; returns their access tokens."""
    first = servers[0]
    admin = {"Authorization": f"Bearer {first.admin_token}"}
    gate = asyncio.Semaphore(ENROLLING_AT_ONCE)
    limits = httpx.Limits(max_connections=ENROLLING_AT_ONCE)
    async with httpx.AsyncClient(
        base_url=first.base_url, verify=tls.client, timeout=60, limits=limits
    ) as http:

        async def one(index: int) -> str:
            async with gate:
                reply = await http.post(
                    "/api/v1/endpoints", json={"hostname": f"bench-{index}", "os": "linux"}
                )
                endpoint = reply.raise_for_status().json()
                path = f"/api/v1/admin/endpoints/{endpoint['endpoint_id']}"
                (await http.post(f"{path}/authorize", headers=admin)).raise_for_status()
                reply = await http.post(
                    f"/api/v1/endpoints/{endpoint['endpoint_id']}/token",
                    json={"secret": endpoint["secret"]},
                )
                return str(reply.raise_for_status().json()["token"])

        return list(await asyncio.gather(*(one(i) for i in range(count))))


async def releases(server: ServerProcess, fleet: Channels, tls: Tls) -> list[float]:
    """Seconds from each release request to its command on the endpoint's channel."""
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    took = []
    async with httpx.AsyncClient(base_url=server.base_url, verify=tls.client, timeout=60) as http:
        for index, owner in fleet.held.items():
            arrived = fleet.expect(index)
            started = time.perf_counter()
            reply = await http.post(
                "/api/v1/release", json={"user": owner, "printer": "bench"}, headers=admin
            )
            if f"bench-{index}" not in reply.raise_for_status().json()["job_ids"]:
                raise RuntimeError(f"endpoint {index}'s held job was not released: {reply.text}")
            try:
                took.append(await asyncio.wait_for(arrived, RELEASE_WAIT) - started)
            except TimeoutError:
                took.append(math.inf)  # never arrived: counted, and p99 says so if it matters
    return took


def sampled(sizes: Sizes) -> dict[int, str]:
    step = max(1, sizes.count // sizes.samples)
    return {i: f"bench-user-{i}" for i in range(0, sizes.count, step)[: sizes.samples]}


async def measure(
    servers: Sequence[ServerProcess], urls: Sequence[str], sizes: Sizes, tls: Tls, db: Database
) -> Figures:
    """The figures of our server(s): ``servers`` on one database, reached at ``urls`` (the
    servers' own, or one proxy in front of them)."""
    add_printer_and_port(servers[0], "bench", 9)  # never contacted: endpoints print
    tokens = await enroll(servers, sizes.count, tls)
    pids = [s.pid for s in servers]
    before = rss(pids)
    fleet = Channels(urls, tokens, tls.client, sizes.heartbeat, sampled(sizes))
    fleet.start()
    try:
        opened = await fleet.wait_online(60 + sizes.count / 50)
        await asyncio.sleep(sizes.heartbeat + 1)  # every channel ticked once, jobs reported
        quiet = await idle(fleet, pids, db, sizes.idle)
        held = rss(pids)
        took = await releases(servers[0], fleet, tls)
        started = time.perf_counter()
        for server in servers:
            server.stop()
        for server in servers:
            server.start()
        restarted = time.perf_counter() - started
        await fleet.wait_online(120 + sizes.count / 100, since=started)
        back = time.perf_counter() - started
    finally:
        await fleet.stop()
    return Figures(
        rss_per_link=(held - before) / sizes.count,
        cpu_percent=quiet["cpu_percent"],
        round_trips=took,
        back_after_restart=back,
        xacts_per_s=quiet.get("xacts_per_s"),
        writes_per_heartbeat=quiet.get("writes_per_heartbeat"),
        extra={"open_all_s": opened, "server_restart_s": restarted, "idle": quiet,
               "rss_before_mb": before / MB, "rss_open_mb": held / MB},
    )  # fmt: skip


class IdleServer:
    """benchmarks/idle_server.py as a process of its own, as our server is."""

    def __init__(self, tls: Tls, port: int = 0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.idle_server", str(tls.cert), str(tls.key),
             str(port)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


async def measure_baseline(sizes: Sizes, tls: Tls) -> Figures:
    server = IdleServer(tls)
    before = rss([server.process.pid])
    fleet = Echoes(sizes.count, server.port, tls.client, sizes.heartbeat)
    fleet.start()
    try:
        await fleet.wait_online(60 + sizes.count / 50)
        await asyncio.sleep(sizes.heartbeat + 1)
        quiet = await idle(fleet, [server.process.pid], None, sizes.idle)
        held = rss([server.process.pid])
        took = [await fleet.round_trip(i) for i in sampled(sizes)]
        started = time.perf_counter()
        server.stop()
        server = IdleServer(tls, server.port)
        await fleet.wait_online(120 + sizes.count / 100, since=started)
        back = time.perf_counter() - started
    finally:
        await fleet.stop()
        server.stop()
    return Figures((held - before) / sizes.count, quiet["cpu_percent"], took, back)


async def logged(servers: Sequence[ServerProcess], urls: Sequence[str], sizes: Sizes, tls: Tls,
                 db: Database) -> Figures:  # fmt: skip
    """``measure``, with the servers' last log lines in the error when it fails."""
    try:
        return await measure(servers, urls, sizes, tls, db)
    except Exception as exc:
        tails = "".join(f"\n--- {s.log_path.name} (tail) ---\n{s.logs()[-3000:]}" for s in servers)
        raise RuntimeError(f"{exc!r}{tails}") from exc
    finally:
        for server in servers:
            server.stop()


async def behind_haproxy(work: Path, sizes: Sizes, tls: Tls, db: Database,
                         options: list[str]) -> Figures | str:  # fmt: skip
    """Two processes on a fresh database behind HAProxy (support/haproxy.py and the shipped
    deploy/haproxy/haproxy.cfg); why not, when they cannot be measured here."""
    if db.pg is None:
        return "several processes share a database only on PostgreSQL"
    url = db.use("bench_channels_pair")
    servers = [ServerProcess(work / name, tls.cert, tls.key, tls.client, url, options)
               for name in ("a", "b")]  # fmt: skip
    for server in servers:
        if server is not servers[0]:
            server.share_admin_token(servers[0])  # one admin secret per cluster
        server.start()
    backends = [(s.http_port, s.gateway_port) for s in servers]
    try:
        with Haproxy.start(work / "haproxy", backends) as proxy:
            return await logged(servers, [proxy.base_url], sizes, tls, db)
    except FileNotFoundError as exc:  # no haproxy binary
        return str(exc)
    finally:
        for server in servers:
            server.stop()


async def everything(work: Path, sizes: Sizes) -> tuple[Figures, Figures | str, Figures, str]:
    """One process, two behind HAProxy (or why not), the baseline; and the database's name."""
    tls = Tls(work)
    db = Database()
    options = ["--heartbeat", str(sizes.heartbeat), "--max-connections", str(sizes.count + 1024),
               "--registrations-per-address", str(sizes.count + 100),
               "--access-token-ttl", "86400"]  # fmt: skip
    try:
        server = ServerProcess(work / "server", tls.cert, tls.key, tls.client, db.url, options)
        server.start()
        one = await logged([server], [server.base_url], sizes, tls, db)
        two = await behind_haproxy(work, sizes, tls, db, options)
    finally:
        db.stop()
    return one, two, await measure_baseline(sizes, tls), db.kind


def rows(name: str, ours: Figures, base: Figures, common: dict[str, Any]) -> list[Row]:
    """The seven figures of one configuration (``name``: the rows' common prefix)."""
    p50 = [percentile(f.round_trips, 50) * 1000 for f in (ours, base)]
    p99 = [percentile(f.round_trips, 99) * 1000 for f in (ours, base)]
    writes = ours.writes_per_heartbeat
    return [
        Row(f"{name}_rss_mb_per_idle", ours.rss_per_link / MB, base.rss_per_link / MB,
            "lower", goal="< 0.1 MB", met=ours.rss_per_link / MB < 0.1,
            extra={**common, **ours.extra}),
        Row(f"{name}_idle_cpu_pct", ours.cpu_percent, base.cpu_percent, "lower",
            extra=common),
        Row(f"{name}_db_xact_per_s", ours.xacts_per_s, None, "lower",
            note="pg_stat_database; no baseline" if ours.xacts_per_s is not None
            else "not measured on SQLite", extra=common),
        Row(f"{name}_db_writes_per_hb", writes, None, "lower",
            goal="no DB write per heartbeat (< 0.01)", met=None if writes is None
            else writes < 0.01, note="rows written / heartbeats received", extra=common),
        Row(f"{name}_release_p50_ms", p50[0], p50[1], "lower", extra=common),
        Row(f"{name}_release_p99_ms", p99[0], p99[1], "lower", goal="< 200 ms",
            met=p99[0] < 200, extra={**common, "samples": len(ours.round_trips),
            "not_arrived": sum(math.isinf(t) for t in ours.round_trips)}),
        Row(f"{name}_restart_back_s", ours.back_after_restart, base.back_after_restart,
            "lower", goal="< 30 s (at 10,000)", met=ours.back_after_restart < 30,
            extra=common),
    ]  # fmt: skip


def run(work: Path, quick: bool, count: int | None = None) -> list[Row]:
    sizes = Sizes.of(quick, count)
    # Each channel is a descriptor here and one in the server (which inherits this limit).
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    one, two, base, kind = asyncio.run(everything(work, sizes))
    n = sizes.count
    print(f"channels: {n} endpoints on {kind}; heartbeat {sizes.heartbeat:g} s, idle window "
          f"{sizes.idle:g} s; channels_{n}: one server process", flush=True)  # fmt: skip
    common = {"channels": n, "database": kind, "heartbeat_s": sizes.heartbeat}
    found = rows(f"channels_{n}", one, base, {**common, "processes": 1})
    if isinstance(two, str):
        print(f"channels_{n}x2: two processes behind HAProxy not measured: {two}", flush=True)
        return found
    print(f"channels_{n}x2: two server processes behind HAProxy", flush=True)
    return found + rows(f"channels_{n}x2", two, base, {**common, "processes": 2})
