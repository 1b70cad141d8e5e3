"""The spooler knows who is printing from the kernel (issue 19, finding 1): a local user who
claims another name in requesting-user-name prints, lists and cancels as themselves. Root (this
test, and CUPS's lp) may still print for others. Two real OS users, created for the test, reach
the spooler through relays that run as them (tests/os_users.py)."""

from __future__ import annotations

import os
import signal
import socket

import httpx

from protocol.states import JobState
from services.core import ipp
from services.core.ipp import Operation, Status, Tag
from support.client import Client
from support.ports import free_port
from support.waiting import wait_for
from tests.integration.test_spooler_operations import send_raw
from tests.os_users import relay_as

HALL = {"name": "hall", "kind": "pull"}  # serverless pull port: jobs stay held
EVERY = {"which_jobs": (Tag.KEYWORD, "all")}


def ipp_as(base: str, client: Client, operation: Operation, claimed: str, **attributes):
    """One IPP request through ``base`` (the relay), claiming to be ``claimed``."""
    request = ipp.request(operation)
    request.operation.add(
        "printer-uri", Tag.URI, f"ipp://127.0.0.1:{client.spooler_port}/printers/hall"
    )
    request.operation.add("requesting-user-name", Tag.NAME, claimed)
    document = attributes.pop("document", None)
    for name, (tag, value) in attributes.items():
        request.operation.add(name.replace("_", "-"), tag, value)
    reply = httpx.post(
        f"{base}/printers/hall",
        content=ipp.encode(request) + (document or b""),
        headers={"Content-Type": "application/ipp"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return ipp.parse(reply.content)[0]


def jobs_listed(reply: ipp.Message) -> list[int]:
    return [g.get("job-id") for g in reply.groups if g.tag == Tag.JOB]


def test_a_claimed_name_is_replaced_by_the_callers_own(make_client, two_users):
    first, second = two_users
    client = make_client([HALL])
    client.start("sync", "spooler")
    client.wait_printer("hall")
    # Root prints for alice, as CUPS's backend does for the users of an OS queue.
    held = client.ipp(
        Operation.PRINT_JOB, printer="hall", user="alice", document=b"alice's payslip",
        job_name=(Tag.NAME, "payslip"),
    )  # fmt: skip
    assert held.code == Status.OK

    with relay_as(first, client.spooler_port) as as_first:
        # The first user prints under their own name and under a false one: both are theirs.
        for name, claimed in (("report", first), ("claimed", "alice")):
            printed = ipp_as(
                as_first, client, Operation.PRINT_JOB, claimed, document=b"%PDF first",
                job_name=(Tag.NAME, name),
            )  # fmt: skip
            assert printed.code == Status.OK
    ids = {job.name: job.id for job in client.jobs()}

    with relay_as(second, client.spooler_port) as as_second:
        listed = {
            claimed: jobs_listed(ipp_as(as_second, client, Operation.GET_JOBS, claimed, **EVERY))
            for claimed in ("alice", first, second)
        }
        canceled = [
            ipp_as(
                as_second, client, Operation.CANCEL_JOB, claimed, job_id=(Tag.INTEGER, ids[name])
            ).code
            for name, claimed in (("payslip", "alice"), ("report", first))
        ]
        printed = ipp_as(
            as_second, client, Operation.PRINT_JOB, first, document=b"not the first's",
            job_name=(Tag.NAME, "mine"),
        )  # fmt: skip
        own = ipp_as(as_second, client, Operation.GET_JOBS, first, **EVERY)

    assert listed == {"alice": [], first: [], second: []}  # nobody else's job, whatever the claim
    assert canceled == [Status.CLIENT_ERROR_NOT_AUTHORIZED] * 2
    assert printed.code == Status.OK
    owners = {job.name: (job.owner, JobState(job.state)) for job in client.jobs()}
    assert owners == {
        "payslip": ("alice", JobState.PENDING_HELD),  # still there, still alice's
        "report": (first, JobState.PENDING_HELD),
        "claimed": (first, JobState.PENDING_HELD),  # the claim "alice" was not believed
        "mine": (second, JobState.PENDING_HELD),  # nor the claim to be the first user
    }
    mine = next(job.id for job in client.jobs() if job.name == "mine")
    assert jobs_listed(own) == [mine]  # the second user's own job, listed to them

    # The legitimate use still works: the first user lists and cancels their own job.
    with relay_as(first, client.spooler_port) as as_first:
        theirs = ipp_as(as_first, client, Operation.GET_JOBS, first, **EVERY)
        cancel = ipp_as(
            as_first, client, Operation.CANCEL_JOB, first, job_id=(Tag.INTEGER, ids["report"])
        )
    assert sorted(jobs_listed(theirs)) == sorted([ids["report"], ids["claimed"]])
    assert cancel.code == Status.OK
    assert JobState(next(j.state for j in client.jobs() if j.name == "report")) == (
        JobState.CANCELED
    )


def test_raw_capture_believes_a_pjl_user_name_only_from_root(make_client, two_users):
    first, second = two_users
    raw_port = free_port()
    client = make_client([HALL], raw_capture_port=raw_port)
    client.start("sync", "spooler")
    client.wait_printer("hall")
    client.wait_listening(raw_port)

    def send(base: str | None, job: str, claimed: str) -> None:
        port = int(base.rsplit(":", 1)[1]) if base else raw_port
        pjl = f'\x1b%-12345X@PJL JOB NAME="{job}"\r\n@PJL SET USERNAME="{claimed}"\r\n'
        send_raw(port, pjl.encode() + b"%PDF raw")
        wait_for(lambda: job in {j.name for j in client.jobs()}, what=f"raw job {job} stored")

    send(None, "for-alice", "alice")  # root (CUPS's lp alike) prints for others
    with relay_as(second, raw_port) as as_second:
        send(as_second, "forged", first)
    with relay_as(first, raw_port) as as_first:
        send(as_first, "own", first)

    owners = {job.name: job.owner for job in client.jobs()}
    assert owners == {"for-alice": "alice", "forged": second, "own": first}


def test_a_raw_sender_the_kernel_no_longer_knows_prints_as_anonymous(make_client):
    """A sender that wrote everything and closed before the spooler asked who it was: its PJL
    name is not believed (it could be anyone), and the job is kept, as nobody's."""
    raw_port = free_port()
    client = make_client([HALL], raw_capture_port=raw_port)
    client.start("sync", "spooler")
    client.wait_printer("hall")
    client.wait_listening(raw_port)
    spooler = client.processes["spooler"].popen
    os.kill(spooler.pid, signal.SIGSTOP)  # the kernel still accepts the connection for it
    try:
        with socket.create_connection(("127.0.0.1", raw_port)) as s:
            s.sendall(b'@PJL JOB NAME="gone"\r\n@PJL SET USERNAME="alice"\r\n%PDF raw')
    finally:
        os.kill(spooler.pid, signal.SIGCONT)
    wait_for(lambda: client.jobs(), what="the raw job stored")
    [job] = client.jobs()
    assert (job.name, job.owner) == ("gone", "anonymous")
    assert "raw-capture.sender-unknown" in client.logs()
