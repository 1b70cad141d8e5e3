"""Asking an IPP printer what it can do: one Get-Printer-Attributes (RFC 8011 4.2.5).

``requested-attributes`` names ``media-col-database`` besides ``all`` because RFC 8011 leaves
it out of ``all`` (PWG 5100.7: it can be large), and CUPS' ``-m everywhere`` builds the
queue's paper sizes from it. Timeouts are short: sync asks every printer at once and must not
wait long on one that is switched off; it keeps what it read last time instead.
"""

from __future__ import annotations

import asyncio

import httpx

from services.core import ipp
from services.core.ipp import Group, NeedMore, Operation, Tag

REQUESTED = ("all", "media-col-database")
# A printer on the local network answers in milliseconds; one that takes longer than this to
# accept a connection is off or unreachable, and one that needs longer for its answer is
# asked again at the next sync.
TIMEOUT = httpx.Timeout(5.0, connect=2.0)
DEADLINE = 10.0
# A printer's answer, media-col-database included, is tens to a few hundred KiB; more is not
# a printer we can use, and must not fill sync's memory.
MAX_ANSWER = 4 * 1024 * 1024


class Unreadable(Exception):
    """The printer could not be asked, or its answer was not a printer's attributes; the
    message says which, for one log line."""


def printer_uri(host: str, port: int, path: str, scheme: str = "ipp") -> str:
    return f"{scheme}://{_host(host)}:{port}{path or '/ipp/print'}"


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


async def read(
    client: httpx.AsyncClient, host: str, port: int, path: str, scheme: str = "ipp"
) -> Group:
    """The printer group of the printer's answer; raises ``Unreadable``. ``scheme`` ipps:
    over the TLS of ``client`` (which trusts the printer's pinned certificate)."""
    uri = printer_uri(host, port, path, scheme)
    url = ("https" if scheme == "ipps" else "http") + uri[uri.index(":") :]
    request = ipp.request(Operation.GET_PRINTER_ATTRIBUTES)
    request.operation.add("printer-uri", Tag.URI, uri)
    request.operation.add("requested-attributes", Tag.KEYWORD, *REQUESTED)
    try:
        # The whole exchange is bounded too: a printer that sends a byte every few seconds
        # would pass every per-read timeout.
        status, content = await asyncio.wait_for(_post(client, url, request), DEADLINE)
    except (httpx.HTTPError, TimeoutError) as exc:
        raise Unreadable(f"{uri}: {str(exc) or type(exc).__name__}") from None
    except _TooLarge:
        raise Unreadable(f"{uri}: the answer is larger than {MAX_ANSWER} bytes") from None
    if status != 200:
        raise Unreadable(f"{uri}: HTTP {status}")
    try:
        message, _ = ipp.parse(content)
    except (NeedMore, ipp.IppError):
        raise Unreadable(f"{uri}: the answer is not IPP") from None
    group = message.group(Tag.PRINTER)
    if message.code >= 0x0100 or group is None:
        raise Unreadable(f"{uri}: IPP status {message.code:#06x}, no printer attributes")
    return group


class _TooLarge(Exception):
    pass


async def _post(client: httpx.AsyncClient, url: str, request: ipp.Message) -> tuple[int, bytes]:
    """The HTTP status and, when it is 200, the body (at most ``MAX_ANSWER`` bytes)."""
    body = bytearray()
    headers = {"Content-Type": "application/ipp"}
    async with client.stream(
        "POST", url, content=ipp.encode(request), headers=headers, timeout=TIMEOUT
    ) as reply:
        if reply.status_code != 200:
            return reply.status_code, b""
        async for chunk in reply.aiter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER:
                raise _TooLarge
    return 200, bytes(body)
