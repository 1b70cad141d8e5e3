"""Limits on the server's listeners (issue 19, finding 3: idle and half-sent-head connections
to the HTTPS port were still open after 75 s): over real TLS sockets, a connection that sends
nothing, half a request head or a stalled body is closed; one past the cap gets 503 on HTTPS
and ``busy`` on the gateway."""

from __future__ import annotations

import subprocess

from protocol.gateway import LENGTH_PREFIX, decode_map
from support.server import server_command
from tests.slow_peers import closed_by_peer, connect, post_head, settled

LIMITS = ("--http-header-timeout", "1", "--http-body-timeout", "1", "--max-connections", "3",
          "--gateway-max-connections", "2", "--header-timeout", "30")  # fmt: skip


def healthy(server, tls) -> bool:
    return settled(server.http_port, tls.client, "/api/v1/health").startswith(b"HTTP/1.1 200 ")


def test_idle_half_head_and_stalled_body_connections_are_closed(start_server, tls):
    server = start_server(*LIMITS)
    with (
        connect(server.http_port, tls.client) as idle,
        connect(server.http_port, tls.client) as half,
        connect(server.http_port, tls.client) as stalled,
    ):
        half.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: loc")
        stalled.sendall(post_head(1000, "/api/v1/login", "application/json") + b"{")
        for s in (idle, half, stalled):
            assert closed_by_peer(s) == b""
    log = server.logs()
    assert "http.closed reason=header-timeout" in log
    assert "http.closed reason=body-timeout" in log


def test_one_https_connection_past_the_cap_gets_503(start_server, tls):
    server = start_server(*LIMITS, "--http-header-timeout", "30")
    assert healthy(server, tls)
    held = [connect(server.http_port, tls.client) for _ in range(3)]
    try:
        with connect(server.http_port, tls.client) as extra:
            assert closed_by_peer(extra).startswith(b"HTTP/1.1 503 ")
    finally:
        for s in held:
            s.close()
    assert healthy(server, tls)  # and with them gone, the next one is served


def test_one_gateway_connection_past_the_cap_is_answered_busy(start_server, tls):
    server = start_server(*LIMITS)
    held = [connect(server.gateway_port, tls.client) for _ in range(2)]
    try:
        with connect(server.gateway_port, tls.client) as extra:
            reply = closed_by_peer(extra)
    finally:
        for s in held:
            s.close()
    (length,) = LENGTH_PREFIX.unpack(reply[: LENGTH_PREFIX.size])
    answer = decode_map(reply[LENGTH_PREFIX.size : LENGTH_PREFIX.size + length])
    assert (answer["status"], answer["code"]) == ("error", "busy")


def test_a_limit_of_zero_is_refused_at_start_with_a_clear_error(tmp_path):
    for option in ("--max-connections", "--gateway-max-connections", "--http-header-timeout"):
        result = subprocess.run(
            [*server_command(), "run", "--data", str(tmp_path), "--dev-tls", option, "0"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert f"{option}: must be more than 0, got 0" in result.stderr
        assert "Traceback" not in result.stderr
