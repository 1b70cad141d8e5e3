"""Which HTTP proxy, if any, carries a connection to the server: one decision for REST (httpx),
the channel's WebSocket (websockets) and the gateway's raw TLS (an HTTP CONNECT tunnel).

The rules, in order:

1. ``NO_PROXY`` (or ``no_proxy``) names the host: direct, whatever else is set. It applies to the
   ``proxy`` key too, as curl applies it to ``-x``, so one proxy can serve the whole site while
   the local servers are reached directly.
2. The ``proxy`` key of the configuration (``http://[user:password@]host:port``).
3. ``HTTPS_PROXY`` (or ``https_proxy``) from the environment: everything we send to the server
   is TLS, so ``HTTP_PROXY`` is never consulted (as websockets and urllib do for wss/https).
4. Direct.

NO_PROXY is matched as urllib matches it (and websockets, which reads it through urllib):
host names and domain suffixes (``example.org`` and ``.example.org`` both cover
``print.example.org``), an optional ``:port``, ``*`` for everything; no CIDR ranges.

httpx and websockets would read the environment on their own, each slightly differently
(httpx also honours ALL_PROXY and its own NO_PROXY syntax), so callers hand them our answer and
switch their own lookup off: ``httpx_options()`` sets ``trust_env=False``; websockets gets an
explicit ``proxy=`` (None = direct).
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"https": 443, "wss": 443, "http": 80, "ws": 80}
# A CONNECT reply is a status line and a few headers; anything longer is not a proxy talking.
MAX_CONNECT_REPLY = 16 * 1024


class ProxyError(OSError):
    """The proxy could not be reached or refused the tunnel (an OSError: callers already treat
    those as "server unreachable, try again later")."""


# http://[user:password@]host:port[/] with a host name or IPv4 address, or empty. The
# settings' schema carries it too, so /openapi.json says exactly what PUT /config accepts.
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
PROXY_URL_PATTERN = (
    r"^(http://([A-Za-z0-9._~%!$&'()*+,;=:-]*@)?[A-Za-z0-9._~%!$&'()*+,;=-]+:" + _PORT + "/?)?$"
)


def check_proxy_url(value: str | None) -> str | None:
    """The ``proxy`` key's value if it is an ``http://host:port`` URL (None stays None);
    a ValueError says what is allowed otherwise."""
    if value is None:
        return None
    # The pattern says it all (scheme, host, a port in range, no path, query or fragment);
    # this runs before the schema's own check only to give the readable message.
    if not re.fullmatch(PROXY_URL_PATTERN, value):
        raise ValueError("must be http://host:port (or empty to use HTTPS_PROXY/NO_PROXY)")
    return value


def for_address(host: str, port: int, configured: str | None) -> str | None:
    """The proxy URL for a TLS connection to ``host:port``, or None for a direct one."""
    environment = urllib.request.getproxies_environment()
    if urllib.request.proxy_bypass_environment(f"{host}:{port}", environment):
        return None
    return configured or environment.get("https") or None


def for_url(url: str, configured: str | None) -> str | None:
    """The proxy URL for ``url`` (https or wss), or None for a direct connection."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 443)
    return for_address(parts.hostname or "", port, configured)


def httpx_options(url: str, configured: str | None) -> dict[str, Any]:
    """Keyword arguments for an httpx client that talks to the server at ``url``."""
    return {"proxy": for_url(url, configured), "trust_env": False}


async def open_connection(
    host: str, port: int, tls: ssl.SSLContext, configured: str | None, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TLS stream to ``host:port``, through an HTTP CONNECT tunnel when a proxy applies.
    ``timeout`` covers connecting, the tunnel and the TLS handshake."""
    via = for_address(host, port, configured)
    if via is None:
        opening = asyncio.open_connection(host, port, ssl=tls, server_hostname=host)
    else:
        opening = _tunnel(via, host, port, tls)
    return await asyncio.wait_for(opening, timeout)


async def _tunnel(
    via: str, host: str, port: int, tls: ssl.SSLContext
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    proxy = urlsplit(via)
    if proxy.scheme != "http" or not proxy.hostname:
        raise ProxyError(f"proxy {via!r}: only http:// proxies can tunnel TLS to {host}:{port}")
    proxy_address = f"{proxy.hostname}:{proxy.port or 80}"
    try:
        reader, writer = await asyncio.open_connection(proxy.hostname, proxy.port or 80)
    except OSError as exc:
        raise ProxyError(f"proxy {proxy_address}: {exc.strerror or exc}") from None
    try:
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        request = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
        if proxy.username is not None:
            pair = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
            request += f"Proxy-Authorization: Basic {base64.b64encode(pair.encode()).decode()}\r\n"
        writer.write((request + "\r\n").encode())
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            raise ProxyError(f"proxy {proxy_address}: no answer to CONNECT {authority}") from None
        if len(head) > MAX_CONNECT_REPLY:
            raise ProxyError(f"proxy {proxy_address}: answer to CONNECT too long")
        status = head.split(b"\r\n", 1)[0].decode("latin-1")
        if status.split(" ")[1:2] != ["200"]:
            raise ProxyError(f"proxy {proxy_address} refused CONNECT {authority}: {status}")
        # The tunnel is a plain byte pipe now: TLS with the server runs inside it, verified
        # against the server's name exactly as a direct connection is.
        await writer.start_tls(tls, server_hostname=host)
    except BaseException:
        writer.close()
        raise
    return reader, writer
