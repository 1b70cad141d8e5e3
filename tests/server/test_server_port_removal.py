"""Removing an input port: REST and CLI, unknown ids refused, endpoints told to resync."""

from __future__ import annotations

from support.server import add_printer_and_port
from tests.server.clients import unique


def test_admin_removes_a_port_by_rest_and_by_cli(server, raw_sink):
    first = add_printer_and_port(server, unique("p"), raw_sink.port, port_name=unique("a"))
    second = add_printer_and_port(server, unique("p"), raw_sink.port, port_name=unique("b"))

    with server.admin() as admin:
        assert admin.delete(f"/api/v1/admin/ports/{first}").status_code == 200
        missing = admin.delete(f"/api/v1/admin/ports/{first}")
        assert missing.status_code == 404
        assert missing.json()["detail"]["code"] == "not-found"
    result = server.cli("port", "remove", str(second))
    assert result.returncode == 0, result.stderr

    with server.admin() as admin:
        ids = {p["id"] for p in admin.get("/api/v1/admin/ports").json()}
    assert first not in ids and second not in ids
    assert server.cli("port", "remove", str(second)).returncode != 0
