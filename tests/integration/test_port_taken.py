"""A spooler whose port another process holds says so (issue 20): one log line naming the
port and the holder instead of a traceback per restart, and the facade's status names them
instead of "no reply after 2 attempts"."""

from __future__ import annotations

import os
import socket

from support.waiting import wait_for
from tests.integration.test_api import HELD, start_api


def test_a_taken_spooler_port_is_named_with_its_holder(make_client):
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        port = squatter.getsockname()[1]
        api = start_api(make_client, "sync", printers=[HELD], spooler_port=port)
        api.client.start("spooler")
        spooler = api.client.processes["spooler"]
        wait_for(lambda: not spooler.alive(), 20, "the spooler to give up on the port")

        body = api.call("GET", "/status").json()

    holder = f"(pid {os.getpid()})"  # this test holds it
    log = (api.client.root / "log" / "spooler.log").read_text()
    assert f'service.port-taken reason="port {port} on 127.0.0.1 is taken by ' in log
    assert "Traceback" not in log and len(log.strip().splitlines()) == 1
    assert spooler.popen.returncode == 3
    assert holder in log.strip()
    reason = body["services"]["spooler"]["reason"]
    assert reason.startswith(f"port {port} is taken by ") and reason.endswith(holder)
    assert body["ok"] is False
    assert f"spooler: unreachable: {reason}" in body["problems"]
