"""The ``Host`` check both loopback listeners make (the facade and the spooler's IPP endpoint).

Listening on 127.0.0.1 does not keep web pages out: a page on ``evil.example`` whose DNS name
is re-pointed at 127.0.0.1 (DNS rebinding) makes the browser send it requests, and the kernel
then names the browser's user as the caller. The browser still sends ``Host: evil.example``,
so a request whose Host is not a loopback name never reaches a route.

A request without Host (HTTP/1.0) is let through: a browser always sends one, so its absence
is never a rebinding page, and old clients on this machine keep working.
"""

from __future__ import annotations

from collections.abc import Iterable

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})


def is_loopback_host(value: str) -> bool:
    """``localhost``, ``127.0.0.1`` or ``[::1]``, in any case, optionally with a port."""
    name = value.strip().lower()
    if name.startswith("["):  # an IPv6 literal: the port, if any, follows the bracket
        end = name.find("]") + 1
        name, port = name[:end], name[end:]
    else:
        name, colon, port = name.partition(":")
        port = colon + port
    if port and not (port.startswith(":") and port[1:].isdigit()):
        return False
    return name in LOOPBACK_NAMES


def host_allowed(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """An ASGI request's raw headers: every ``Host`` it sends is loopback (none at all is fine,
    see above). More than one Host is refused by the first foreign one."""
    return all(
        is_loopback_host(value.decode("latin-1")) for name, value in headers if name == b"host"
    )
