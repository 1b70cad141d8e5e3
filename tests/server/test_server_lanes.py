"""A printer's lane across server processes (issue 22, finding 3): two processes on one
PostgreSQL print one printer's jobs one at a time and in order, and a process killed while it
holds a lane does not keep it."""

from __future__ import annotations

import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.lanes import Lanes
from server.store import Store
from support.server import ServerProcess, add_printer_and_port, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import header, unique, upload
from tests.server.peers import RawSink

# A process hears of the other's finished job at its next rescan: a short one keeps the test
# short, it changes nothing the test asserts.
POLL = ("--output-poll", "0.2")


class SlowPrinter(RawSink):
    """A raw printer that takes `pace` seconds over each job, counts the connections open at
    once (a lane must keep that at one) and, with `stall_first`, stops reading its first
    job after 64 KiB until `resume` is set: a sender stuck mid-stream."""

    def __init__(self, directory: Path, pace: float, stall_first: bool = False) -> None:
        self.pace = pace
        self.open = self.most_open = 0
        self.guard = threading.Lock()
        self.stall_first = stall_first
        self.stalled, self.resume = threading.Event(), threading.Event()
        super().__init__(directory)

    def _receive(self, conn: socket.socket, number: int) -> None:
        with self.guard:
            self.open += 1
            self.most_open = max(self.most_open, self.open)
        part = self.directory / f".job-{number}.part"
        with part.open("wb") as f:
            if self.stall_first and number == 1:
                f.write(conn.recv(64 * 1024))
                self.stalled.set()
                self.resume.wait(60)
            time.sleep(self.pace)  # the printer is slow; the sender waits for its close
            while chunk := conn.recv(256 * 1024):
                f.write(chunk)
        with self.guard:
            self.open -= 1  # before the close: the sender's next job can only follow it
        conn.close()
        part.rename(self.directory / f"job-{number}.bin")

    def arrived(self) -> list[bytes]:
        """Each connection's bytes, in the order the connections were opened."""
        done = {int(p.stem.split("-")[1]): p for p in self.directory.glob("job-*.bin")}
        return [done[n].read_bytes() for n in sorted(done)]


@pytest.fixture
def cluster(db_kind: str) -> None:
    if db_kind == "sqlite":
        pytest.skip("several server processes share a database only on PostgreSQL")


@pytest.fixture
def stalling(tmp_path: Path) -> Iterator[SlowPrinter]:
    """A printer whose first job stalls after 64 KiB until the test sets `resume`."""
    printer = SlowPrinter(tmp_path / "printed", pace=0.05, stall_first=True)
    yield printer
    printer.resume.set()
    printer.stop()


def _pull_port(server: ServerProcess, printer_dev: RawSink) -> tuple[str, int, str, str]:
    """An endpoint's token, a pull port for a new printer on `printer_dev`, the printer's
    name and a new user's name."""
    _, token = authorized_endpoint(server)
    printer = unique("lane")
    return token, add_printer_and_port(server, printer, printer_dev.port), printer, unique("u")


def _hold(server: ServerProcess, token: str, port_id: int, owner: str, body: bytes) -> str:
    job_id = unique("job")
    reply = upload(server.gateway_port, server.ca, header(token, job_id, port_id, body,
                                                          owner=owner), body)  # fmt: skip
    assert reply is not None and reply.code == "stored", reply
    return job_id


def _release(server: ServerProcess, user: str, printer: str) -> list[str]:
    with server.admin() as admin:
        released = admin.post("/api/v1/release", json={"user": user, "printer": printer})
    return released.raise_for_status().json()["job_ids"]


def test_jobs_stored_through_two_processes_print_one_at_a_time_in_upload_order(
    start_server: Callable[..., ServerProcess], cluster: None, tmp_path: Path
) -> None:
    a, b = start_server(*POLL, name="a"), start_server(*POLL, name="b")
    printer_dev = SlowPrinter(tmp_path / "printed", pace=0.3)
    try:
        token_a, port_id, printer, user = _pull_port(a, printer_dev)
        _, token_b = authorized_endpoint(b, "pc-b")
        bodies = [f"job {n} of ten ".encode() * 5000 for n in range(10)]
        # a's jobs are printed by a and b's by b: each process has its documents in its spool.
        job_ids = [_hold(s, t, port_id, user, body) for s, t, body in
                   zip([a, b] * 5, [token_a, token_b] * 5, bodies, strict=True)]  # fmt: skip
        assert _release(a, user, printer) == job_ids

        wait_for(lambda: len(printer_dev.arrived()) == 10, 120, "all ten printed")
        assert printer_dev.most_open == 1
        assert printer_dev.arrived() == bodies
        wait_for(lambda: all(j["state"] == "completed" for j in _jobs(a, job_ids)), 30, "done")
        assert [j["attempts"] for j in _jobs(a, job_ids)] == [1] * 10
    finally:
        printer_dev.stop()


def _jobs(server: ServerProcess, job_ids: list[str]) -> list[dict[str, object]]:
    by_id = {j["id"]: j for j in server.jobs()}
    return [by_id[j] for j in job_ids]


def _sender(pair: tuple[ServerProcess, ServerProcess], job_id: str) -> ServerProcess | None:
    sending = re.compile(rf"output\.sending job={re.escape(job_id)} ")
    return next((s for s in pair if sending.search(s.logs())), None)


def test_a_lane_held_by_a_killed_process_passes_to_the_other_which_resends_the_cut_off_job(
    start_server: Callable[..., ServerProcess], cluster: None,
    stalling: SlowPrinter,
) -> None:  # fmt: skip
    a, b = start_server(*POLL, name="a"), start_server(*POLL, name="b")
    token, port_id, printer, user = _pull_port(a, stalling)
    # The first is larger than the socket buffers: its sender is stuck mid-stream.
    bodies = [os.urandom(16 * 1024 * 1024)] + [f"job {n} ".encode() * 3000 for n in range(5)]
    job_ids = [_hold(s, token, port_id, user, body) for s, body in
               zip([a, b, a, b, a, b], bodies, strict=True)]  # fmt: skip
    assert _release(b, user, printer) == job_ids

    assert stalling.stalled.wait(60), "the first job never reached the printer"
    holder = wait_for(lambda: _sender((a, b), job_ids[0]), 30, "who sends the first job")
    survivor = b if holder is a else a
    os.kill(holder.pid, signal.SIGKILL)
    holder.proc.wait(30)  # type: ignore[union-attr]
    stalling.resume.set()

    wait_for(lambda: len(stalling.arrived()) == 7, 120, "the rest printed by the other")
    arrived = stalling.arrived()
    assert len(arrived[0]) < len(bodies[0]) and bodies[0].startswith(arrived[0])  # cut off
    assert arrived[1:] == bodies  # resent once, whole, then the rest in order
    wait_for(lambda: all(j["state"] == "completed" for j in _jobs(survivor, job_ids)), 30,
             "all completed")  # fmt: skip
    assert [j["attempts"] for j in _jobs(survivor, job_ids)] == [2, 1, 1, 1, 1, 1]
    assert "output.orphaned job=" + job_ids[0] in survivor.logs()


def test_a_process_starting_while_another_sends_a_job_leaves_that_job_to_it(
    start_server: Callable[..., ServerProcess], cluster: None,
    stalling: SlowPrinter,
) -> None:  # fmt: skip
    a = start_server(*POLL, name="a")
    token, port_id, printer, user = _pull_port(a, stalling)
    body = os.urandom(16 * 1024 * 1024)
    job_id = _hold(a, token, port_id, user, body)
    assert _release(a, user, printer) == [job_id]
    assert stalling.stalled.wait(60), "the job never reached the printer"

    b = start_server(*POLL, name="b")  # a restart on the same storage would do the same
    assert _jobs(b, [job_id])[0]["state"] == "processing"  # still a's to send
    stalling.resume.set()
    wait_for(lambda: _jobs(a, [job_id])[0]["state"] == "completed", 60, "printed by a")
    assert stalling.arrived() == [body]
    assert _jobs(a, [job_id])[0]["attempts"] == 1


def test_a_lane_is_held_by_one_process_at_a_time_until_its_connection_ends(
    store: Store, db_kind: str
) -> None:
    first, second = Lanes(store), Lanes(store)
    try:
        held = first.acquire("10.0.0.5:9100")
        assert held is not None
        if db_kind == "sqlite":
            assert second.acquire("10.0.0.5:9100") is not None  # one process: a no-op
            return
        assert second.acquire("10.0.0.5:9100") is None
        assert second.acquire("10.0.0.6:9100") is not None  # other printers never wait
        first.close()  # as when its process dies: PostgreSQL frees what the session held,
        # once the server process behind that session has seen the connection end
        wait_for(lambda: second.acquire("10.0.0.5:9100"), 30, "the lane free again")
    finally:
        first.close()
        second.close()
