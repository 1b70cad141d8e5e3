"""Gateway mode and job options (issue 21): the upload to the server carries no options yet,
so the job's trace says which ones the server prints without, rather than letting the owner
believe they travelled."""

from __future__ import annotations

from services.core import jobs
from services.core.ipp import Operation, Status, Tag
from support.server import add_printer_and_port
from support.waiting import wait_for
from tests.e2e.test_routes import add_user, gateway_of, served, waiting_at_server
from tests.job_options import job_group


def test_a_gateway_job_says_the_server_prints_it_without_its_options(
    online_client, cloud, raw_printer
):
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="pull", port_name="secure")
    client = online_client([], mode="gateway", gateway=gateway_of(cloud))
    wait_for(lambda: served(client, "secure"), 30, "the server's port")
    options = job_group(copies=(Tag.INTEGER, 1), sides=(Tag.KEYWORD, "one-sided"))

    reply = client.ipp(Operation.PRINT_JOB, printer="secure", job=options, document=b"doc")

    assert reply.code == Status.OK
    wait_for(lambda: waiting_at_server(client, 1), 30, "uploaded")
    with client.store.session() as session:
        trace = {e.event: e.detail for e in jobs.trace(session, 1)}
    assert trace["options"] == (
        "the upload carries no options; the server prints without: copies 1; sides one-sided"
    )
