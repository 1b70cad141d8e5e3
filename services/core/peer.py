"""Who is calling: the OS user that owns the client end of the TCP connection.

The facade and the spooler listen on loopback only, so the client end is a socket on this
machine and the kernel knows its owner. We ask the kernel (``/proc/net/tcp`` and ``tcp6`` on
Linux, psutil elsewhere) instead of trusting anything the client says about itself, so a user
cannot see or cancel another user's jobs by claiming a different name.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from pathlib import Path

import psutil

PROC_TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))

Address = tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]


def _normal(host: str, port: int) -> Address:
    """One spelling per address: an IPv4-mapped IPv6 address becomes plain IPv4."""
    address = ipaddress.ip_address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address, port


def _proc_address(field: str) -> Address:
    """Decode ``0100007F:1F90``: the address is 32-bit words in host byte order, in hex."""
    host_hex, port_hex = field.split(":")
    raw = b"".join(
        struct.pack("=I", int(host_hex[i : i + 8], 16)) for i in range(0, len(host_hex), 8)
    )
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return _normal(socket.inet_ntop(family, raw), int(port_hex, 16))


def _uid_from_proc(client: Address, server: Address) -> int | None:
    # Every IPP request asks: rows of other connections are skipped by the client's port
    # (as /proc spells it) before any address is decoded.
    port = f":{client[1]:04X}"
    for table in PROC_TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or not fields[1].endswith(port) or fields[9] == "0":
                # Inode 0: no socket is behind this row any more (TIME_WAIT, a closed end), and
                # its uid 0 is nobody's: taking it would make a stale row root.
                continue
            # The client's own socket: local = the client's address, remote = ours.
            if _proc_address(fields[1]) == client and _proc_address(fields[2]) == server:
                return int(fields[7])
    return None


def _uid_from_psutil(client: Address, server: Address) -> int | None:
    """macOS and others: find the client's socket, then its process's real uid."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for conn in connections:
        if not conn.laddr or not conn.raddr or conn.pid is None:
            continue
        if _normal(*conn.laddr) == client and _normal(*conn.raddr) == server:
            try:
                return psutil.Process(conn.pid).uids().real
            except psutil.Error:
                return None
    return None


def peer_uid(client_host: str, client_port: int, server_host: str, server_port: int) -> int | None:
    """The uid owning the client end of this connection, or None when the kernel won't say."""
    client = _normal(client_host, client_port)
    server = _normal(server_host, server_port)
    if PROC_TABLES[0].exists():
        return _uid_from_proc(client, server)
    return _uid_from_psutil(client, server)
