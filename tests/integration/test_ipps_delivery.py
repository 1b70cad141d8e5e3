"""IPPS to printers, the certificate pinned on first use (issue 21). Real client processes, a
real IPPS printer (Debian's ippeveprinter with its own self-signed certificate), a tap on the
wire that keeps what the client sent, and the real ``pullprint`` command.

A printer that offers IPPS gets its jobs over TLS; its certificate is pinned the first time;
a different certificate later is refused before a job byte goes out, the job waits saying why
and how to accept it, ``pullprint status`` lists it, and ``pullprint printer
forget-certificate`` lets the job go, pinning the new certificate. A printer once pinned that
claims in plain to have no TLS any more is sent nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from protocol.states import JobState
from services.core import ipp, jobs
from services.core.ipp import Operation, Status, Tag
from services.core.pinning import fingerprint, short
from services.core.store import AuditEntry, Pin
from support.client import start_ipp_client
from support.waiting import wait_for
from tests.documents import minimal_pdf
from tests.ipps_printer import IppsPrinter, WireTap
from tests.stoppable_printer import StoppablePrinter

SECRET = "QUARTERLY-FIGURES-7731"  # in the document; must never be seen on the wire


@pytest.fixture
def tap(ipps_printer: IppsPrinter) -> Iterator[WireTap]:
    wire = WireTap(ipps_printer.port)
    yield wire
    wire.close()


def print_pdf(client, printer: str, text: str) -> bytes:
    document = minimal_pdf(text)
    reply = client.ipp(
        Operation.PRINT_JOB,
        printer=printer,
        user="alice",
        document=document,
        document_format=(Tag.MIME_TYPE, "application/pdf"),
    )
    assert reply.code == Status.OK
    return document


def pins(client) -> dict[str, str]:
    with client.store.session() as session:
        return {p.address: p.sha256 for p in session.query(Pin)}


def trace(client, job_id: int) -> list[tuple[str, str]]:
    with client.store.session() as session:
        return [(e.event, e.detail) for e in jobs.trace(session, job_id)]


def test_a_printer_that_offers_ipps_gets_the_job_over_tls_and_its_certificate_is_pinned(
    make_client, ipps_printer
):
    # The record says plain "ipp": the printer's own answer says it has IPPS.
    client = start_ipp_client(make_client, "office", ipps_printer.port)
    encrypted_before = ipps_printer.encrypted_connections()

    document = print_pdf(client, "office", "over TLS")

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "delivered over IPPS")
    wait_for(ipps_printer.documents, 30, "the printer kept the document")
    assert ipps_printer.documents() == [document]
    address = f"127.0.0.1:{ipps_printer.port}"
    assert pins(client) == {address: fingerprint(ipps_printer.certificate_der())}
    # The printer itself saw TLS: the preflight, the status and the job at least.
    assert ipps_printer.encrypted_connections() >= encrypted_before + 2
    event, detail = trace(client, 1)[-1]
    assert event == "delivered"
    assert f"over IPPS (ipps://{address}/ipp/print)" in detail
    assert "pinned on first use" in detail


def test_a_changed_certificate_holds_the_job_until_an_admin_forgets_the_pin(
    make_client, ipps_printer, tap
):
    printer = {"name": "secure", "kind": "direct", "port": tap.port, "protocol": "ipps",
               "path": "/ipp/print"}  # fmt: skip
    client = make_client([printer])
    client.start("sync", "spooler", "delivery", "api", "channel")
    client.wait_printer("secure")
    address = f"127.0.0.1:{tap.port}"

    first = print_pdf(client, "secure", SECRET)
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "the first job printed")
    old = fingerprint(ipps_printer.certificate_der())
    assert pins(client) == {address: old}
    # Everything the client sent was TLS records (0x16: a handshake opens each connection;
    # the reachability check connects and sends nothing): the preflight that read the
    # certificate, then the status and the job. Not one copy of the document in clear.
    wire = [sent for sent in tap.connections() if sent]
    assert len(wire) >= 2 and all(sent.startswith(b"\x16\x03") for sent in wire)
    assert all(SECRET.encode() not in sent and first not in sent for sent in wire)
    assert ipps_printer.documents() == [first]

    ipps_printer.new_certificate()
    new = fingerprint(ipps_printer.certificate_der())
    assert new != old
    connections = len(tap.connections())
    print_pdf(client, "secure", "to an impostor?")

    wait_for(lambda: client.job_state(2) == JobState.PROCESSING_STOPPED, 30, "the job waits")
    job = client.jobs()[1]
    said = (
        f"the certificate of {address} changed (pinned sha256 {short(old)}, now {short(new)}); "
        "not sent"
    )
    assert job.state_message.startswith(said)
    assert f"pullprint printer forget-certificate {address}" in job.state_message
    assert any(said in detail for _event, detail in trace(client, 2))
    assert ipps_printer.documents() == [first]  # nothing reached the new certificate
    # The new connections were handshakes only: no IPP request, no document.
    assert all(b"application/ipp" not in sent for sent in tap.connections()[connections:])
    assert pins(client) == {address: old}
    logged = [line for line in client.logs().splitlines() if "delivery.tls_refused" in line]
    assert logged and f"pinned={old}" in logged[0] and f"now={new}" in logged[0]

    def listed() -> str:
        out = client.run_cli("status").stdout
        return out if f"not ok: delivery: the certificate of {address} changed" in out else ""

    wait_for(listed, 30, "pullprint status to list the changed certificate")

    forgot = client.run_cli("printer", "forget-certificate", address)
    assert forgot.returncode == 0, forgot.stderr
    assert f"forgot the certificate of {address} (sha256 {short(old)})" in forgot.stdout

    wait_for(lambda: client.job_state(2) == JobState.COMPLETED, 30, "sent once forgotten")
    wait_for(lambda: len(ipps_printer.documents()) == 2, 30, "the printer kept it")
    assert pins(client) == {address: new}
    with client.store.session() as session:
        audited = session.query(AuditEntry).filter_by(action="printer.forget_certificate").one()
    assert (audited.subject, audited.origin) == (address, "cli")
    assert old in audited.detail
    wait_for(lambda: "not ok: delivery" not in client.run_cli("status").stdout, 30, "cleared")


def test_forgetting_a_certificate_nobody_pinned_changes_nothing(make_client):
    client = make_client([])
    result = client.run_cli("printer", "forget-certificate", "127.0.0.1:631")
    assert result.returncode == 1
    assert result.stderr.strip() == "pullprint: no certificate is pinned for 127.0.0.1:631"
    assert "Traceback" not in result.stderr
    with client.store.session() as session:
        assert session.query(AuditEntry).count() == 0


@pytest.mark.parametrize(
    ("pinned_port", "said"),
    [
        # Pinned where it is: asked over TLS only, and it answers in plain.
        (None, "{address}: no TLS ("),
        # Pinned at its IPPS port (443, say): its plain answer no longer lists IPPS.
        (1443, "127.0.0.1 offered IPPS before (certificate pinned for 127.0.0.1:1443)"),
    ],
)
def test_a_pinned_printer_that_now_answers_without_tls_is_sent_nothing_in_plain(
    make_client, stoppable_printer: StoppablePrinter, pinned_port: int | None, said: str
):
    client = make_client([{"name": "office", "kind": "direct", "port": stoppable_printer.port,
                           "protocol": "ipp", "path": "/ipp/print"}])  # fmt: skip
    address = f"127.0.0.1:{stoppable_printer.port}"
    with client.store.session() as session:
        pinned = f"127.0.0.1:{pinned_port}" if pinned_port else address
        session.add(Pin(address=pinned, sha256="ab" * 32, first_seen=0.0))
        session.commit()
    client.start("sync", "spooler", "delivery")
    client.wait_printer("office")

    reply = client.ipp(Operation.PRINT_JOB, printer="office", user="alice", document=b"plain?")
    assert reply.code == Status.OK

    wait_for(lambda: client.job_state(1) == JobState.PROCESSING_STOPPED, 30, "the job waits")
    message = client.jobs()[0].state_message
    assert message.startswith(said.format(address=address))
    assert "not sent without TLS" in message
    assert stoppable_printer.received == []


def test_a_pinned_printer_whose_plain_answer_names_another_ipps_port_is_sent_nothing(
    make_client, ipps_printer
):
    """Whoever answers in plain could name a port it controls, to have its certificate pinned
    there: with a pin for the printer, a new IPPS port waits for an administrator."""
    client = make_client([{"name": "office", "kind": "direct", "port": ipps_printer.port,
                           "protocol": "ipp", "path": "/ipp/print"}])  # fmt: skip
    with client.store.session() as session:
        session.add(Pin(address="127.0.0.1:1443", sha256="ab" * 32, first_seen=0.0))
        session.commit()
    client.start("sync", "spooler", "delivery")
    client.wait_printer("office")

    print_pdf(client, "office", "where to?")

    wait_for(lambda: client.job_state(1) == JobState.PROCESSING_STOPPED, 30, "the job waits")
    assert client.jobs()[0].state_message.startswith(
        f"127.0.0.1 offered IPPS at 127.0.0.1:1443 before and now names port {ipps_printer.port};"
        " not sent"
    )
    assert ipps_printer.documents() == []
    assert pins(client) == {"127.0.0.1:1443": "ab" * 32}


class AdvertisesIpps(StoppablePrinter):
    """A plain IPP printer whose answer lists an ipps:// URI on its own port, where no TLS
    handshake can succeed: an old printer whose TLS we cannot speak."""

    def _answer(self, body: bytes) -> bytes:
        answer = super()._answer(body)
        reply, _ = ipp.parse(answer)
        printer = reply.group(Tag.PRINTER)
        if printer is not None:
            uri = f"ipps://127.0.0.1:{self.port}/ipp/print"
            printer.add("printer-uri-supported", Tag.URI, uri)
        return ipp.encode(reply)


def test_a_printer_whose_ipps_never_worked_is_printed_to_in_plain_and_the_trace_says_why(
    make_client,
):
    printer = AdvertisesIpps()
    printer.start()
    try:
        client = start_ipp_client(make_client, "old", printer.port)
        reply = client.ipp(Operation.PRINT_JOB, printer="old", user="alice", document=b"old")
        assert reply.code == Status.OK

        wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "printed in plain")
        assert printer.documents() == [b"old"]
        assert pins(client) == {}
        event, detail = trace(client, 1)[-1]
        assert event == "delivered"
        assert "; in plain IPP: its IPPS did not complete a handshake (127.0.0.1:" in detail
    finally:
        printer.close()
