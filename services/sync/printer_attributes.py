"""Asking an IPP printer what it can do: one Get-Printer-Attributes (RFC 8011 4.2.5).

``requested-attributes`` names ``media-col-database`` besides ``all`` because RFC 8011 leaves
it out of ``all`` (PWG 5100.7: it can be large), and CUPS' ``-m everywhere`` builds the
queue's paper sizes from it. Timeouts are short: sync asks every printer at once and must not
wait long on one that is switched off; it keeps what it read last time instead.
"""

from __future__ import annotations

import httpx

from services.core import ipp
from services.core.ipp import Group, NeedMore, Operation, Tag

REQUESTED = ("all", "media-col-database")
# A printer on the local network answers in milliseconds; one that takes longer than this to
# accept a connection is off or unreachable, and one that needs longer for its answer is
# asked again at the next sync.
TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class Unreadable(Exception):
    """The printer could not be asked, or its answer was not a printer's attributes; the
    message says which, for one log line."""


def printer_uri(host: str, port: int, path: str) -> str:
    return f"ipp://{_host(host)}:{port}{path or '/ipp/print'}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


async def read(client: httpx.AsyncClient, host: str, port: int, path: str) -> Group:
    """The printer group of the printer's answer; raises ``Unreadable``."""
    uri = printer_uri(host, port, path)
    request = ipp.request(Operation.GET_PRINTER_ATTRIBUTES)
    request.operation.add("printer-uri", Tag.URI, uri)
    request.operation.add("requested-attributes", Tag.KEYWORD, *REQUESTED)
    url = "http" + uri[3:]
    try:
        reply = await client.post(
            url,
            content=ipp.encode(request),
            headers={"Content-Type": "application/ipp"},
            timeout=TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise Unreadable(f"{uri}: {exc or type(exc).__name__}") from None
    if reply.status_code != 200:
        raise Unreadable(f"{uri}: HTTP {reply.status_code}")
    try:
        message, _ = ipp.parse(reply.content)
    except (NeedMore, ipp.IppError):
        raise Unreadable(f"{uri}: the answer is not IPP") from None
    group = message.group(Tag.PRINTER)
    if message.code >= 0x0100 or group is None:
        raise Unreadable(f"{uri}: IPP status {message.code:#06x}, no printer attributes")
    return group
