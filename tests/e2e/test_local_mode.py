"""Local storage mode end to end: the job stays on the PC, the server knows it is there, and
the user's release at a printer gets it printed there."""

from __future__ import annotations

from protocol.states import JobState
from services.core.ipp import Operation, Status, Tag
from support.server import add_printer_and_port
from support.waiting import wait_for
from tests.documents import minimal_pdf, sha256_file
from tests.e2e.conftest import authorize_first_endpoint, channel_state

PULL_PORT = {"name": "hall", "kind": "pull"}


def server_job(cloud, job_uuid: str) -> dict | None:
    return cloud.job(job_uuid)


def add_user(cloud, name: str) -> None:
    with cloud.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": name, "password": "pw-" + name})


def release(cloud, user: str, printer: str) -> list[str]:
    with cloud.admin() as admin:
        reply = admin.post("/api/v1/release", json={"user": user, "printer": printer})
        return reply.raise_for_status().json()["job_ids"]


def test_held_job_is_printed_where_the_user_releases_it(
    online_client, cloud, raw_printer, tmp_path
):
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, port_name="hall")
    client = online_client([PULL_PORT])
    document = tmp_path / "contract.pdf"
    document.write_bytes(b"%PDF-1.7 contract " + bytes(range(256)) * 1000)

    reply = client.ipp(
        Operation.PRINT_JOB,
        printer="hall",
        user="alice",
        document=document.read_bytes(),
        document_format=(Tag.MIME_TYPE, "application/pdf"),
    )
    assert reply.code == Status.OK
    [job] = client.jobs()
    assert job.state == JobState.PENDING_HELD
    # The server learns of the held job (metadata only; the document stays on the PC).
    wait_for(lambda: server_job(cloud, job.uuid), 30, "the server to know the held job")
    assert server_job(cloud, job.uuid)["state"] == "pending-held"
    assert cloud.spool_files() == []
    assert raw_printer.jobs() == []

    assert release(cloud, "alice", "floor1") == [job.uuid]

    wait_for(lambda: client.job_state(job.id) == JobState.COMPLETED, 30, "printed")
    assert sha256_file(raw_printer.jobs()[0]) == sha256_file(document)
    wait_for(lambda: server_job(cloud, job.uuid)["state"] == "completed", 30, "reported")
    # Releasing again prints nothing twice.
    assert release(cloud, "alice", "floor1") == []


def test_a_user_cannot_release_someone_elses_job(online_client, cloud, raw_printer):
    add_user(cloud, "alice")
    add_user(cloud, "bob")
    add_printer_and_port(cloud, "floor1", raw_printer.port, port_name="hall")
    client = online_client([PULL_PORT])
    client.ipp(Operation.PRINT_JOB, printer="hall", user="alice", document=b"alice only")
    job = client.jobs()[0]
    wait_for(lambda: server_job(cloud, job.uuid), 30, "the server to know the held job")

    assert release(cloud, "bob", "floor1") == []
    with cloud.http() as http:
        login = http.post("/api/v1/login", json={"user": "bob", "password": "pw-bob"}).json()
        as_bob = http.post(
            "/api/v1/release",
            json={"user": "alice", "printer": "floor1"},
            headers={"Authorization": f"Bearer {login['token']}"},
        )
    assert as_bob.status_code == 403
    assert client.job_state(job.id) == JobState.PENDING_HELD


def test_cancel_on_the_server_deletes_the_held_document(online_client, cloud, raw_printer):
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, port_name="hall")
    client = online_client([PULL_PORT])
    client.ipp(Operation.PRINT_JOB, printer="hall", user="alice", document=b"cancel me")
    job = client.jobs()[0]
    wait_for(lambda: server_job(cloud, job.uuid), 30, "the server to know the held job")

    with cloud.admin() as admin:
        admin.post(f"/api/v1/jobs/{job.uuid}/cancel").raise_for_status()

    wait_for(lambda: client.job_state(job.id) == JobState.CANCELED, 30, "canceled on the PC")
    assert client.spool_files() == []


def test_offline_direct_printing_works_and_reports_replay_after_reconnect(
    online_client, cloud, raw_printer
):
    add_user(cloud, "alice")
    add_printer_and_port(cloud, "floor1", raw_printer.port, port_name="hall")
    client = online_client(
        [PULL_PORT, {"name": "office", "kind": "direct", "port": raw_printer.port}]
    )
    cloud.stop()
    wait_for(lambda: channel_state(client) == "offline", 30, "the channel to go offline")

    # Direct printing does not need the server.
    direct = client.ipp(Operation.PRINT_JOB, printer="office", user="alice", document=b"direct")
    assert direct.code == Status.OK
    wait_for(lambda: raw_printer.jobs(), 30, "the direct job printed while offline")
    # A pull job is held, and its report waits in the outbox.
    client.ipp(Operation.PRINT_JOB, printer="hall", user="alice", document=b"held offline")
    held = next(j for j in client.jobs() if j.printer == "hall")
    assert held.state == JobState.PENDING_HELD

    cloud.start()
    wait_for(lambda: channel_state(client) == "online", 90, "the channel to reconnect")
    wait_for(lambda: server_job(cloud, held.uuid), 30, "the outbox to replay")
    assert server_job(cloud, held.uuid)["state"] == "pending-held"


def test_held_job_released_at_an_ipp_printer_arrives_there(online_client, cloud, ipp_printer):
    add_user(cloud, "alice")
    add_printer_and_port(
        cloud, "ippfloor", ipp_printer.port, protocol="ipp", path="/ipp/print", port_name="hall"
    )
    client = online_client([])
    wait_for(
        lambda: client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer="hall").code == Status.OK,
        30,
        "the server's pull port",
    )
    document = minimal_pdf("released at an IPP printer")
    client.ipp(
        Operation.PRINT_JOB,
        printer="hall",
        user="alice",
        document=document,
        document_format=(Tag.MIME_TYPE, "application/pdf"),
    )
    job = client.jobs()[0]
    wait_for(lambda: server_job(cloud, job.uuid), 30, "the server to know the held job")

    assert release(cloud, "alice", "ippfloor") == [job.uuid]

    wait_for(lambda: ipp_printer.documents(), 30, "ippeveprinter printed it")
    assert ipp_printer.documents() == [document]
    wait_for(lambda: client.job_state(job.id) == JobState.COMPLETED, 30, "completed")


def test_channel_fails_over_to_the_secondary_server(make_client, cloud, certificates, secondary):
    client = make_client(
        [PULL_PORT],
        server_url=cloud.base_url,
        secondary_server_url=secondary.base_url,
        ca_file=str(certificates.ca_file),
    )
    client.start("sync", "spooler", "delivery", "channel")
    authorize_first_endpoint(cloud)
    wait_for(lambda: channel_state(client) == "online", 60, "online on the primary")

    cloud.stop()

    log = client.root / "log" / "channel.log"
    wait_for(
        lambda: f"state=online server={secondary.base_url}" in log.read_text(),
        90,
        "online on the secondary",
    )
