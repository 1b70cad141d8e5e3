"""Loopback ports for the services that tests and benchmarks start, handed out so that no two
starts, in this process or any other on the machine, ever get the same one."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Below 20000 lie the ports a machine's own services are often configured on (5432, 8080,
# 9100, ...); we stay clear of them rather than skip them one by one.
FIRST_PORT = 20000
LAST_PORT = 65535
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Linux's default ip_local_port_range, for a machine without /proc.
DEFAULT_EPHEMERAL = (32768, 60999)
# One byte locked per port handed out, by whichever process handed it out (any checkout, any
# user: the file is made writable for all).
CLAIMS = Path(tempfile.gettempdir()) / "pullprint-ports.lock"


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel picks from for outbound connections (and binds to port 0)."""
    try:
        low, high = (int(n) for n in EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL
    return low, high


def our_range() -> range:
    """The ports outside the ephemeral range we may hand out: the larger side of it (below
    on Linux's default: 20000-32767)."""
    low, high = ephemeral_range()
    below, above = range(FIRST_PORT, low), range(high + 1, LAST_PORT + 1)
    return below if len(below) >= len(above) else above


def port_block(worker: str | None, workers: int) -> range:
    """The ports of one process: pytest-xdist's worker ``gwN`` of ``workers`` takes the N-th
    of that many equal, disjoint blocks of :func:`our_range`; a process outside xdist (a
    plain pytest run, ``make bench``) takes all of it."""
    ports = our_range()
    if not worker or workers < 2:
        return ports
    index = int(worker.removeprefix("gw")) % workers
    size = len(ports) // workers
    return ports[index * size : (index + 1) * size]


class Ports:
    """Hands out the ports of ``block`` in order, each at most once, skipping those another
    process claimed or something is bound to."""

    def __init__(self, block: range) -> None:
        self.block = block
        self._candidates: Iterator[int] = iter(block)
        self._claims = _open_claims()

    def next(self) -> int:
        for port in self._candidates:
            if port not in _HANDED_OUT and self._claim(port) and bindable(port):
                _HANDED_OUT.add(port)
                return port
        raise RuntimeError(f"no free port left in {self.block.start}-{self.block.stop - 1}")

    def _claim(self, port: int) -> bool:
        """Lock byte ``port`` of the claims file for as long as this process lives (the kernel
        drops the lock when it exits, however it exits)."""
        if self._claims is None:
            return True
        try:
            fcntl.lockf(self._claims, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port)
        except OSError:
            return False
        return True


# Every port this process handed out, whichever Ports did: our own locks never stop us.
_HANDED_OUT: set[int] = set()


@functools.cache
def _open_claims() -> int | None:
    """The claims file, opened once and never closed: closing any descriptor of a file drops
    every POSIX lock the process holds on it. None when it cannot be opened (then only the
    worker blocks and the test bind keep ports apart)."""
    try:
        fd = os.open(CLAIMS, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        return None
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o666)  # past the umask, so another user's run can lock it too
    return fd


def bindable(port: int) -> bool:
    """Whether nothing holds ``port`` on loopback now, not even a connection in TIME_WAIT (no
    SO_REUSEADDR here, so this check is stricter than the services' own bind)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_ports: Ports | None = None


def free_port() -> int:
    """A loopback port for a service to bind, which no other start can take first.

    Binding port 0, closing it and returning the number races: until the service binds it,
    the kernel may give the same port to another probe or to any outbound connection as its
    ephemeral port (a client once got EADDRINUSE that way). Here nothing can take it:

    - outbound connections get ephemeral ports, and ours lie outside ip_local_port_range;
    - each pytest-xdist worker hands out its own disjoint block (:func:`port_block`);
    - within a process each port is handed out once;
    - any other process handing out ports here (another test run, ``make bench``, another
      checkout) skips those whose byte we locked in the claims file, and we skip its;
    - a port something already listens on, or has a connection on, fails the test bind.

    What remains is a program that is none of these binding an explicit port number in our
    block between this call and the service's bind; nothing on our side can prevent that.
    """
    global _ports
    if _ports is None:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        _ports = Ports(port_block(worker, workers))
    return _ports.next()
