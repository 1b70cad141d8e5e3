"""The spooler knows who is printing from the kernel (issue 19, finding 1): a local user who
claims another name in requesting-user-name prints, lists and cancels as themselves. Root (this
test, and CUPS's lp) may still print for others. The other user is ``nobody``, reached through
a relay that runs as that user (tests/ui/user_relay.py)."""

from __future__ import annotations

import httpx
import pytest

from protocol.states import JobState
from services.core import ipp
from services.core.ipp import Operation, Status, Tag
from support.client import Client
from tests.ui.user_relay import can_switch_user, relay_as

pytestmark = pytest.mark.skipif(
    not can_switch_user(), reason="needs root to reach the spooler as another OS user"
)

HALL = {"name": "hall", "kind": "pull"}  # serverless pull port: jobs stay held


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


def test_a_claimed_name_is_replaced_by_the_callers_own(make_client):
    client = make_client([HALL])
    client.start("sync", "spooler")
    client.wait_printer("hall")
    # Root prints for alice, as CUPS's backend does for the users of an OS queue.
    held = client.ipp(
        Operation.PRINT_JOB, printer="hall", user="alice", document=b"alice's payslip",
        job_name=(Tag.NAME, "payslip"),
    )  # fmt: skip
    assert held.code == Status.OK
    [alices] = client.jobs()
    assert alices.owner == "alice"

    with relay_as("nobody", client.spooler_port) as base:
        every = {"which_jobs": (Tag.KEYWORD, "all")}
        listed = ipp_as(base, client, Operation.GET_JOBS, "alice", **every)
        canceled = ipp_as(
            base, client, Operation.CANCEL_JOB, "alice", job_id=(Tag.INTEGER, alices.id)
        )
        printed = ipp_as(
            base, client, Operation.PRINT_JOB, "alice", document=b"not alice's",
            job_name=(Tag.NAME, "mine"),
        )  # fmt: skip
        own = ipp_as(base, client, Operation.GET_JOBS, "alice", **every)

    assert listed.code == Status.OK and jobs_listed(listed) == []  # none of alice's jobs
    assert canceled.code == Status.CLIENT_ERROR_NOT_AUTHORIZED
    assert printed.code == Status.OK
    owners = {job.name: (job.owner, JobState(job.state)) for job in client.jobs()}
    assert owners == {
        "payslip": ("alice", JobState.PENDING_HELD),  # still there, still alice's
        "mine": ("nobody", JobState.PENDING_HELD),  # the claim "alice" was not believed
    }
    mine = next(job.id for job in client.jobs() if job.name == "mine")
    assert jobs_listed(own) == [mine]  # nobody's own job, listed to nobody
