"""Kill -9 in the middle of talking to the server: nothing lost, nothing twice."""

from __future__ import annotations

from protocol.states import JobState
from services.core.ipp import Operation, Status
from support.server import add_printer_and_port
from support.waiting import wait_for
from tests.documents import make_document, sha256_file
from tests.e2e.test_trace import events

MB = 1024 * 1024


def delivery_starts(client) -> int:
    """How often delivery has started (it requeues interrupted jobs before it says so)."""
    log = client.root / "log" / "delivery.log"
    return log.read_text().count("service.started") if log.exists() else 0


def served(client, name: str) -> bool:
    return client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer=name).code == Status.OK


def test_delivery_killed_during_a_gateway_upload_leaves_the_job_on_the_server_once(
    online_client, cloud, raw_printer, tmp_path
):
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="pull", port_name="secure")
    client = online_client([], mode="gateway", gateway=f"127.0.0.1:{cloud.gateway_port}")
    wait_for(lambda: served(client, "secure"), 30, "the server's port")
    client.processes["delivery"].kill9()  # so the upload starts only when we watch
    document = tmp_path / "big.pdf"
    digest = make_document(document, 300 * MB)
    assert client.run_cli("print", str(document), "-P", "secure", "-U", "alice").returncode == 0

    client.start("delivery")
    wait_for(lambda: any(n.endswith(".part") for n in cloud.spool_files()), 60, "upload running")
    client.processes["delivery"].kill9()
    client.start("delivery")

    wait_for(lambda: "uploaded" in events(client, 1), 120, "uploaded after restart")
    job = client.jobs()[0]
    # Held on the server: uploaded, not printed (issue 20).
    assert (job.state, job.route) == (JobState.PROCESSING, "gateway")
    held = [j for j in cloud.jobs() if j["id"] == job.uuid]
    assert len(held) == 1 and held[0]["state"] == "pending-held"
    wait_for(lambda: cloud.spool_files() == [job.uuid], 30, "one complete document")
    assert sha256_file(cloud.spool_dir / job.uuid) == digest

    # Killed again now, delivery must not send it a second time: the server has it.
    attempts = events(client, 1).count("attempt")
    client.processes["delivery"].kill9()
    started = delivery_starts(client)
    client.start("delivery")
    wait_for(lambda: delivery_starts(client) > started, 60, "delivery to start again")
    job = client.jobs()[0]
    assert (job.state, job.route) == (JobState.PROCESSING, "gateway")
    assert events(client, 1).count("attempt") == attempts and events(client, 1)[-1] == "uploaded"


def test_channel_and_delivery_killed_during_a_release_print_the_job_once(
    online_client, cloud, raw_printer
):
    with cloud.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": "alice", "password": "pw"})
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="pull", port_name="hall")
    client = online_client([])
    wait_for(lambda: served(client, "hall"), 30, "the server's port")
    client.ipp(Operation.PRINT_JOB, printer="hall", user="alice", document=b"exactly once")
    job = client.jobs()[0]
    wait_for(lambda: cloud.job(job.uuid), 30, "the server to know the held job")

    with cloud.admin() as admin:
        admin.post("/api/v1/release", json={"user": "alice", "printer": "floor1"})
    client.processes["channel"].kill9()
    client.processes["delivery"].kill9()
    client.start("channel", "delivery")

    wait_for(lambda: client.job_state(job.id) == JobState.COMPLETED, 60, "printed")
    wait_for(lambda: cloud.job(job.uuid)["state"] == "completed", 60, "the server sees it")
    assert [p.read_bytes() for p in raw_printer.jobs()] == [b"exactly once"]
