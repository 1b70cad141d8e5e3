"""Sync end to end: server input ports become CUPS queues on this machine (a private cupsd)
that print through us; a sync that fails keeps every printer and says why in its status."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.states import JobState
from services.core.ipp import Operation, Status
from support.cups import PrivateCups
from support.server import add_printer_and_port
from support.waiting import wait_for
from tests.documents import sha256_file
from tests.peers import private_cupsd


@pytest.fixture
def cups() -> Iterator[PrivateCups]:
    with private_cupsd() as started:
        yield started


def queues(cups: PrivateCups) -> dict[str, str]:
    result = cups.run("lpstat", "-v")
    found = {}
    for line in result.stdout.splitlines():  # "device for NAME: URI"
        if line.startswith("device for "):
            name, uri = line[len("device for ") :].split(": ", 1)
            found[name] = uri
    return found


def sync_status(client) -> str:
    log = (client.root / "log" / "sync.log").read_text()
    failures = [line for line in log.splitlines() if "sync.failed" in line]
    return failures[-1] if failures else ""


def test_server_ports_become_cups_queues_that_print_through_us(
    online_client, cloud, raw_printer, cups, tmp_path: Path
):
    cups.run("lpadmin", "-p", "theirs", "-E", "-v", "socket://127.0.0.1:9")  # not ours
    client = online_client([], os_queues="cups", cups_server=cups.server)
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="direct", port_name="front")

    assert client.run_cli("sync").returncode == 0
    uri = f"ipp://127.0.0.1:{client.spooler_port}/printers/front"
    wait_for(lambda: queues(cups).get("front") == uri, 30, "a CUPS queue for the new port")

    document = tmp_path / "letter.pdf"
    document.write_bytes(b"%PDF-1.7 through CUPS and us")
    assert cups.run("lp", "-d", "front", "-o", "raw", str(document)).returncode == 0
    wait_for(lambda: raw_printer.jobs(), 60, "the job through cupsd, our spooler and delivery")
    assert sha256_file(raw_printer.jobs()[0]) == sha256_file(document)
    assert queues(cups)["theirs"] == "socket://127.0.0.1:9"  # never touched

    # Removing the port on the server removes its queue here; adding it back restores it.
    with cloud.admin() as admin:
        port_id = next(
            p["id"] for p in admin.get("/api/v1/admin/ports").json() if p["name"] == "front"
        )
        admin.delete(f"/api/v1/admin/ports/{port_id}").raise_for_status()
    wait_for(lambda: "front" not in queues(cups), 30, "the queue removed with its port")
    add_printer_and_port(cloud, "floor1b", raw_printer.port, kind="direct", port_name="front")
    wait_for(lambda: queues(cups).get("front") == uri, 30, "the queue back with a new port")

    # Logout takes the server's printers and their queues away; ours only.
    assert client.run_cli("logout").returncode == 0
    wait_for(lambda: "front" not in queues(cups), 30, "our queue removed at logout")
    assert queues(cups)["theirs"] == "socket://127.0.0.1:9"
    assert client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer="front").code != Status.OK
    assert client.run_cli("login").returncode == 0
    wait_for(lambda: queues(cups).get("front") == uri, 30, "the queue back after login")


class JunkServer:
    """An HTTPS server on the cloud's address that answers every request with nonsense."""

    def __init__(self, port: int, certificates) -> None:
        class Junk(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b'{"ports": "not a list"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Junk)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificates.cert, certificates.key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_failing_sync_keeps_printers_and_reports_why(
    online_client, cloud, raw_printer, certificates
):
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="direct", port_name="front")
    client = online_client([])
    wait_for(
        lambda: client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer="front").code == Status.OK,
        30,
        "the server's port",
    )

    cloud.stop()
    assert client.run_cli("sync").returncode == 0
    wait_for(lambda: sync_status(client), 30, "the failure in sync's status")

    assert client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer="front").code == Status.OK
    client.ipp(Operation.PRINT_JOB, printer="front", document=b"still printing")
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "printed while offline")

    # A server that answers nonsense is a failure too, and changes nothing.
    junk = JunkServer(cloud.http_port, certificates)
    try:
        assert client.run_cli("sync").returncode == 0
        wait_for(lambda: "validation" in sync_status(client).lower(), 30, "the bad answer seen")
    finally:
        junk.stop()
    assert client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer="front").code == Status.OK
