"""Each port's capabilities from the server's records: a direct port presents its printer's,
a pull port the union of the printers it may be released at, with the admin's defaults."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from protocol.channel import PrinterInfo
from protocol.rest import InputPort
from services.core.capabilities import Capabilities
from services.core.logs import EventLog
from services.core.store import Printer, Store
from services.sync import capabilities, printers

MONO = PrinterInfo(id=1, name="mono", host="10.0.0.1", port=9100, protocol="raw")
COLOUR = PrinterInfo(
    id=2, name="colour", host="10.0.0.2", port=9100, protocol="raw", color=True, duplex=True,
    media=["iso_a4_210x297mm", "iso_a5_148x210mm"], pjl=True,
)  # fmt: skip
PORTS = [
    InputPort(id=1, name="desk", kind="direct", target=MONO),
    InputPort(id=2, name="follow-me", kind="pull", printers=[MONO, COLOUR]),
    InputPort(id=3, name="anywhere", kind="pull"),
]


def stored(store: Store) -> dict[str, Capabilities]:
    with store.session() as session:
        rows = session.scalars(select(Printer))
        return {r.name: Capabilities.from_json(r.capabilities) for r in rows if r.capabilities}


def test_pull_ports_present_the_union_with_the_admins_defaults(tmp_path) -> None:
    store = Store(tmp_path / "pullprint.db")
    printers.apply(store, "server", printers.from_server(PORTS))
    cache = capabilities.CapabilityCache(EventLog("test"))
    defaults = {"sides-default": "two-sided-long-edge", "media-default": "a5"}

    plans = capabilities.plans_from_server(PORTS)
    assert asyncio.run(cache.refresh(store, plans, defaults)) == 3
    assert asyncio.run(cache.refresh(store, plans, defaults)) == 0  # nothing new: no writes

    ports = stored(store)
    assert ports["desk"].supported("sides") == ["one-sided"]
    assert ports["desk"].default("media") == "iso_a4_210x297mm"
    follow = ports["follow-me"]
    assert follow.supported("copies") == [(1, 999)]
    assert follow.default("sides") == "two-sided-long-edge"
    assert follow.default("media") == "iso_a5_148x210mm"
    assert "color" in follow.supported("print-color-mode")
    assert ports["anywhere"] == follow  # "any printer": every printer the server named
    store.dispose()
