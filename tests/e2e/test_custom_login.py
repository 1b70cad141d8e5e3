"""Custom login on a shared machine: each OS user prints as the server user they logged in as,
and only that user's release reaches their jobs."""

from __future__ import annotations

import subprocess
import sys

from protocol.states import JobState
from services.core.ipp import Operation, Status
from support import ROOT
from support.server import add_printer_and_port
from support.waiting import wait_for


def login(client, os_user: str, user: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "login",
            user,
            "--os-user",
            os_user,
            "--password-stdin",
        ],
        input=password + "\n",
        env=client.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_os_users_print_as_their_server_users(online_client, cloud, raw_printer):
    with cloud.admin() as admin:
        for name in ("alice", "carol"):
            admin.post("/api/v1/admin/users", json={"name": name, "password": "pw-" + name})
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="pull", port_name="hall")
    client = online_client([], login_type="custom")
    wait_for(
        lambda: client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer="hall").code == Status.OK,
        30,
        "the server's port",
    )

    wrong = login(client, "bob", "alice", "not-her-password")
    assert wrong.returncode == 1 and "login refused" in wrong.stderr
    assert login(client, "bob", "alice", "pw-alice").returncode == 0
    assert login(client, "dave", "carol", "pw-carol").returncode == 0

    client.ipp(Operation.PRINT_JOB, printer="hall", user="bob", document=b"bob as alice")
    client.ipp(Operation.PRINT_JOB, printer="hall", user="dave", document=b"dave as carol")
    owners = {job.owner for job in client.jobs()}
    assert owners == {"alice", "carol"}
    # bob lists his (alice's) job only.
    listing = client.ipp(Operation.GET_JOBS, printer="hall", user="bob")
    assert len(listing.groups) == 2

    with cloud.admin() as admin:
        wait_for(lambda: len(cloud.jobs()) >= 2, 30, "the server to know both jobs")
        admin.post("/api/v1/release", json={"user": "alice", "printer": "floor1"})
    wait_for(lambda: raw_printer.jobs(), 30, "alice's job printed")
    assert [p.read_bytes() for p in raw_printer.jobs()] == [b"bob as alice"]
    carol_job = next(j for j in client.jobs() if j.owner == "carol")
    assert client.job_state(carol_job.id) == JobState.PENDING_HELD

    logout = client.run_cli("logout", "--os-user", "bob")
    assert logout.returncode == 0
