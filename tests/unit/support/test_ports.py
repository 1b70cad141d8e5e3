"""free_port hands out ports no other start can take: outside the kernel's ephemeral range, a
disjoint block per pytest-xdist worker, never the same port twice, never one another process
holds or something is bound to."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys

import pytest

from support import ROOT
from support.ports import Ports, ephemeral_range, free_port, our_range, port_block


@pytest.mark.parametrize("workers", [2, 4, 8, 16])
def test_every_worker_has_its_own_block(workers: int) -> None:
    blocks = [set(port_block(f"gw{n}", workers)) for n in range(workers)]
    assert all(blocks)
    for a, b in itertools.combinations(blocks, 2):
        assert not a & b


def test_no_block_reaches_into_the_ephemeral_range() -> None:
    low, high = ephemeral_range()
    ours = our_range()
    assert ours.stop <= low or ours.start > high
    for block in [port_block(None, 1), *(port_block(f"gw{n}", 4) for n in range(4))]:
        assert block.start >= ours.start and block.stop <= ours.stop


def test_a_port_is_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    block = port_block(worker, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    assert all(port in block for port in ports)


def test_another_process_in_the_same_block_skips_the_ports_we_hold() -> None:
    ours = {free_port() for _ in range(5)}
    # The same environment, so the same worker block, which it goes through from the start
    # until it is past ours: without the claims it would hand out ours again.
    theirs = subprocess.run(
        [sys.executable, "-c", "from support.ports import free_port\n"
         f"while (port := free_port()) <= {max(ours)}: print(port)"],
        cwd=ROOT, env=os.environ, capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert not ours & {int(port) for port in theirs}


def test_a_port_something_is_bound_to_is_skipped() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]  # never one of ours: those are never handed out twice
        with pytest.raises(RuntimeError, match="no free port"):
            Ports(range(port, port + 1)).next()
