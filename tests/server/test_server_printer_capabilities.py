"""What a raw printer can do, on its server record (issue 21): migration 0010 gives printers
from before it the record of a plain monochrome one-sided printer, the admin CLI and REST set
the fields, a bad value changes nothing, and endpoints read them from GET /api/v1/printers."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from server.models import Printer
from server.store import Store, alembic_config
from support.server import ServerProcess, authorized_endpoint
from tests.server.clients import unique
from tests.server.test_server_admin_cli import cli_json

FACTS = ("color", "duplex", "media", "media_default", "resolution", "pjl")


def columns(store: Store) -> set[str]:
    return {c["name"] for c in sa.inspect(store.engine).get_columns("printers")}


def test_migration_gives_existing_printers_a_plain_raw_record(store: Store) -> None:
    command.upgrade(alembic_config(store.engine), "0009")
    with store.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO printers (name, host, port, protocol, path) "
                "VALUES ('old', '10.0.0.9', 9100, 'raw', '')"
            )
        )

    store.migrate()

    with store.session() as session:
        old = session.scalars(sa.select(Printer)).one()
        assert (old.color, old.duplex, old.media, old.media_default) == (False, False, [], "")
        assert (old.resolution, old.pjl) == (600, False)
    command.downgrade(alembic_config(store.engine), "0009")
    assert not set(FACTS) & columns(store)
    store.migrate()
    assert set(FACTS) <= columns(store)


def test_admin_cli_says_what_a_raw_printer_can_do(server: ServerProcess) -> None:
    name = unique("printer")
    cli_json(server, "printer", "add", name, "--host", "127.0.0.1", "--port", "9100",
             "--protocol", "raw", "--color", "--duplex", "--media", "iso_a4_210x297mm",
             "--media", "iso_a5_148x210mm", "--media-default", "iso_a5_148x210mm",
             "--pjl")  # fmt: skip
    changed = cli_json(server, "printer", "set", name, "--no-color", "--resolution", "1200")
    assert changed["color"] is False and changed["resolution"] == 1200  # type: ignore[index]

    refused = server.cli("printer", "set", name, "--media-default", "na_letter_8.5x11in")
    assert refused.returncode == 1 and "media_default" in refused.stderr
    assert "Traceback" not in refused.stderr

    pull = unique("pull")
    cli_json(server, "port", "add", pull, "--kind", "pull", "--printer", name)
    _, token = authorized_endpoint(server)
    with server.http(token) as client:
        ports = {p["name"]: p for p in client.get("/api/v1/printers").json()["ports"]}
    printer = ports[pull]["printers"][0]
    assert {f: printer[f] for f in FACTS} == {
        "color": False,
        "duplex": True,
        "media": ["iso_a4_210x297mm", "iso_a5_148x210mm"],
        "media_default": "iso_a5_148x210mm",  # the refused change changed nothing
        "resolution": 1200,
        "pjl": True,
    }


def test_admin_rest_sets_a_printers_fields_and_refuses_bad_ones(server: ServerProcess) -> None:
    name = unique("printer")
    new = {"name": name, "host": "127.0.0.1", "port": 9100, "protocol": "raw", "duplex": True}
    with server.admin() as admin:
        assert admin.post("/api/v1/admin/printers", json=new).status_code == 201
        patched = admin.patch(
            f"/api/v1/admin/printers/{name}", json={"media": ["iso_a5_148x210mm"]}
        )
        assert patched.status_code == 200
        assert patched.json()["duplex"] is True and patched.json()["media"] == ["iso_a5_148x210mm"]
        for bad in ({"media": ["A5 paper"]}, {"resolution": 5}, {"colour": True}):
            refused = admin.patch(f"/api/v1/admin/printers/{name}", json=bad)
            assert refused.status_code == 422, (bad, refused.text)
        missing = admin.patch(f"/api/v1/admin/printers/{unique('none')}", json={"pjl": True})
        assert missing.status_code == 404
        printers = {p["name"]: p for p in admin.get("/api/v1/admin/printers").json()}
    assert printers[name]["media"] == ["iso_a5_148x210mm"] and printers[name]["resolution"] == 600


def test_the_printers_page_says_what_each_printer_can_do(server: ServerProcess) -> None:
    raw, ipp = unique("printer"), unique("printer")
    cli_json(server, "printer", "add", raw, "--host", "127.0.0.1", "--port", "9100",
             "--protocol", "raw", "--color", "--duplex", "--pjl")  # fmt: skip
    cli_json(server, "printer", "add", ipp, "--host", "127.0.0.1", "--port", "631",
             "--protocol", "ipp", "--path", "/ipp/print")  # fmt: skip
    with server.http() as browser:
        browser.follow_redirects = True
        page = browser.post("/admin/login", data={"token": server.admin_token}).text
    rows = {name: row for row in page.split("<tr") for name in (raw, ipp) if name in row}
    assert "colour; duplex; A4, Letter; 600 dpi; PJL" in rows[raw]
    assert "asked of the printer" in rows[ipp]
