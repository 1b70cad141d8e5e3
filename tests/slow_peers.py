"""Raw-socket peers for the listener limit tests (issue 19, finding 3): what a slow, stalled
or hostile client does, byte by byte, and what it gets back."""

from __future__ import annotations

import socket
import ssl

# How long a test waits for the server to close a connection it should close. Generous, so a
# loaded machine does not fail a test; the limits the tests configure are far shorter.
BOUND = 15.0


def connect(port: int, tls: ssl.SSLContext | None = None) -> socket.socket:
    """A connection to 127.0.0.1:``port`` (TLS when given a context), reads bounded by BOUND."""
    s = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
    if tls is not None:
        s = tls.wrap_socket(s, server_hostname="127.0.0.1")
    s.settimeout(BOUND)
    return s


def closed_by_peer(s: socket.socket) -> bytes:
    """Everything the server sends until it closes; fails if it has not closed within BOUND."""
    received = b""
    try:
        while chunk := s.recv(65536):
            received += chunk
    except (ConnectionResetError, ssl.SSLError):
        pass  # closed with our bytes unread, or TLS cut without close_notify: closed all the same
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open for {BOUND} s") from None
    return received


def answer(s: socket.socket) -> bytes:
    """One whole response, as ``status line + b" " + body`` (by Content-Length or chunked)."""
    data = _until(s, b"", b"\r\n\r\n")
    head, _, rest = data.partition(b"\r\n\r\n")
    headers = head.lower()
    if b"transfer-encoding: chunked" in headers:
        body = b""
        while True:
            rest = _until(s, rest, b"\r\n")
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            rest = _until(s, rest, b"\r\n", size)
            body, rest = body + rest[:size], rest[size + 2 :]
            if size == 0:
                break
    else:
        length = int(headers.split(b"content-length: ")[1].split(b"\r\n")[0])
        body = _until(s, rest, b"", length)[:length]
    return head.split(b"\r\n")[0] + b" " + body


def _until(s: socket.socket, data: bytes, marker: bytes, at_least: int = 0) -> bytes:
    """``data`` and what the peer sends next, until it holds ``marker`` after ``at_least``."""
    while len(data) < at_least or marker not in data[at_least:]:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError(f"the server closed mid-answer after {data!r}")
        data += chunk
    return data


def post_head(length: int, path: str = "/", content_type: str = "text/plain") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def settled(port: int, tls: ssl.SSLContext | None = None, path: str = "/") -> bytes:
    """One whole exchange on a fresh connection, its answer: the connections earlier probes and
    requests opened and closed are gone from the server's count by then."""
    with connect(port, tls) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        return closed_by_peer(s)
