"""The PWG operations a printer object answers (issue 21): Cancel-My-Jobs and Close-Job (PWG
5100.11), Identify-Printer passed on to the IPP printer behind a direct port (PWG 5100.13), and
requested-attributes groups that hold what RFC 8011 says, against a real spooler."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from cli import ipp_client
from protocol.states import JobState
from services.core import ipp, jobs
from services.core.ipp import Operation, Status, Tag
from services.core.store import Job, Pin
from support.client import Client, start_ipp_client
from support.ports import free_port
from support.printers import direct_printer
from support.waiting import wait_for
from tests.integration.test_spooler_identity import ipp_as, jobs_listed
from tests.os_users import relay_as

PULL = {"name": "hall", "kind": "pull"}


def job_id(reply: ipp.Message) -> int:
    assert reply.code == Status.OK, reply.operation.get("status-message")
    return reply.group(Tag.JOB).get("job-id")


def send(
    client: Client, printer: str, operation: Operation, *attributes: ipp.Attribute
) -> ipp.Message:
    """One request with operation attributes of several values, which ``client.ipp`` cannot
    send."""
    uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/{printer}"
    request = ipp.request(operation)
    request.operation.add("printer-uri", Tag.URI, uri)
    for attr in attributes:
        request.operation.attributes[attr.name] = attr
    reply = httpx.post(
        ipp_client.http_url(uri),
        content=ipp.encode(request),
        headers={"Content-Type": "application/ipp"},
        timeout=30,
    )
    return ipp.parse(reply.content)[0]


def cancel_my_jobs(client: Client, user: str, *job_ids: int) -> ipp.Message:
    attrs = [ipp.Attribute("requesting-user-name", Tag.NAME, [user])]
    if job_ids:
        attrs.append(ipp.Attribute("job-ids", Tag.INTEGER, list(job_ids)))
    return send(client, "office", Operation.CANCEL_MY_JOBS, *attrs)


def sent_whole(client: Client, job: int) -> None:
    """Make ``job`` one the printer has every byte of, as delivery marks it (jobs.ALL_SENT)."""
    with client.store.session() as session:
        session.execute(
            update(Job)
            .where(Job.id == job)
            .values(state=int(JobState.PROCESSING), state_reasons=jobs.ALL_SENT)
        )
        session.commit()


def test_cancel_my_jobs_cancels_the_callers_jobs_only_and_never_one_already_sent(
    make_client, raw_printer
):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")  # no delivery: jobs stay pending
    client.wait_printer()
    first, second, sent = (job_id(client.ipp(Operation.PRINT_JOB, document=b"a")) for _ in "abc")
    bobs = job_id(client.ipp(Operation.PRINT_JOB, user="bob", document=b"bob's"))
    sent_whole(client, sent)
    listed = client.ipp(Operation.GET_JOBS, job_ids=(Tag.INTEGER, second))  # PWG 5100.11 too
    assert [g.get("job-id") for g in listed.groups[1:]] == [second]

    # Named jobs are checked first: one that is not hers, or already sent, cancels none.
    assert cancel_my_jobs(client, "alice", first, bobs).code == Status.CLIENT_ERROR_NOT_AUTHORIZED
    late = cancel_my_jobs(client, "alice", first, sent)
    assert late.code == Status.CLIENT_ERROR_NOT_POSSIBLE
    assert late.operation.get("status-message") == f"job {sent}: {jobs.TOO_LATE}"
    assert client.job_state(first) == JobState.PENDING

    assert cancel_my_jobs(client, "alice", first).code == Status.OK
    assert client.job_state(first) == JobState.CANCELED

    reply = cancel_my_jobs(client, "alice")
    assert reply.code == Status.OK
    assert reply.operation.get("status-message") == f"not canceled, {jobs.TOO_LATE}: {sent}"
    states = {job.id: JobState(job.state) for job in client.jobs()}
    assert states == {
        first: JobState.CANCELED,
        second: JobState.CANCELED,
        sent: JobState.PROCESSING,
        bobs: JobState.PENDING,
    }
    assert len(client.spool_files()) == 2  # bob's and the one the printer has


def test_another_os_user_naming_a_job_cancels_and_sees_nothing(make_client, two_users):
    """Whose jobs are "my jobs" is the kernel's word, not requesting-user-name's."""
    first, second = two_users
    client = make_client([PULL])
    client.start("sync", "spooler")
    client.wait_printer("hall")
    with relay_as(first, client.spooler_port) as as_first:
        job = job_id(ipp_as(as_first, client, Operation.PRINT_JOB, first, document=b"%PDF"))

    with relay_as(second, client.spooler_port) as as_second:
        named = (Tag.INTEGER, job)
        listed = ipp_as(as_second, client, Operation.GET_JOBS, first, job_ids=named)
        refused = ipp_as(as_second, client, Operation.CANCEL_MY_JOBS, first, job_ids=named)
        every = ipp_as(as_second, client, Operation.CANCEL_MY_JOBS, first)

    assert jobs_listed(listed) == []
    assert refused.code == Status.CLIENT_ERROR_NOT_AUTHORIZED
    assert every.code == Status.OK
    assert client.job_state(job) == JobState.PENDING_HELD


def test_close_job_ends_a_job_without_document_and_keeps_a_whole_one(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")
    client.wait_printer()
    empty = job_id(client.ipp(Operation.CREATE_JOB))
    whole = job_id(client.ipp(Operation.PRINT_JOB, document=b"page\f"))

    closed = client.ipp(Operation.CLOSE_JOB, job_id=(Tag.INTEGER, empty))
    assert closed.code == Status.OK
    assert closed.operation.get("status-message") == "closed without a document: nothing to print"
    assert client.job_state(empty) == JobState.ABORTED
    assert client.ipp(Operation.CLOSE_JOB, job_id=(Tag.INTEGER, whole)).code == Status.OK
    assert client.job_state(whole) == JobState.PENDING
    assert client.ipp(Operation.CLOSE_JOB, job_id=(Tag.INTEGER, empty)).code == (
        Status.CLIENT_ERROR_NOT_POSSIBLE
    )
    not_hers = client.ipp(Operation.CLOSE_JOB, user="bob", job_id=(Tag.INTEGER, whole))
    assert not_hers.code == Status.CLIENT_ERROR_NOT_AUTHORIZED


def test_identify_printer_reaches_the_ipp_printer_and_only_its_port_offers_it(
    make_client, ipp_printer
):
    client = start_ipp_client(make_client, "office", ipp_printer.port)

    operations = printer_attrs(client, "office", "operations-supported")["operations-supported"]
    assert Operation.IDENTIFY_PRINTER in operations
    reply = client.ipp(
        Operation.IDENTIFY_PRINTER,
        identify_actions=(Tag.KEYWORD, "display"),
        message=(Tag.TEXT, "pullprint says hello"),
    )

    assert reply.code == Status.OK, reply.operation.get("status-message")
    wait_for(
        lambda: "Identify-Printer successful-ok" in ipp_printer.log.read_text(errors="replace"),
        what="ippeveprinter to log the Identify-Printer it answered",
    )


def test_ports_without_an_ipp_printer_do_not_offer_identify_printer(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer), PULL])
    client.start("sync", "spooler")
    client.wait_printer("hall")
    for name in ("office", "hall"):
        attrs = printer_attrs(client, name, "operations-supported", "identify-actions-supported")
        assert Operation.IDENTIFY_PRINTER not in attrs["operations-supported"]
        assert Operation.CANCEL_MY_JOBS in attrs["operations-supported"]
        assert "identify-actions-supported" not in attrs
        reply = client.ipp(Operation.IDENTIFY_PRINTER, printer=name)
        assert reply.code == Status.SERVER_ERROR_OPERATION_NOT_SUPPORTED
        assert reply.operation.get("status-message") == (
            f"Identify-Printer: {name} has no IPP printer behind it to pass this on to"
        )


def test_requested_attribute_groups_hold_what_rfc_8011_says(make_client, raw_printer):
    """'printer-description' once returned job template attributes too, 'job-template' none."""
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")
    client.wait_printer()

    template = printer_attrs(client, "office", "job-template")
    description = printer_attrs(client, "office", "printer-description")

    assert {"copies-supported", "media-ready", "sides-default"} <= set(template)
    assert "printer-name" not in template
    assert "printer-name" in description and "copies-supported" not in description
    assert set(template) | set(description) == set(printer_attrs(client, "office", "all"))


def printer_attrs(client: Client, printer: str, *requested: str) -> dict[str, list[object]]:
    wanted = ipp.Attribute("requested-attributes", Tag.KEYWORD, list(requested))
    reply = send(client, printer, Operation.GET_PRINTER_ATTRIBUTES, wanted)
    group = reply.group(Tag.PRINTER)
    assert reply.code == Status.OK and group is not None
    return {name: attr.values for name, attr in group.attributes.items()}


def test_identify_printer_says_when_the_printer_does_not_answer(make_client):
    port = free_port()  # nothing listens there
    client = start_ipp_client(make_client, "office", port)

    reply = client.ipp(Operation.IDENTIFY_PRINTER)

    assert reply.code == Status.SERVER_ERROR_TEMPORARY_ERROR
    assert reply.operation.get("status-message").startswith(
        f"the printer at ipp://127.0.0.1:{port}/ipp/print did not answer ("
    )
    assert "Traceback" not in client.logs()


def test_identify_printer_goes_to_an_ipps_printer_over_tls_trusting_its_pinned_certificate(
    make_client, ipps_printer
):
    """An IPPS printer is never asked in plain, and an impostor's certificate is refused."""
    printer = {"name": "office", "kind": "direct", "host": "127.0.0.1",
               "port": ipps_printer.port, "protocol": "ipps", "path": "/ipp/print"}  # fmt: skip
    client = make_client([printer])
    client.start("sync", "spooler")
    client.wait_printer()
    encrypted = ipps_printer.encrypted_connections()

    reply = client.ipp(Operation.IDENTIFY_PRINTER, identify_actions=(Tag.KEYWORD, "sound"))

    assert reply.code == Status.OK, reply.operation.get("status-message")
    assert ipps_printer.encrypted_connections() > encrypted
    assert "Identify-Printer successful-ok" in ipps_printer.log.read_text(errors="replace")
    wait_for(lambda: pins(client), what="the certificate pinned")
    ipps_printer.new_certificate()
    impostor = client.ipp(Operation.IDENTIFY_PRINTER)
    assert impostor.code == Status.CLIENT_ERROR_NOT_POSSIBLE
    assert impostor.operation.get("status-message").startswith(
        f"the certificate of 127.0.0.1:{ipps_printer.port} changed"
    )
    assert ipps_printer.log.read_text(errors="replace").count("Identify-Printer") == 1


def pins(client: Client) -> list[str]:
    with client.store.session() as session:
        return [pin.address for pin in session.query(Pin)]
