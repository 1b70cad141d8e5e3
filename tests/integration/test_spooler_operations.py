"""The spooler's IPP operations against a real spooler process, as a client sees them."""

from __future__ import annotations

import socket

from protocol.states import JobState
from services.core.ipp import Operation, Status, Tag
from support.ports import free_port
from support.printers import direct_printer
from support.waiting import wait_for
from tests.documents import sha256_file

PULL = {"name": "hall", "kind": "pull"}


def job_id(reply) -> int:
    assert reply.code == Status.OK, reply.operation.get("status-message")
    return reply.group(Tag.JOB).get("job-id")


def test_pull_port_holds_jobs_until_released_at_a_printer(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer), PULL])
    client.start("sync", "spooler", "delivery")
    client.wait_printer("hall")

    reply = client.ipp(Operation.PRINT_JOB, printer="hall", document=b"held document")
    held = job_id(reply)

    assert reply.group(Tag.JOB).get("job-state") == JobState.PENDING_HELD
    [job] = client.jobs()
    assert job.state_reasons == "job-hold-until-specified"
    # Release-Job from the desktop does not print it: the user releases at a printer.
    reply = client.ipp(Operation.RELEASE_JOB, printer="hall", job_id=(Tag.INTEGER, held))
    assert reply.code == Status.CLIENT_ERROR_NOT_POSSIBLE
    attrs = client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer="hall").group(Tag.PRINTER)
    assert attrs.get("job-hold-until-default") == "indefinite"
    assert client.job_state(held) == JobState.PENDING_HELD and raw_printer.jobs() == []


def test_create_job_then_send_document_is_delivered(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler", "delivery")
    client.wait_printer()

    created = job_id(client.ipp(Operation.CREATE_JOB, job_name=(Tag.NAME, "two-step")))
    assert client.job_state(created) == JobState.PENDING_HELD  # incoming: nothing to send yet
    missing_last = client.ipp(Operation.SEND_DOCUMENT, job_id=(Tag.INTEGER, created), document=b"x")
    assert missing_last.code == Status.CLIENT_ERROR_BAD_REQUEST
    reply = client.ipp(
        Operation.SEND_DOCUMENT,
        job_id=(Tag.INTEGER, created),
        last_document=(Tag.BOOLEAN, True),
        document=b"page one\f",
    )
    assert reply.code == Status.OK

    wait_for(lambda: client.job_state(created) == JobState.COMPLETED, what="delivered")
    assert raw_printer.jobs()[0].read_bytes() == b"page one\f"
    again = client.ipp(
        Operation.SEND_DOCUMENT,
        job_id=(Tag.INTEGER, created),
        last_document=(Tag.BOOLEAN, True),
        document=b"more",
    )
    assert again.code == Status.CLIENT_ERROR_NOT_POSSIBLE


def test_users_see_and_cancel_only_their_own_jobs(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")  # no delivery: jobs stay pending
    client.wait_printer()
    alice_job = job_id(client.ipp(Operation.PRINT_JOB, user="alice", document=b"alice's"))

    listing = client.ipp(Operation.GET_JOBS, user="alice")
    assert [g.get("job-id") for g in listing.groups[1:]] == [alice_job]
    assert client.ipp(Operation.GET_JOBS, user="bob").groups[1:] == []
    for operation in (Operation.GET_JOB_ATTRIBUTES, Operation.CANCEL_JOB, Operation.HOLD_JOB):
        reply = client.ipp(operation, user="bob", job_id=(Tag.INTEGER, alice_job))
        assert reply.code == Status.CLIENT_ERROR_NOT_AUTHORIZED, operation
    unknown = client.ipp(Operation.GET_JOB_ATTRIBUTES, job_id=(Tag.INTEGER, 999))
    assert unknown.code == Status.CLIENT_ERROR_NOT_FOUND

    attrs = client.ipp(Operation.GET_JOB_ATTRIBUTES, job_id=(Tag.INTEGER, alice_job))
    job = attrs.group(Tag.JOB)
    assert job.get("job-originating-user-name") == "alice"
    assert job.get("job-state") == JobState.PENDING
    cancel = client.ipp(Operation.CANCEL_JOB, job_id=(Tag.INTEGER, alice_job))
    assert cancel.code == Status.OK
    assert client.job_state(alice_job) == JobState.CANCELED
    assert client.spool_files() == []  # the document of a canceled job is gone
    again = client.ipp(Operation.CANCEL_JOB, job_id=(Tag.INTEGER, alice_job))
    assert again.code == Status.CLIENT_ERROR_NOT_POSSIBLE


def test_hold_and_release_a_direct_job(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")
    client.wait_printer()
    held = job_id(client.ipp(Operation.PRINT_JOB, document=b"later"))

    assert client.ipp(Operation.HOLD_JOB, job_id=(Tag.INTEGER, held)).code == Status.OK
    client.start("delivery")
    assert client.job_state(held) == JobState.PENDING_HELD
    assert client.ipp(Operation.RELEASE_JOB, job_id=(Tag.INTEGER, held)).code == Status.OK

    wait_for(lambda: client.job_state(held) == JobState.COMPLETED, what="released job printed")
    assert raw_printer.jobs()[0].read_bytes() == b"later"


def test_job_over_max_size_is_refused_and_leaves_nothing(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)], max_job_size=100_000)
    client.start("sync", "spooler")
    client.wait_printer()

    reply = client.ipp(Operation.PRINT_JOB, document=b"x" * 300_000)

    assert reply.code == Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    assert client.jobs() == [] and client.spool_files() == []


def test_disk_below_free_floor_answers_busy_and_leaves_nothing(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)], min_free_disk=2**60)
    client.start("sync", "spooler")
    client.wait_printer()

    for operation in (Operation.PRINT_JOB, Operation.CREATE_JOB):
        reply = client.ipp(operation, document=b"x" * 1000)
        assert reply.code == Status.SERVER_ERROR_BUSY
    assert client.jobs() == [] and client.spool_files() == []


def send_raw(port: int, data: bytes) -> None:
    """As CUPS's socket backend does: send, half-close, wait until the printer hangs up. The
    sender's socket stays open until we have asked the kernel who owns it."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(30)
        while s.recv(4096):
            pass


def test_raw_capture_stores_job_with_pjl_owner_and_delivers_it(make_client, raw_printer, tmp_path):
    raw_port = free_port()
    client = make_client([direct_printer(raw_printer)], raw_capture_port=raw_port)
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    client.wait_listening(raw_port)
    document = tmp_path / "raw.prn"
    document.write_bytes(
        b'\x1b%-12345X@PJL JOB NAME="Quarterly"\r\n@PJL SET USERNAME="carol"\r\n'
        + bytes(range(256)) * 4000
    )

    send_raw(raw_port, document.read_bytes())

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, what="raw job delivered")
    [job] = client.jobs()
    assert (job.owner, job.name) == ("carol", "Quarterly")
    assert sha256_file(raw_printer.jobs()[0]) == sha256_file(document)
