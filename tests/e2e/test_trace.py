"""A job's full trace for each route (issue #12): what `pullprint jobs --trace` and the facade's
GET /jobs/{id}/trace show, read here from the store they read. Setups as in test_routes.py
and test_local_mode.py."""

from __future__ import annotations

import re

from protocol.states import JobState
from services.core import jobs
from services.core.ipp import Operation, Status
from support.printers import direct_printer
from support.server import add_printer_and_port
from support.waiting import wait_for
from tests.e2e.test_routes import (
    add_user,
    gateway_of,
    print_bytes,
    release,
    served,
    switch_route,
)


def trace(client, job_id: int) -> list[tuple[str, str]]:
    with client.store.session() as session:
        return [(e.event, e.detail) for e in jobs.trace(session, job_id)]


def events(client, job_id: int) -> list[str]:
    return [event for event, _detail in trace(client, job_id)]


def detail(client, job_id: int, event: str) -> list[str]:
    return [d for e, d in trace(client, job_id) if e == event]


def test_direct_trace_shows_the_failed_attempt_and_the_one_that_printed(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])  # serverless
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    raw_printer.stop()
    reply = client.ipp(Operation.PRINT_JOB, user="alice", document=b"direct")
    assert reply.code == Status.OK
    job_id = client.jobs()[-1].id
    wait_for(lambda: "attempt-failed" in events(client, job_id), 30, "a failed attempt")
    raw_printer.start()

    wait_for(lambda: client.job_state(job_id) == JobState.COMPLETED, 30, "printed")

    steps = events(client, job_id)
    failed = steps.index("attempt-failed")
    assert steps[:failed] == ["captured", "stored", "attempt", "route"]
    assert steps[-3:] == ["attempt", "route", "delivered"]
    address = f"127.0.0.1:{raw_printer.port}"
    assert detail(client, job_id, "captured") == [
        "on office from alice: 'untitled', 6 bytes application/octet-stream"
    ]
    assert detail(client, job_id, "route")[0] == (
        f"wait: office at {address} refused the connection (nothing listens on that port) "
        "and there is no server to print it"
    )
    assert re.fullmatch(
        rf"attempt 1: {address} refused the connection \(nothing listens on that port\); "
        r"will retry; next try in \d+ s",
        detail(client, job_id, "attempt-failed")[0],
    )
    assert detail(client, job_id, "route")[-1] == f"direct: office answered at {address}"
    [delivered] = detail(client, job_id, "delivered")
    assert re.fullmatch(rf"printed at office \(raw {address}\); attempt \d+", delivered)

    shown = client.run_cli("jobs", "--trace", str(job_id))
    assert shown.returncode == 0, shown.stderr
    assert f"job {job_id} 'untitled' of alice on office: completed" in shown.stdout
    assert "delivered" in shown.stdout and f"direct: office answered at {address}" in shown.stdout


def test_via_server_trace_says_the_printer_refused(online_client, cloud, raw_printer):
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="direct", port_name="front")
    client = online_client([], gateway=gateway_of(cloud))
    wait_for(lambda: served(client, "front"), 30, "the server's port")
    raw_printer.stop()

    job_id = print_bytes(client, "front", b"document output")

    wait_for(lambda: "uploaded" in events(client, job_id), 30, "handed to the server")
    assert events(client, job_id) == ["captured", "stored", "attempt", "route", "uploaded"]
    assert client.job_state(job_id) == JobState.PROCESSING  # uploaded is not printed
    assert detail(client, job_id, "route") == [
        # "front" is the direct port's printer as this client knows it (from the server)
        f"via-server: front at 127.0.0.1:{raw_printer.port} refused the connection "
        "(nothing listens on that port)"
    ]
    assert detail(client, job_id, "uploaded") == [
        "uploaded to the server, which prints it at front; attempt 1"
    ]
    raw_printer.start()
    wait_for(lambda: client.job_state(job_id) == JobState.COMPLETED, 60, "the server's outcome")
    assert events(client, job_id)[-1] == "delivered"
    [delivered] = detail(client, job_id, "delivered")
    assert re.fullmatch(
        r"the server says: printed at floor1 by the server \(attempt \d+\)", delivered
    )


def test_gateway_trace_names_gateway_mode(online_client, cloud, raw_printer):
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="pull", port_name="secure")
    client = online_client([], mode="gateway", gateway=gateway_of(cloud))
    wait_for(lambda: served(client, "secure"), 30, "the server's port")

    job_id = print_bytes(client, "secure", b"via the gateway")

    wait_for(lambda: "uploaded" in events(client, job_id), 30, "uploaded")
    assert events(client, job_id) == ["captured", "stored", "attempt", "route", "uploaded"]
    assert client.job_state(job_id) == JobState.PROCESSING  # held on the server
    assert detail(client, job_id, "route") == ["gateway: gateway mode"]
    assert detail(client, job_id, "uploaded") == [
        "uploaded to the server's gateway, which holds it until its release; attempt 1"
    ]


def test_gateway_trace_names_the_route_switch(online_client, cloud, raw_printer):
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="pull", port_name="secure")
    client = online_client([], gateway=gateway_of(cloud))
    client.start("api")
    wait_for(lambda: served(client, "secure"), 30, "the server's port")
    wait_for(lambda: (client.root / "state" / "api.token").exists(), 30, "the facade's token")
    switch_route(client, "gateway")

    job_id = print_bytes(client, "secure", b"switched to the gateway")

    wait_for(lambda: "uploaded" in events(client, job_id), 30, "uploaded")
    assert client.job_state(job_id) == JobState.PROCESSING  # held on the server
    assert detail(client, job_id, "route") == ["gateway: route switched to gateway"]


def test_held_then_released_trace_names_the_printer_and_the_user(online_client, cloud, raw_printer):
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, port_name="hall")
    client = online_client([{"name": "hall", "kind": "pull"}])
    job_id = print_bytes(client, "hall", b"held, then released")
    wait_for(lambda: "reported" in events(client, job_id), 30, "the server to know the job")
    assert events(client, job_id) == ["captured", "stored", "held", "reported"]
    assert detail(client, job_id, "reported") == [
        "job.stored: the server knows the held job and can release it"
    ]

    release(cloud, "alice", "floor1")

    wait_for(lambda: client.job_state(job_id) == JobState.COMPLETED, 30, "printed")
    wait_for(lambda: events(client, job_id).count("reported") == 2, 30, "the final report")
    assert events(client, job_id) == [
        "captured",
        "stored",
        "held",
        "reported",
        "released",
        "attempt",
        "route",
        "delivered",
        "reported",
    ]
    address = f"127.0.0.1:{raw_printer.port}"
    assert detail(client, job_id, "released") == [f"at printer floor1 ({address}) by alice"]
    assert detail(client, job_id, "route") == [f"direct: floor1 answered at {address}"]
    assert detail(client, job_id, "delivered") == [f"printed at floor1 (raw {address}); attempt 1"]
    assert detail(client, job_id, "reported")[-1] == "report: the server has the job's final report"
