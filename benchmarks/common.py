"""What every benchmark row shares: the row record, documents, the baseline sink process, IPP
bodies sent without a client library in the way, and the production service (supervisord)
with psutil over its processes.

Real processes come from the support package (Client, Process, VirtualPrinter), which tests
use too; nothing here imports from tests/ (its conftest is full of fixtures).
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from services.core import ipp
from services.core.ipp import Operation, Tag
from support import ROOT
from support.client import Client
from support.process import Process
from support.waiting import wait_for

MB = 1024 * 1024
CHUNK = 256 * 1024
SERVICES = ("api", "channel", "delivery", "spooler", "sync")


@dataclass
class Row:
    """One line of the table. ``ratio`` is always ours / baseline; ``better`` says which way
    is good for this row, ``goal`` the goal of DESIGN.md 10 and ``met`` whether we reached it
    (None when the row has no absolute goal or could not be measured)."""

    name: str
    ours: float | None
    baseline: float | None
    better: str  # "higher" or "lower"
    goal: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.baseline:
            return None
        return self.ours / self.baseline


def make_file(path: Path, size: int) -> None:
    """Incompressible bytes, cheap to make (one random MB repeated)."""
    block = os.urandom(MB)
    with path.open("wb") as f:
        whole, rest = divmod(size, MB)
        for _ in range(whole):
            f.write(block)
        f.write(block[:rest])


def chunks(path: Path, header: bytes = b"") -> Iterator[bytes]:
    if header:
        yield header
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: p99 of 300 samples is the 297th smallest, a real sample."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


# --- the baseline receiver ----------------------------------------------------------------------


class Sink:
    """``python -m benchmarks.sink``: the machine's limit for durably receiving bytes, in its
    own process as our spooler is in its own."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.sink", str(directory)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def send(self, data: bytes) -> None:
        """One job: connect, send, half-close, wait for "ok" (after the sink's fsync)."""
        with socket.create_connection(("127.0.0.1", self.port)) as conn:
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
            if conn.recv(2) != b"ok":
                raise RuntimeError("the sink did not confirm")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


# --- IPP ----------------------------------------------------------------------------------------


def print_job_body(port: int, printer: str, document: bytes, user: str = "bench") -> bytes:
    request = ipp.request(Operation.PRINT_JOB)
    request.operation.add("printer-uri", Tag.URI, f"ipp://127.0.0.1:{port}/printers/{printer}")
    request.operation.add("requesting-user-name", Tag.NAME, user)
    request.operation.add("document-format", Tag.MIME_TYPE, "application/octet-stream")
    return ipp.encode(request) + document


def post_ipp(port: int, printer: str, body: bytes) -> None:
    """One Print-Job on a new connection (as each CUPS job arrives), with the stdlib client so
    the figure is the spooler's, not a client library's."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", f"/printers/{printer}", body, {"Content-Type": "application/ipp"})
        reply = conn.getresponse()
        content = reply.read()
    finally:
        conn.close()
    if reply.status != 200 or ipp.parse(content)[0].code != ipp.Status.OK:
        raise RuntimeError(f"the spooler refused a job: HTTP {reply.status}")


# --- the production service ---------------------------------------------------------------------


class Service:
    """``pullprint service`` (supervisord with the five processes) for one Client."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.process = Process(
            "supervisord",
            [sys.executable, "-m", "cli", "service"],
            client.env,
            client.root / "log" / "service.out",
        )
        client.processes["supervisord"] = self.process

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children()
        except psutil.NoSuchProcess:
            return []

    def wait_running(self, timeout: float = 60) -> None:
        def five() -> bool:
            names = sorted(service_name(p) for p in self.children())
            return names == list(SERVICES)

        wait_for(five, timeout, "the five services to run")

    def rss(self) -> dict[str, int]:
        """RSS of each supervised service now (bytes)."""
        sizes = {}
        for child in self.children():
            try:
                sizes[service_name(child)] = child.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return sizes

    def pss(self) -> dict[str, int]:
        """PSS: shared library pages divided among the processes sharing them."""
        sizes = {}
        for child in self.children():
            try:
                sizes[service_name(child)] = child.memory_full_info().pss
            except (psutil.NoSuchProcess, AttributeError):
                continue
        return sizes


def service_name(process: psutil.Process) -> str:
    try:
        argv = process.cmdline()
    except psutil.NoSuchProcess:
        return "?"
    module = argv[argv.index("-m") + 1] if "-m" in argv else ""
    return module.removeprefix("services.")


def api_status(client: Client) -> dict[str, Any] | None:
    """The facade's /status when every service answers, else None."""
    try:
        reply = httpx.get(f"http://127.0.0.1:{client.api_port}/status", timeout=5)
        status = reply.json()
    except (httpx.HTTPError, ValueError):
        return None
    return status if status.get("ok") else None


def close(client: Client) -> None:
    """Stop every process of the client and remove its directory (documents can be 1 GB)."""
    client.close()
    shutil.rmtree(client.root, ignore_errors=True)


def wait_file(directory: Path, pattern: str, size: int, timeout: float) -> Path:
    """Poll every 5 ms until a complete file of ``size`` bytes is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in directory.glob(pattern):
            if path.stat().st_size == size:
                return path
        time.sleep(0.005)
    raise RuntimeError(f"no {pattern} of {size} bytes in {directory} after {timeout} s")
