"""Opening a service's loopback port, with one clear line when another process holds it.

uvicorn binds its own socket and, when the port is taken, exits with a traceback that
supervisord then repeats on every restart, while the facade can only say "no reply". We bind
first, and a taken port becomes ``PortTaken`` naming the port and, when the kernel tells us, the
process that holds it ("port 631 on 127.0.0.1 is taken by cupsd (pid 412)").
"""

from __future__ import annotations

import errno
import socket

import psutil


class PortTaken(Exception):
    """Another process listens on our port: nothing of ours can work until it lets go."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (as uvicorn and asyncio would make it)."""
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY on accepted connections only for a
    # listener whose proto says TCP, and without it every small answer waits ~40 ms (Nagle
    # against delayed ACKs), forty times slower than uvicorn binding the port itself.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            holder = port_owner(port) or "another process"
            raise PortTaken(f"port {port} on {host} is taken by {holder}") from None
        raise
    sock.set_inheritable(True)
    return sock


def port_owner(port: int, unless: str = "") -> str | None:
    """Who listens on ``port``, as well as the kernel says; None when nobody does, or when it
    is the process whose command line holds ``unless`` (our own, busy rather than gone)."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for conn in connections:
        if conn.status != psutil.CONN_LISTEN or not conn.laddr or conn.laddr[1] != port:
            continue
        if conn.pid is None:
            return "another process"
        try:
            process = psutil.Process(conn.pid)
            if unless and unless in " ".join(process.cmdline()):
                return None
            return f"{process.name()} (pid {conn.pid})"
        except psutil.Error:
            return f"pid {conn.pid}"
    return None
