"""Printers come from the server: input ports assigned there appear on the client by
themselves, and jobs of a server-defined direct port print on its target printer."""

from __future__ import annotations

from protocol.states import JobState
from services.core.ipp import Operation, Status
from support.server import add_printer_and_port
from support.waiting import wait_for
from tests.documents import sha256_file


def served(client, name: str) -> bool:
    reply = client.ipp(Operation.GET_PRINTER_ATTRIBUTES, printer=name)
    return reply.code == Status.OK


def test_server_ports_become_printers_and_new_ones_arrive_by_themselves(
    online_client, cloud, raw_printer, tmp_path
):
    add_printer_and_port(cloud, "floor1", raw_printer.port, kind="direct", port_name="front")
    client = online_client([])
    wait_for(lambda: served(client, "front"), 30, "the server's port to be served")

    add_printer_and_port(cloud, "floor2", raw_printer.port, kind="pull", port_name="secure")
    wait_for(lambda: served(client, "secure"), 30, "printers.changed to bring the new port")

    document = tmp_path / "memo.pdf"
    document.write_bytes(b"%PDF-1.7 memo")
    result = client.run_cli("print", str(document), "-P", "front", "-U", "alice")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "printed on the target")
    assert sha256_file(raw_printer.jobs()[0]) == sha256_file(document)
