"""The server and the printer go down and come back several times while jobs are delivered:
every job ends completed once and printed whole, whichever way it went (direct, or through the
server's Document Output when the printer did not answer); every other copy the printer got
belongs to an attempt that did not complete, and nothing arrives after completion."""

from __future__ import annotations

import hashlib
import os
import random
import sys
import threading
import time
from pathlib import Path

import pytest

from protocol.states import JobState
from services.core.ipp import Operation, Status
from support.printers import VirtualPrinter
from support.server import ServerProcess, add_printer_and_port
from support.waiting import wait_for

KB = 1024
JOBS = 8
FLAPS = 3
# Slow enough that a printer going down often cuts a job in the middle.
PRINTER_RATE = 2 * 1024 * 1024


class FlappingPrinter:
    """One raw virtual printer on a fixed port, stopped and started again; each run keeps
    its own folder, so nothing a previous run received is overwritten."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs: list[VirtualPrinter] = []
        self.start()

    @property
    def port(self) -> int:
        return self.runs[0].port

    def start(self) -> None:
        port = self.runs[0].port if self.runs else None
        run = VirtualPrinter(self.root / f"run{len(self.runs)}", port, rate=PRINTER_RATE)
        run.start()
        self.runs.append(run)

    def stop(self) -> None:
        self.runs[-1].stop()

    def received(self) -> list[tuple[bool, bytes]]:
        """Everything that arrived, whole or cut off, and whether the printer died holding it:
        ``job-*.prn`` once it closed its side, a ``.part`` when it was stopped before.

        A file can go between listing and reading: a reachability probe (connect and close)
        leaves an empty ``.part`` for a moment, and a job that ends is renamed. Then the folder
        is read again, so every copy is counted once and none is missed."""
        while True:
            paths = [p for run in self.runs for p in sorted(run.directory.iterdir())]
            try:
                return [(p.suffix == ".part", p.read_bytes()) for p in paths]
            except FileNotFoundError:
                continue


def flap(cloud: ServerProcess, printer: FlappingPrinter, rng: random.Random) -> list[str]:
    """Take the server, the printer or both down for a moment, ``FLAPS`` times."""
    done = []
    for _ in range(FLAPS):
        time.sleep(rng.uniform(0.3, 1.0))
        which = rng.choice(["server", "printer", "both"])
        if which in ("server", "both"):
            cloud.stop()
        if which in ("printer", "both"):
            printer.stop()
        time.sleep(rng.uniform(0.3, 1.5))
        if which in ("printer", "both"):
            printer.start()
        if which in ("server", "both"):
            cloud.start()
        done.append(which)
    return done


def served(client, name: str) -> bool:
    return client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer=name).code == Status.OK


@pytest.mark.timeout(120)
def test_server_and_printer_flapping_deliver_every_job_exactly_once(online_client, cloud, tmp_path):
    seed = int(os.environ.get("PULLPRINT_FAULT_SEED") or random.randrange(2**32))
    print(f"fault seed: PULLPRINT_FAULT_SEED={seed}", file=sys.stderr)
    rng = random.Random(seed)
    printer = FlappingPrinter(tmp_path / "printed")
    try:
        add_printer_and_port(cloud, "floor1", printer.port, kind="direct", port_name="front")
        client = online_client([], gateway=f"127.0.0.1:{cloud.gateway_port}")
        wait_for(lambda: served(client, "front"), 30, "the server's port")
        flaps: list[str] = []
        # The flapper and the job stream each get their own generator: sharing one between
        # two threads would make the schedule depend on timing, not on the seed.
        flap_rng = random.Random(rng.random())
        flapper = threading.Thread(target=lambda: flaps.extend(flap(cloud, printer, flap_rng)))
        documents = [
            f"FLAPJOB {n:04d}\n".encode() + rng.randbytes(rng.randrange(100 * KB, 800 * KB))
            for n in range(JOBS)
        ]

        flapper.start()
        for data in documents:
            assert client.ipp(Operation.PRINT_JOB, printer="front", document=data).code == (
                Status.OK
            )
            time.sleep(rng.uniform(0.1, 0.6))
        flapper.join()

        def all_printed() -> bool:
            jobs = client.jobs()
            if len(jobs) < JOBS or any(j.state != JobState.COMPLETED for j in jobs):
                return False
            uploaded = [j.uuid for j in jobs if j.route == "via-server"]
            return all((cloud.job(u) or {}).get("state") == "completed" for u in uploaded)

        wait_for(all_printed, 90, f"every job printed after flaps {flaps}")
        wait_for(lambda: printer.runs[-1].partial_size() == 0, 30, "the printer to finish")
        received = printer.received()
        resent = died_holding_tail = 0
        for n, data in enumerate(documents):
            job = next(j for j in client.jobs() if j.sha256 == hashlib.sha256(data).hexdigest())
            copies = [r for _died, r in received if r.startswith(data[:13])]
            server_attempts = (cloud.job(job.uuid) or {}).get("attempts", 0)
            # Every copy, whole or cut off, was an attempt of its own: a job is sent again only
            # when an attempt did not complete.
            assert len(copies) <= job.attempts + server_attempts, f"job {n}, flaps {flaps}"
            if data in copies:
                resent += copies.count(data) - 1
                continue
            # Raw's one blind spot (ours and Document Output's alike): the printer read the last
            # bytes and the end-of-job into its own buffer, then died. Its kernel closes the
            # connection cleanly, which is exactly how a raw printer says "taken", so the job
            # completed; only that buffer (at most 256 KiB with this printer) never reached
            # paper. Anything else is a lost job.
            held = [r for died, r in received if died and r and data.startswith(r)]
            assert held and len(data) - len(held[-1]) <= 256 * KB, (
                f"job {n} never printed whole; flaps {flaps}"
            )
            died_holding_tail += 1
        uploads = [j.uuid for j in client.jobs() if j.route == "via-server"]
        stored = [j["id"] for j in cloud.jobs() if j["id"] in uploads]
        assert sorted(stored) == sorted(uploads)  # each upload stored once on the server
        # Nothing arrives once every job completed (no attempt after completion).
        time.sleep(2.5)  # one rescan interval of the client
        assert printer.received() == received
        routes = [j.route for j in client.jobs()]
        print(f"flaps {flaps}, routes {routes}, resent whole {resent}, tail {died_holding_tail}")
    finally:
        printer.stop()
