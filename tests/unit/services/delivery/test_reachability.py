"""The reachability check says what happened (issue 20): a printer that refuses the connection
is not "silent for 2 s", and a name that does not resolve says so. Real sockets on loopback."""

from __future__ import annotations

import asyncio
import socket

from services.delivery.transport import connect_failure, unreachable


def test_a_listening_printer_is_reachable():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert asyncio.run(unreachable("127.0.0.1", port, 2)) is None


def test_a_closed_port_is_refused_not_silent():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    # Closed now: the kernel answers a reset at once.
    failure = asyncio.run(unreachable("127.0.0.1", port, 2))
    assert failure == "refused the connection (nothing listens on that port)"


def test_a_name_that_does_not_resolve_says_so():
    failure = asyncio.run(unreachable("printer.invalid", 9100, 2))
    assert failure is not None and failure.startswith("has a name that does not resolve")


def test_a_silence_names_the_time_waited():
    assert connect_failure(TimeoutError(), 2.0) == "did not answer within 2 s"
