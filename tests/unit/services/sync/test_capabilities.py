"""Each port's capabilities from the server's records: a direct port presents its printer's,
a pull port the union of the printers it may be released at, with the admin's defaults."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from protocol.channel import PrinterInfo
from protocol.rest import InputPort
from services.core import ipp
from services.core.capabilities import Capabilities
from services.core.ipp import Group, Tag
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


class CountingPrinter:
    """A loopback IPP printer that answers Get-Printer-Attributes and counts the requests."""

    def __init__(self) -> None:
        self.asked = 0
        self.port = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self.answer, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        request, _ = ipp.parse(await reader.readexactly(length))
        self.asked += 1
        reply = ipp.response(request, ipp.Status.OK)
        reply.groups.append(Group(Tag.PRINTER).add("copies-supported", Tag.RANGE, (1, 99)))
        body = ipp.encode(reply)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()


def test_a_printer_that_answers_is_asked_again_only_after_the_refresh_interval(tmp_path) -> None:
    store = Store(tmp_path / "pullprint.db")
    cache = capabilities.CapabilityCache(EventLog("test"))

    async def scenario() -> tuple[int, int, int]:
        first, second = CountingPrinter(), CountingPrinter()
        servers = [await first.start(), await second.start()]

        def plans(printer: CountingPrinter) -> dict[str, capabilities.Plan]:
            source = capabilities.Source("127.0.0.1", printer.port, "ipp", "/ipp/print")
            return {"desk": capabilities.Plan("direct", (source,))}

        await cache.refresh(store, plans(first))
        await cache.refresh(store, plans(first))  # within the interval: not asked again
        asked_first = first.asked
        await cache.refresh(store, plans(second))  # the port's printer changed: asked at once
        cache.refresh_interval = 0
        await cache.refresh(store, plans(second))
        for server in servers:
            server.close()
        return asked_first, second.asked, first.asked

    assert asyncio.run(scenario()) == (1, 2, 1)
    store.dispose()
