"""Every delivery route of DESIGN.md section 7 with real processes: gateway mode (primary and
secondary), hybrid mode, the Document Output fallback, and certificates that are checked."""

from __future__ import annotations

import ssl

import httpx
import trustme

from protocol.states import JobState
from services.core.ipp import Operation, Status
from support.server import ServerProcess, add_printer_and_port
from support.waiting import wait_for
from tests.e2e.conftest import SERVER_OPTIONS, channel_state


def served(client, name: str) -> bool:
    return client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer=name).code == Status.OK


def print_bytes(client, printer: str, data: bytes, user: str = "alice") -> int:
    reply = client.ipp(Operation.PRINT_JOB, printer=printer, user=user, document=data)
    assert reply.code == Status.OK, reply.operation.get("status-message")
    return max(job.id for job in client.jobs())


def release(cloud, user: str, printer: str) -> list[str]:
    with cloud.admin() as admin:
        reply = admin.post("/api/v1/release", json={"user": user, "printer": printer})
        return reply.raise_for_status().json()["job_ids"]


def add_user(cloud, name: str) -> None:
    with cloud.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": name, "password": "pw-" + name})


def gateway_of(server: ServerProcess) -> str:
    return f"127.0.0.1:{server.gateway_port}"


def waiting_at_server(client, job_id: int) -> bool:
    """Uploaded, and so not printed yet: ``processing`` with the route that handed it over
    (issue 20: an upload is never reported as a print)."""
    job = next((j for j in client.jobs() if j.id == job_id), None)
    return (
        job is not None
        and job.state == JobState.PROCESSING
        and job.route in ("gateway", "via-server")
    )


def completed_after_printed(client, job_id: int, printed) -> None:
    """The PC says completed only once the printer had every byte: its file was written
    before the job was marked completed (one machine, one clock)."""
    job = next(j for j in client.jobs() if j.id == job_id)
    assert job.state == JobState.COMPLETED and job.completed_at >= printed.stat().st_mtime


def test_gateway_mode_uploads_every_job_and_the_server_prints_it_on_release(
    online_client, cloud, raw_printer
):
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="pull", port_name="secure")
    client = online_client([], mode="gateway", gateway=gateway_of(cloud))
    wait_for(lambda: served(client, "secure"), 30, "the server's port")

    job_id = print_bytes(client, "secure", b"via the gateway")

    wait_for(lambda: waiting_at_server(client, job_id), 30, "uploaded")
    job = client.jobs()[-1]
    assert job.route == "gateway" and job.state_reasons == "job-hold-until-specified"
    assert job.state_message == "uploaded; waiting for release at the server"
    wait_for(lambda: client.spool_files() == [], 10, "local copy deleted after the ack")
    assert cloud.job(job.uuid)["state"] == "pending-held"
    assert client.job_state(job_id) == JobState.PROCESSING  # held there: not printed yet
    assert release(cloud, "alice", "floor1") == [job.uuid]
    wait_for(lambda: raw_printer.jobs(), 30, "Document Output printed it")
    assert raw_printer.jobs()[0].read_bytes() == b"via the gateway"
    wait_for(lambda: client.job_state(job_id) == JobState.COMPLETED, 60, "the server's outcome")
    completed_after_printed(client, job_id, raw_printer.jobs()[0])


def test_gateway_mode_fails_over_to_the_secondary_gateway(
    online_client, cloud, raw_printer, secondary
):
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="direct", port_name="front")
    # The secondary is a second server process on the same database, as a site would run it.
    client = online_client(
        [], mode="gateway", gateway="127.0.0.1:1", secondary_gateway=gateway_of(secondary)
    )
    wait_for(lambda: served(client, "front"), 30, "the server's port")

    job_id = print_bytes(client, "front", b"secondary took it")

    wait_for(lambda: raw_printer.jobs(), 30, "the direct port printed at once")
    assert raw_printer.jobs()[0].read_bytes() == b"secondary took it"
    wait_for(lambda: client.job_state(job_id) == JobState.COMPLETED, 60, "the server's outcome")
    completed_after_printed(client, job_id, raw_printer.jobs()[0])


def test_hybrid_mode_prints_direct_ports_locally_and_uploads_pull_ports(
    online_client, cloud, raw_printer
):
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="direct", port_name="front")
    add_printer_and_port(cloud, "floor2", raw_printer.port, kind="pull", port_name="secure")
    client = online_client([], mode="hybrid", gateway=gateway_of(cloud))
    wait_for(lambda: served(client, "secure") and served(client, "front"), 30, "both ports")

    direct = print_bytes(client, "front", b"printed locally")
    pulled = print_bytes(client, "secure", b"held on the server")

    wait_for(lambda: client.job_state(direct) == JobState.COMPLETED, 30, "direct printed")
    wait_for(lambda: waiting_at_server(client, pulled), 30, "pull uploaded")
    routes = {job.id: job.route for job in client.jobs()}
    assert routes == {direct: "direct", pulled: "gateway"}
    assert [p.read_bytes() for p in raw_printer.jobs()] == [b"printed locally"]
    pulled_uuid = next(j.uuid for j in client.jobs() if j.id == pulled)
    assert cloud.job(pulled_uuid)["state"] == "pending-held"
    assert client.job_state(pulled) == JobState.PROCESSING  # held on the server, not printed
    # Released with the printer there: completed only once the server's Document Output
    # printed it, never at the upload (issue 20).
    assert release(cloud, "alice", "floor2") == [pulled_uuid]
    wait_for(lambda: len(raw_printer.jobs()) == 2, 30, "Document Output printed it")
    assert raw_printer.jobs()[1].read_bytes() == b"held on the server"
    wait_for(lambda: client.job_state(pulled) == JobState.COMPLETED, 60, "the server's outcome")
    completed_after_printed(client, pulled, raw_printer.jobs()[1])


def test_unreachable_printer_in_local_mode_prints_via_the_server(online_client, cloud, raw_printer):
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="direct", port_name="front")
    client = online_client([], gateway=gateway_of(cloud))
    wait_for(lambda: served(client, "front"), 30, "the server's port")
    raw_printer.stop()  # the client cannot reach it...

    job_id = print_bytes(client, "front", b"document output")

    wait_for(lambda: waiting_at_server(client, job_id), 30, "handed to the server")
    job = client.jobs()[-1]
    assert job.route == "via-server" and job.state_reasons == "job-outgoing"
    assert job.state_message == "uploaded; the server prints it at front; waiting for the printer"
    raw_printer.start()  # ...and the server's Document Output retries until it can
    wait_for(lambda: raw_printer.jobs(), 60, "Document Output printed it")
    assert raw_printer.jobs()[0].read_bytes() == b"document output"
    wait_for(lambda: cloud.job(job.uuid)["state"] == "completed", 30, "server job completed")
    wait_for(lambda: client.job_state(job_id) == JobState.COMPLETED, 60, "the server's outcome")
    completed_after_printed(client, job_id, raw_printer.jobs()[0])
    assert client.jobs()[-1].state_message.startswith("printed at floor1 by the server")


def impostor_server(directory) -> ServerProcess:
    """A real server whose certificate comes from a CA the client does not trust. The test
    harness itself checks its health without verification; the client under test verifies."""
    leaf = trustme.CA().issue_cert("127.0.0.1")
    cert, key = directory / "impostor.pem", directory / "impostor.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    return ServerProcess(directory / "impostor", cert, key, unverified, None, SERVER_OPTIONS)


def test_a_gateway_with_an_untrusted_certificate_is_refused(
    online_client, cloud, raw_printer, tmp_path
):
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="direct", port_name="front")
    impostor = impostor_server(tmp_path)
    impostor.start()
    try:
        client = online_client([], mode="gateway", gateway=gateway_of(impostor))
        wait_for(lambda: served(client, "front"), 30, "the server's port")

        job_id = print_bytes(client, "front", b"never to an impostor")

        wait_for(lambda: client.job_state(job_id) == JobState.PROCESSING_STOPPED, 30, "refused")
        assert "certificate not trusted" in client.jobs()[-1].state_message
        assert impostor.spool_files() == []
        assert channel_state(client) == "online"  # the real server is still trusted
    finally:
        impostor.stop()


def switch_route(client, route: str) -> None:
    """What the tray's "Store and deliver via gateway" item does: PUT /route on the facade."""
    # The facade writes its token just before its port opens: the token alone is no sign it
    # listens yet.
    client.wait_listening(client.api_port)
    token = (client.root / "state" / "api.token").read_text().strip()
    reply = httpx.put(
        f"http://127.0.0.1:{client.api_port}/route",
        json={"route": route},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text


def test_local_mode_switched_to_the_gateway_uploads_pull_jobs_and_releases_held_ones(
    online_client, cloud, raw_printer
):
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="pull", port_name="secure")
    client = online_client([], gateway=gateway_of(cloud))
    client.start("api")
    wait_for(lambda: served(client, "secure"), 30, "the server's port")
    held = print_bytes(client, "secure", b"held here before the switch")
    assert client.job_state(held) == JobState.PENDING_HELD
    wait_for(lambda: (client.root / "state" / "api.token").exists(), 30, "the facade's token")

    switch_route(client, "gateway")
    # From now on a pull job is not held on this PC: it goes up the gateway at once, and the
    # server holds it until the release.
    uploaded = print_bytes(client, "secure", b"uploaded after the switch")
    wait_for(lambda: waiting_at_server(client, uploaded), 30, "uploaded")
    uploaded_uuid = next(j.uuid for j in client.jobs() if j.id == uploaded)
    assert cloud.job(uploaded_uuid)["state"] == "pending-held"
    assert client.job_state(held) == JobState.PENDING_HELD

    # alice at floor1: the job held on this PC goes through the gateway to floor1 (the printer
    # she stands at), the one held on the server goes out by Document Output.
    wait_for(lambda: len(cloud.jobs()) >= 2, 30, "the server to know both jobs")
    release(cloud, "alice", "floor1")
    wait_for(lambda: len(raw_printer.jobs()) == 2, 60, "both jobs printed at floor1")
    printed = sorted(p.read_bytes() for p in raw_printer.jobs())
    assert printed == [b"held here before the switch", b"uploaded after the switch"]
    assert {j.id: j.route for j in client.jobs()} == {held: "gateway", uploaded: "gateway"}
    both_done = (JobState.COMPLETED, JobState.COMPLETED)
    wait_for(lambda: (client.job_state(held), client.job_state(uploaded)) == both_done, 60,
             "the server's outcomes")  # fmt: skip
