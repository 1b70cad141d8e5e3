"""The service as it runs in production: supervisord with the five processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx

from support import ROOT
from support.printers import direct_printer
from support.process import Process
from support.waiting import wait_for
from tests.documents import make_document, sha256_file

SERVICES = ("api", "channel", "delivery", "spooler", "sync")


def ctl(client, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cli", "ctl", *args],
        env=client.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.stdout


def pids(client) -> dict[str, int]:
    found = {}
    for line in ctl(client, "status").splitlines():
        match = re.match(r"(\w+)\s+RUNNING\s+pid (\d+)", line)
        if match:
            found[match.group(1)] = int(match.group(2))
    return found


def api_status(client) -> dict | None:
    status = httpx.get(f"http://127.0.0.1:{client.api_port}/status", timeout=5).json()
    return status if status["ok"] else None


def test_service_runs_five_processes_and_restarts_any_killed_one(
    make_client, raw_printer, tmp_path
):
    client = make_client([direct_printer(raw_printer)])
    service = Process(
        "supervisord",
        [sys.executable, "-m", "cli", "service"],
        client.env,
        client.root / "log" / "service.out",
    )
    client.processes["supervisord"] = service
    wait_for(lambda: sorted(pids(client)) == list(SERVICES), what="five services RUNNING")

    client.wait_listening(client.api_port)
    status = wait_for(lambda: api_status(client), what="all services answering")
    assert sorted(status["services"]) == sorted(SERVICES)
    assert status["services"]["channel"]["state"] == "idle"

    for name in SERVICES:
        old = pids(client)[name]
        os.kill(old, signal.SIGKILL)
        wait_for(
            lambda name=name, old=old: pids(client).get(name, old) != old,
            what=f"{name} restarted by supervisord",
        )

    # After all that, the product still prints.
    document = tmp_path / "doc.bin"
    digest = make_document(document, 123_456)
    wait_for(lambda: client.run_cli("print", str(document), "-P", "office").returncode == 0)
    wait_for(lambda: raw_printer.jobs(), what="job printed")
    assert sha256_file(raw_printer.jobs()[0]) == digest
    status = client.run_cli("status")
    assert status.returncode == 0, status.stdout + status.stderr


def test_changing_the_mode_restarts_only_what_must_restart(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])
    client.processes["supervisord"] = Process(
        "supervisord",
        [sys.executable, "-m", "cli", "service"],
        client.env,
        client.root / "log" / "service.out",
    )
    wait_for(lambda: sorted(pids(client)) == list(SERVICES), what="five services RUNNING")
    client.wait_listening(client.api_port)
    before = pids(client)
    token = (client.root / "state" / "api.token").read_text().strip()

    reply = httpx.put(
        f"http://127.0.0.1:{client.api_port}/config",
        json={"mode": "hybrid"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=90,
    )

    assert reply.status_code == 200, reply.text
    # Answered at once, the restart under way: the tray's Save never times out on it.
    assert reply.json()["restarting"] == ["channel", "delivery", "spooler"]
    assert reply.json()["restart_required"] is False
    # The facade tells the mode in force from the first poll on, and the route agrees.
    base = f"http://127.0.0.1:{client.api_port}"
    assert httpx.get(f"{base}/status").json()["mode"] == "hybrid"
    assert httpx.get(f"{base}/route").json()["mode"] == "hybrid"

    def restarted() -> dict | None:
        body = httpx.get(f"{base}/status", timeout=10).json()
        return body if not body["restarting"] else None

    body = wait_for(restarted, 60, "the restart to be done")
    assert not any("restart" in problem for problem in body["problems"]), body["problems"]
    wait_for(lambda: sorted(pids(client)) == list(SERVICES), what="all RUNNING again")
    after = pids(client)
    assert {n for n in SERVICES if after[n] != before[n]} == {"channel", "delivery", "spooler"}
    assert 'mode = "hybrid"' in client.config.read_text()
