"""What server tests speak to the reference server beyond its REST API: the gateway's framing
over real TLS (``header``, ``GatewayClient``, ``upload``) and the channel WebSocket; and
``unique`` names for tests that share one module server; ``Document``, a large body made on
the fly; ``printed_once``. The server itself is
support/server.py."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import ssl
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from websockets.sync.client import ClientConnection, connect

from protocol import PROTOCOL_VERSION
from protocol.gateway import LENGTH_PREFIX, UploadReply, decode_reply, encode_frame
from support.server import ServerProcess
from support.waiting import wait_for
from tests.server.peers import RawSink

MIB = 1024 * 1024


class Document:
    """`size` bytes of random-looking data streamed in 1 MiB chunks, never held whole."""

    def __init__(self, mib: int) -> None:
        self.block = os.urandom(MIB)
        self.mib = mib
        digest = hashlib.sha256()
        for i in range(mib):
            digest.update(self.chunk(i))
        self.sha256 = digest.hexdigest()
        self.size = mib * MIB

    def chunk(self, i: int) -> bytes:
        return i.to_bytes(8, "big") + self.block[8:]

    def chunks(self) -> Iterator[bytes]:
        return (self.chunk(i) for i in range(self.mib))


def header(token: str, job_id: str, port_id: int, body: bytes, **extra: Any) -> dict[str, Any]:
    fields = {
        "v": PROTOCOL_VERSION,
        "token": token,
        "job_id": job_id,
        "owner": "alice",
        "port_id": port_id,
        "name": "report.pdf",
        "format": "application/octet-stream",
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    fields.update(extra)
    return fields


class GatewayClient:
    """One TLS connection to the gateway, verified against the test CA."""

    def __init__(self, port: int, ca: ssl.SSLContext) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock = ca.wrap_socket(raw, server_hostname="127.0.0.1")

    def send_raw(self, data: bytes) -> bool:
        """False when the server already hung up (it may refuse before reading the body)."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return False

    def reply(self) -> UploadReply | None:
        """The server's reply, or None when it closed without one."""
        try:
            prefix = self._exactly(LENGTH_PREFIX.size)
            (length,) = LENGTH_PREFIX.unpack(prefix)
            return decode_reply(self._exactly(length))
        except (EOFError, ConnectionResetError, ssl.SSLError, TimeoutError):
            return None

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def upload(
    port: int, ca: ssl.SSLContext, head: dict[str, Any], body: Iterable[bytes] | bytes
) -> UploadReply | None:
    client = GatewayClient(port, ca)
    try:
        if client.send_raw(encode_frame(head)):
            for chunk in [body] if isinstance(body, bytes) else body:
                if not client.send_raw(chunk):
                    break
        return client.reply()
    finally:
        client.close()


def unique(prefix: str) -> str:
    """A name no other test on the shared module server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def open_channel(
    server: ServerProcess, token: str, ca: ssl.SSLContext | None = None
) -> ClientConnection:
    """A WebSocket to /api/v1/channel with a bearer token, verified against the test CA.

    A generous handshake timeout: on a loaded machine the handshake can take seconds, and
    when websockets' sync client gives up on a TLS handshake it waits for its reader thread,
    which stays blocked in the socket (one run hung there until pytest-timeout).
    """
    return connect(
        f"wss://127.0.0.1:{server.http_port}/api/v1/channel",
        ssl=_tls12(ca or server.ca),
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=60,
    )


def _tls12(trusting: ssl.SSLContext) -> ssl.SSLContext:
    """The same trust, with TLS 1.2 at most, for websockets' sync client only.

    That client reads in a thread of its own from the moment the socket is open, while its
    main thread writes the upgrade request on the same SSL socket; Python's SSL sockets are
    not safe for a read and a write at once. Over TLS 1.3 the server's session tickets arrive
    just then. Now and then (test_server_endpoints.py, test_server_outcomes.py) a handshake
    stalled: the server logged the connection closed on header-timeout, never having seen the
    request; this race is the likely cause. TLS 1.2 sends nothing after the handshake. The
    product's channel client is asyncio, one thread, and is not affected.
    """
    capped = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    capped.load_verify_locations(cadata=b"".join(trusting.get_ca_certs(binary_form=True)))
    capped.maximum_version = ssl.TLSVersion.TLSv1_2
    return capped


def printed_once(servers: list[ServerProcess], sink: RawSink, job_id: str, body: bytes) -> None:
    """The job completes, no server still holds its document (a second stored copy would be
    printed from there), and the printer has exactly one copy."""
    first = servers[0]
    wait_for(lambda: (first.job(job_id) or {}).get("state") == "completed", 30, "job completed")
    wait_for(lambda: all(job_id not in s.documents() for s in servers), 30, "documents deleted")
    assert sink.documents().count(body) == 1
