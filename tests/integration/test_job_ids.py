"""One job, one id outside the store: the uuid names a job on the bus, in the facade and in
the logs; the IPP job-id (the store's row number) is what lp showed, and the command line takes
either. Real processes of a serverless client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import zmq
from zmq.utils.monitor import recv_monitor_message

from protocol.states import JobState
from services.core import bus, messages
from services.core.messages import JobStateChanged, JobStored
from support.client import Client
from support.printers import direct_printer
from support.waiting import wait_for
from tests.integration.test_api import HELD, held_job, start_api

WAIT_MS = 30_000


@contextmanager
def listening(client: Client, *services: str) -> Iterator[zmq.Socket]:
    """A SUB socket on these services' job events, returned once it is connected to each of
    them (a subscriber that joins late misses what was published before)."""
    ctx = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, WAIT_MS)
    for cls in (JobStored, JobStateChanged):
        sub.setsockopt(zmq.SUBSCRIBE, cls.TYPE.encode())
    monitor = sub.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    monitor.setsockopt(zmq.RCVTIMEO, WAIT_MS)
    try:
        for service in services:
            sub.connect(bus.pub_address(client.root / "run", service))
        for _ in services:
            assert recv_monitor_message(monitor)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED
        yield sub
    finally:
        sub.disable_monitor()
        monitor.close()
        sub.close()


def next_message(sub: zmq.Socket) -> messages.Message:
    return messages.decode(sub.recv_multipart()).message


def test_bus_messages_name_the_job_by_its_uuid(make_client):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    api.client.wait_printer("hall")

    with listening(api.client, "spooler", "api") as sub:
        job = held_job(api.client, "root")
        stored = next_message(sub)
        canceled = api.admin("POST", f"/jobs/{job.id}/cancel")
        changed = next_message(sub)

    assert canceled.status_code == 200, canceled.text
    assert stored == JobStored(job.id, "hall", int(JobState.PENDING_HELD))
    assert changed == JobStateChanged(job.id, int(JobState.CANCELED), "job-canceled-by-operator")
    [row] = api.client.jobs()
    assert (row.uuid, row.id) == (job.id, job.ipp_job_id)
    # The log lines follow the job by the same id, from the spooler to the facade.
    logs = api.client.logs()
    assert f"job.stored job={job.id} ipp_job_id={job.ipp_job_id} " in logs
    assert f"job.canceled job={job.id} " in logs


def test_the_command_line_takes_the_ipp_job_id_or_the_uuid(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer), HELD])
    client.start("sync", "spooler", "delivery")
    client.wait_printer("hall")
    first, second = held_job(client, "alice", b"first"), held_job(client, "bob", b"second")

    listed = client.run_cli("jobs").stdout.splitlines()
    by_number = client.run_cli("jobs", "--trace", str(first.ipp_job_id))
    by_uuid = client.run_cli("jobs", "--trace", first.id)
    released = client.run_cli("release", second.id, "-P", "office")
    unknown = client.run_cli("release", "424242", "-P", "office")

    assert listed[0].split()[:3] == ["ID", "UUID", "PRINTER"]
    assert [line.split()[:3] for line in listed[1:]] == [
        [str(first.ipp_job_id), first.id, "hall"],
        [str(second.ipp_job_id), second.id, "hall"],
    ]
    assert by_number.returncode == 0 and by_number.stdout == by_uuid.stdout
    assert by_uuid.stdout.startswith(f'job {first.ipp_job_id} "alice\'s job" of alice on hall')
    assert f"uuid {first.id}" in by_uuid.stdout
    assert released.returncode == 0, released.stderr
    assert released.stdout == f"job {second.ipp_job_id} ({second.id}) released to office\n"
    wait_for(lambda: client.job_state(second.ipp_job_id) == JobState.COMPLETED, 30, "printed")
    assert client.job_state(first.ipp_job_id) == JobState.PENDING_HELD
    assert unknown.returncode == 1 and "no job 424242" in unknown.stderr
    help_text = " ".join(client.run_cli("release", "--help").stdout.split())  # unwrapped
    assert "its IPP job-id (the number lp and pullprint print showed) or its uuid" in help_text
