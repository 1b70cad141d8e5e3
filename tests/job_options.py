"""Helpers for tests of job options (issue 21): IPP requests that carry a job group, and
writing a printer's capabilities into a client's printers row.

``put_capabilities`` stands in for sync reading a printer's capabilities (wt-caps, issue 21,
"Capabilities per queue"); once sync writes them itself, tests should let it and this helper
can go.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select

from cli import ipp_client
from services.core import capabilities, ipp
from services.core.capabilities import Capabilities
from services.core.ipp import Attribute, Group, Operation, Tag
from services.core.store import Printer
from support.client import Client
from support.waiting import wait_for

# What tests of options ask for, in the words CUPS sends them.
A5 = "iso_a5_148x210mm"
TWO_SIDED = "two-sided-long-edge"


def job_group(**values: tuple[int, Any]) -> Group:
    """A job group from ``name=(tag, value or [values])`` with ``_`` for ``-``."""
    group = Group(Tag.JOB)
    for name, (tag, value) in values.items():
        items = value if isinstance(value, list) else [value]
        group.attributes[name.replace("_", "-")] = Attribute(name.replace("_", "-"), tag, items)
    return group


def unsupported(reply: ipp.Message) -> dict[str, list[Any]]:
    group = reply.group(Tag.UNSUPPORTED_GROUP)
    return {n: a.values for n, a in group.attributes.items()} if group else {}


def put_capabilities(client: Client, name: str, caps: Capabilities) -> None:
    """Write ``caps`` into printer ``name``'s row, as sync will (see the module docstring)."""
    with client.store.session() as session:
        row = session.get(Printer, name)
        assert row is not None, f"no printer {name} in the store yet"
        row.capabilities = caps.to_json()
        session.commit()


def printer_capabilities(port: int, path: str = "/ipp/print") -> Capabilities:
    """An IPP printer's own Get-Printer-Attributes answer, kept as sync keeps it."""
    uri = f"ipp://127.0.0.1:{port}{path}"
    request = ipp.request(Operation.GET_PRINTER_ATTRIBUTES)
    request.operation.add("printer-uri", Tag.URI, uri)
    request.operation.add("requested-attributes", Tag.KEYWORD, "all", "media-col-database")
    reply = httpx.post(
        ipp_client.http_url(uri),
        content=ipp.encode(request),
        headers={"Content-Type": "application/ipp"},
        timeout=30,
    )
    group = ipp.parse(reply.content)[0].group(Tag.PRINTER)
    assert group is not None, "the printer gave no attributes"
    return capabilities.from_printer(group)


def start_client(
    make_client: Callable[..., Client],
    printers: list[dict[str, Any]],
    caps: dict[str, Capabilities],
    services: tuple[str, ...] = ("spooler", "delivery"),
    **settings: Any,
) -> Client:
    """A client whose printers can do what ``caps`` says: sync writes the rows and is stopped
    (so nothing rewrites them), the capabilities go in, then ``services`` start."""
    client = make_client(printers, **settings)
    client.start("sync")
    wanted = {p["name"] for p in printers}

    def written() -> bool:
        with client.store.session() as session:
            return wanted <= set(session.scalars(select(Printer.name)))

    wait_for(written, 30, "sync to write the printers")
    client.processes.pop("sync").stop()
    for name, printer_caps in caps.items():
        put_capabilities(client, name, printer_caps)
    client.start(*services)
    for name in sorted(wanted):
        client.wait_printer(name)
    return client
