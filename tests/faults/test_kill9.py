"""kill -9 of every process of the service, as supervisord runs it, at random moments while a
stream of jobs flows to a raw printer: no accepted job is lost, and none is printed again once
it completed. ``PULLPRINT_FAULT_SEED=N`` replays one run's kill schedule and job sizes."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from cli import ipp_client
from protocol.states import JobState
from services.core import ipp
from services.core.ipp import Operation, Status, Tag
from support.client import Client
from support.printers import VirtualPrinter, direct_printer
from support.process import Process
from support.waiting import wait_for

KB, MB = 1024, 1024 * 1024
SERVICES = ("api", "channel", "delivery", "spooler", "sync")
# Jobs flow while the kills go on, and until at least this many were accepted.
MIN_ACCEPTED = 10
# Slower than loopback, so a kill of delivery often lands in the middle of a document.
PRINTER_RATE = 4 * MB


def seed() -> int:
    value = int(os.environ.get("PULLPRINT_FAULT_SEED") or random.randrange(2**32))
    print(f"fault seed: PULLPRINT_FAULT_SEED={value}", file=sys.stderr)
    return value


def service_pids(supervisord: Process) -> dict[str, int]:
    """The five programs supervisord runs now, from the process table (no supervisorctl
    round trip, which would cost a Python start per look)."""
    found = {}
    for child in psutil.Process(supervisord.pid).children():
        try:
            argv = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        for name in SERVICES:
            if f"services.{name}" in argv:
                found[name] = child.pid
    return found


def document(number: int, size: int, rng: random.Random) -> bytes:
    """A document whose first line names it, so every copy or cut-off copy the printer got
    can be traced back to its job."""
    head = f"FAULTJOB {number:04d}\n".encode()
    return head + rng.randbytes(size - len(head))


def submit(client: Client, data: bytes) -> bool:
    """Print-Job to our spooler; True only for successful-ok (the job is ours to keep)."""
    uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/office"
    request = ipp.request(Operation.PRINT_JOB)
    request.operation.add("printer-uri", Tag.URI, uri)
    request.operation.add("requesting-user-name", Tag.NAME, "alice")
    try:
        reply = httpx.post(
            ipp_client.http_url(uri),
            content=ipp.encode(request) + data,
            headers={"Content-Type": "application/ipp"},
            timeout=20,
        )
    except httpx.HTTPError:
        return False  # the spooler died under us or was not back yet: not accepted
    return reply.status_code == 200 and ipp.parse(reply.content)[0].code == Status.OK


@dataclass
class Stream:
    """Jobs sent one after another until told to stop, and which the spooler accepted."""

    sent: dict[str, int] = field(default_factory=dict)  # sha256 -> job number
    accepted: set[str] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, client: Client, rng: random.Random) -> None:
        number = 0
        while (not self.stop.is_set() or len(self.accepted) < MIN_ACCEPTED) and number < 200:
            data = document(number, rng.randrange(40 * KB, 2 * MB), rng)
            digest = hashlib.sha256(data).hexdigest()
            self.sent[digest] = number
            if submit(client, data):
                self.accepted.add(digest)
            else:
                time.sleep(0.2)  # the spooler is restarting; a slow machine takes seconds
            number += 1
            time.sleep(rng.uniform(0.05, 0.3))


def kill_schedule(rng: random.Random) -> list[str]:
    """Every process once, and the two that touch jobs once more."""
    names = [*SERVICES, "spooler", "delivery"]
    rng.shuffle(names)
    return names


def fresh_pid(supervisord: Process, name: str, killed: set[int]) -> int | None:
    """The pid of ``name`` if supervisord runs it under a pid we have not killed yet."""
    pid = service_pids(supervisord).get(name)
    return pid if pid not in killed else None


def kill_at_random(supervisord: Process, names: list[str], rng: random.Random) -> list[str]:
    done: list[str] = []
    killed: set[int] = set()
    for name in names:
        while True:
            pid = wait_for(lambda name=name: fresh_pid(supervisord, name, killed), 30, f"{name} up")
            time.sleep(rng.uniform(0.2, 1.2))  # from its (re)start: early or deep into its work
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue  # it was already on its way out (a zombie listed late): the next one
            killed.add(pid)
            done.append(f"{name}:{pid}")
            break
    return done


def printed(printer: VirtualPrinter) -> list[tuple[int, str]]:
    """(job number, sha256) of everything the printer received, complete or cut off."""
    out = []
    for path in sorted(printer.directory.glob("job-*.prn")):
        data = path.read_bytes()
        number = int(data[9:13]) if data.startswith(b"FAULTJOB ") else -1
        out.append((number, hashlib.sha256(data).hexdigest()))
    return out


def start_service(client: Client) -> Process:
    supervisord = Process(
        "supervisord",
        [sys.executable, "-m", "cli", "service"],
        client.env,
        client.root / "log" / "service.out",
    )
    client.processes["supervisord"] = supervisord
    wait_for(lambda: sorted(service_pids(supervisord)) == list(SERVICES), 60, "five services")
    return supervisord


@pytest.mark.timeout(120)
def test_kill9_of_any_process_loses_no_accepted_job_and_prints_none_after_completion(
    make_client, tmp_path: Path
):
    rng = random.Random(seed())
    printer = VirtualPrinter(tmp_path / "printed", rate=PRINTER_RATE)
    printer.start()
    try:
        client = make_client([direct_printer(printer)])
        supervisord = start_service(client)
        client.wait_printer()
        stream = Stream()
        sender = threading.Thread(target=stream.run, args=(client, random.Random(rng.random())))

        sender.start()
        kills = kill_at_random(supervisord, kill_schedule(rng), rng)
        stream.stop.set()
        sender.join()

        def all_done() -> bool:
            jobs = client.jobs()
            stored = {j.sha256 for j in jobs}
            return stream.accepted <= stored and all(j.state == JobState.COMPLETED for j in jobs)

        wait_for(all_done, 90, f"every job completed after kills {kills}")
        wait_for(lambda: printer.partial_size() == 0, 30, "the printer to finish writing")
        jobs = client.jobs()
        received = printed(printer)
        assert len(stream.accepted) >= MIN_ACCEPTED, f"too few accepted to prove much: {kills}"
        for job in jobs:
            number = stream.sent[job.sha256]
            copies = [digest for n, digest in received if n == number]
            complete = copies.count(job.sha256)
            # Printed at least once; every arrival (whole or cut off) was a counted attempt,
            # and a second whole copy only when an attempt was cut off before completion.
            assert complete >= 1, f"job {number} never printed whole; kills {kills}"
            assert len(copies) <= job.attempts, f"job {number}: {copies} > attempts {job}"

        resent = sum(j.attempts > 1 for j in jobs)
        print(f"accepted {len(stream.accepted)}/{len(stream.sent)}, resent {resent}, kills {kills}")

        # Once completed, nothing is sent again: not after delivery restarts either.
        delivery = wait_for(lambda: service_pids(supervisord).get("delivery"), 30, "delivery")
        os.kill(delivery, signal.SIGKILL)
        log = client.root / "log" / "delivery.log"
        starts = log.read_text().count("service.started")
        wait_for(lambda: log.read_text().count("service.started") > starts, 30, "restart")
        time.sleep(2.5)  # one rescan_interval of the test client, for anything it would send
        assert printed(printer) == received
    finally:
        printer.stop()
