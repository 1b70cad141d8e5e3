from __future__ import annotations

from sqlalchemy import select

from protocol.channel import PrinterInfo
from protocol.rest import InputPort
from services.core.store import Printer, Store
from services.sync import printers


def ports(n: int, host: str = "10.0.0.1") -> list[InputPort]:
    target = PrinterInfo(id=1, name="p", host=host, port=9100, protocol="raw")
    return [InputPort(id=i, name=f"port-{i:04d}", kind="direct", target=target) for i in range(n)]


def rows(store: Store) -> dict[str, Printer]:
    with store.session() as session:
        return {row.name: row for row in session.scalars(select(Printer))}


def test_sync_of_1000_ports_is_incremental(tmp_path):
    store = Store(tmp_path / "pullprint.db")
    assert printers.apply(store, "server", printers.from_server(ports(1000))) == 1000
    assert printers.apply(store, "server", printers.from_server(ports(1000))) == 0

    changed = ports(1000)
    changed[7] = InputPort(id=7, name="port-0007", kind="pull")
    assert printers.apply(store, "server", printers.from_server(changed[:999])) == 2

    table = rows(store)
    assert len(table) == 999 and table["port-0007"].kind == "pull"
    assert table["port-0008"].host == "10.0.0.1" and table["port-0008"].server_id == 8
    store.dispose()


def test_each_source_changes_only_its_own_rows(tmp_path):
    store = Store(tmp_path / "pullprint.db")
    printers.apply(
        store,
        "config",
        {
            "office": {
                "kind": "direct",
                "host": "h",
                "port": 9100,
                "protocol": "raw",
                "path": "",
                "server_id": None,
            }
        },
    )
    printers.apply(store, "server", printers.from_server(ports(2)))
    # The server has no "office": the config's printer stays. A server port named like a
    # config printer does not take it over.
    clash = [InputPort(id=9, name="office", kind="pull")]
    printers.apply(store, "server", printers.from_server(clash))
    table = rows(store)
    assert set(table) == {"office"} and table["office"].source == "config"
    store.dispose()


def test_a_ports_cached_capabilities_stay_until_its_printer_changes(tmp_path):
    store = Store(tmp_path / "pullprint.db")
    printers.apply(store, "server", printers.from_server(ports(2)))
    with store.session() as session:
        for row in session.scalars(select(Printer)):
            row.capabilities, row.capabilities_at = '{"attributes": {}}', 1.0
        session.commit()

    assert printers.apply(store, "server", printers.from_server(ports(2))) == 0
    moved = ports(2)
    moved[1] = InputPort(
        id=1, name="port-0001", kind="direct", target=ports(1, "10.0.0.2")[0].target
    )
    assert printers.apply(store, "server", printers.from_server(moved)) == 1

    table = rows(store)
    assert table["port-0000"].capabilities == '{"attributes": {}}'  # same printer: kept
    assert table["port-0001"].capabilities is None  # another printer: read it anew
    assert table["port-0001"].capabilities_at is None
    store.dispose()
