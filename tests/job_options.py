"""Helpers for tests of job options (issue 21): IPP requests that carry a job group, and a
client whose ports present what their printers can do, read by sync as a user's would be (an
IPP printer asked for its attributes, a raw printer described by its ``[[printers]]`` entry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.core import ipp
from services.core.capabilities import A4
from services.core.ipp import Attribute, Group, Tag
from support.client import Client
from tests.capable_printers import wait_offering

# What tests of options ask for, in the words CUPS sends them.
A5 = "iso_a5_148x210mm"
TWO_SIDED = "two-sided-long-edge"
# What a printer asked for copies 2, both sides, A5 and colour hands its command, as
# ippeveprinter does (IppEvePrinter.job_attributes).
ARRIVED = {
    "IPP_COPIES": "2",
    "IPP_SIDES": TWO_SIDED,
    "IPP_MEDIA": A5,
    "IPP_PRINT_COLOR_MODE": "color",
}


def arrived(got: dict[str, str]) -> dict[str, str | None]:
    """Of one job's IPP_* variables, those ARRIVED names, to compare with it."""
    return {name: got.get(name) for name in ARRIVED}


# A raw printer entry's fields for one that reads PJL: copies, duplex, colour and A5 reach it.
PJL_FIELDS: dict[str, Any] = {
    "color": True,
    "duplex": True,
    "media": [A4, A5],
    "pjl": True,
}


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


def start_client(
    make_client: Callable[..., Client],
    printers: list[dict[str, Any]],
    offering: dict[str, tuple[str, Any]] | None = None,
    services: tuple[str, ...] = ("spooler", "delivery"),
    **settings: Any,
) -> Client:
    """A client with sync and ``services`` running, once each port in ``offering`` presents
    ``{port: (attribute, value)}`` (sync has read its printers: ``("copies-supported", (1,
    999))`` for an ippeveprinter or a raw printer with ``pjl = true``)."""
    client = make_client(printers, **settings)
    client.start("sync", *services)
    for printer in printers:
        client.wait_printer(printer["name"])
    for name, (attribute, value) in (offering or {}).items():
        wait_offering(client, name, attribute, value)
    return client
