"""Gateway and hybrid modes and job options (issue 21): a job's options travel with its upload
and the server's Document Output prints with them, as a local print would. An IPP printer gets
them as job attributes, a raw printer that reads PJL a PJL header saying the same, one that
does not the document unchanged, with the job's outcome naming what it could not honour; a
held job's options outlive a restart of the server."""

from __future__ import annotations

import pytest

from protocol.states import JobState
from services.core.capabilities import A4
from services.core.ipp import Operation, Status, Tag
from support.server import add_printer_and_port
from support.waiting import wait_for
from tests.capable_printers import wait_offering
from tests.documents import minimal_pdf
from tests.e2e.test_routes import add_user, gateway_of, release, served, waiting_at_server
from tests.integration.test_options_delivery import OPTIONS, print_pdf, trace
from tests.job_options import A5, ARRIVED, TWO_SIDED, arrived, job_group

UEL = b"\x1b%-12345X"
# A raw printer record that reads PJL and does what OPTIONS ask.
PJL_RECORD = {"color": True, "duplex": True, "media": [A4, A5], "pjl": True}
NAME = (Tag.NAME, "report")
HEADER = (
    b'@PJL\r\n@PJL JOB NAME="report"\r\n@PJL SET COPIES=2\r\n@PJL SET DUPLEX=ON\r\n'
    b"@PJL SET BINDING=LONGEDGE\r\n@PJL SET PAPER=A5\r\n@PJL SET RENDERMODE=COLOR\r\n"
)
TRAILER = b'@PJL EOJ NAME="report"\r\n'


def in_pjl(document: bytes) -> bytes:
    """``document`` (not PDF: no ENTER LANGUAGE) as a raw printer gets it with OPTIONS told."""
    return UEL + HEADER + document + UEL + TRAILER + UEL


def uploaded_with_nothing_left_behind(client, job_id: int = 1) -> None:
    """The upload carried the options: the trace has no line about options left behind."""
    assert "\noptions:" not in "\n" + trace(client, job_id)


@pytest.mark.parametrize("ipp_printer", [{"duplex": True, "color": True}], indirect=True)
def test_a_gateway_jobs_options_reach_the_servers_ipp_printer(online_client, cloud, ipp_printer):
    add_printer_and_port(
        cloud, "colour", ipp_printer.port, protocol="ipp", kind="direct", path="/ipp/print",
        port_name="front",
    )  # fmt: skip
    client = online_client([], mode="gateway", gateway=gateway_of(cloud))
    wait_offering(client, "front", "copies-supported", (1, 999))  # sync has read the printer
    document = minimal_pdf("two copies, both sides, A5, colour, through the server")

    reply = print_pdf(client, "front", job_group(**OPTIONS), document)

    assert reply.code == Status.OK
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 60, "the server's outcome")
    assert arrived(ipp_printer.job_attributes()[0]) == ARRIVED
    assert ipp_printer.documents() == [document]
    job = client.jobs()[0]
    assert job.route == "gateway" and job.state_reasons == "job-completed-successfully"
    uploaded_with_nothing_left_behind(client)


def test_a_gateway_jobs_options_reach_a_raw_printer_in_its_pjl_header(
    online_client, cloud, raw_printer
):
    add_printer_and_port(
        cloud, "floor1", raw_printer.port, kind="direct", port_name="front", **PJL_RECORD
    )
    client = online_client([], mode="gateway", gateway=gateway_of(cloud))
    wait_offering(client, "front", "sides-supported", TWO_SIDED)  # the record has arrived

    reply = client.ipp(
        Operation.PRINT_JOB, printer="front", job=job_group(**OPTIONS), document=b"doc",
        job_name=NAME,
    )  # fmt: skip

    assert reply.code == Status.OK
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 60, "the server's outcome")
    assert raw_printer.jobs()[0].read_bytes() == in_pjl(b"doc")
    assert client.jobs()[0].state_reasons == "job-completed-successfully"
    uploaded_with_nothing_left_behind(client)


def test_a_held_jobs_options_outlive_a_server_restart_and_reach_the_printer_at_release(
    online_client, cloud, raw_printer
):
    add_user(cloud, "alice")
    add_printer_and_port(
        cloud, "floor1", raw_printer.port, kind="pull", port_name="secure", **PJL_RECORD
    )
    client = online_client([], mode="hybrid", gateway=gateway_of(cloud))
    wait_offering(client, "secure", "sides-supported", TWO_SIDED)
    client.ipp(
        Operation.PRINT_JOB, printer="secure", job=job_group(**OPTIONS), document=b"held",
        job_name=NAME,
    )  # fmt: skip
    wait_for(lambda: waiting_at_server(client, 1), 30, "uploaded and held at the server")
    job_uuid = client.jobs()[0].uuid

    cloud.stop()
    cloud.start()
    wait_for(lambda: served(client, "secure"), 30, "the port after the restart")

    assert release(cloud, "alice", "floor1") == [job_uuid]
    wait_for(raw_printer.jobs, 30, "Document Output printed it")
    assert raw_printer.jobs()[0].read_bytes() == in_pjl(b"held")
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 60, "the server's outcome")
    uploaded_with_nothing_left_behind(client)


# The second printer of a pull port, which offers what the tests ask for.
ANNEX = {"protocol": "raw", **PJL_RECORD}


def pull_port(cloud, **printers: dict) -> None:
    """Pull port ``secure``, released at any of ``printers`` (name -> their records)."""
    with cloud.admin() as admin:
        for name, record in printers.items():
            record = {"host": "127.0.0.1", "protocol": "raw", **record}
            admin.post("/api/v1/admin/printers", json={"name": name, **record}).raise_for_status()
        admin.post(
            "/api/v1/admin/ports",
            json={"name": "secure", "kind": "pull", "printers": list(printers)},
        ).raise_for_status()


def test_a_job_released_at_a_raw_printer_without_pjl_says_what_it_did_not_get(
    online_client, cloud, raw_printer, annex
):
    """The pull port offers what its PJL printer can do; released at the other, the document
    goes unchanged and the owner reads which options the printer did not get."""
    add_user(cloud, "alice")
    plain = {"color": True, "media": [A4, A5]}  # no PJL: it cannot be told
    pull_port(cloud, plain={"port": raw_printer.port, **plain}, annex=ANNEX | {"port": annex.port})
    client = online_client([], mode="gateway", gateway=gateway_of(cloud))
    wait_offering(client, "secure", "sides-supported", TWO_SIDED)
    client.ipp(Operation.PRINT_JOB, printer="secure", job=job_group(**OPTIONS), document=b"d")
    wait_for(lambda: waiting_at_server(client, 1), 30, "uploaded and held at the server")

    assert release(cloud, "alice", "plain") == [client.jobs()[0].uuid]

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 60, "the server's outcome")
    assert raw_printer.jobs()[0].read_bytes() == b"d"  # unchanged: it reads no PJL
    assert annex.jobs() == []
    job = client.jobs()[0]
    assert job.state_reasons == "job-completed-with-warnings"
    assert job.state_message == (
        "printed at plain by the server (attempt 1); without: copies 2; "
        "sides two-sided-long-edge; media iso_a5_148x210mm"
    )  # colour it does anyway
    assert job.state_message in trace(client)
    uploaded_with_nothing_left_behind(client)


def test_a_job_released_at_an_ipp_printer_that_refuses_an_option_prints_and_says_so(
    online_client, cloud, ipp_printer, annex
):
    """The pull port offers both sides (its PJL printer has them); released at the simplex
    ippeveprinter, which refuses them, the server prints the job without what the printer
    named rather than not at all, and the owner reads what that was."""
    add_user(cloud, "alice")
    simplex = {"port": ipp_printer.port, "protocol": "ipp", "path": "/ipp/print"}
    pull_port(cloud, simplex=simplex, annex=ANNEX | {"port": annex.port})
    client = online_client([], mode="gateway", gateway=gateway_of(cloud))
    wait_offering(client, "secure", "sides-supported", TWO_SIDED)
    document = minimal_pdf("asked for both sides")
    job = job_group(sides=(Tag.KEYWORD, TWO_SIDED), copies=(Tag.INTEGER, 2))
    print_pdf(client, "secure", job, document)
    wait_for(lambda: waiting_at_server(client, 1), 30, "uploaded and held at the server")

    assert release(cloud, "alice", "simplex") == [client.jobs()[0].uuid]

    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 60, "the server's outcome")
    assert ipp_printer.documents() == [document]
    got = ipp_printer.job_attributes()[0]
    assert got["IPP_COPIES"] == "2" and "IPP_SIDES" not in got  # only what it refused is left
    finished = client.jobs()[0]
    assert finished.state_reasons == "job-completed-with-warnings"
    assert finished.state_message == (
        "printed at simplex by the server (attempt 1); without: sides two-sided-long-edge "
        "(refused by the printer)"
    )
