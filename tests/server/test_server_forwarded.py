"""The per-address limits and the audit trail behind HAProxy (issue 22): with the terminating
config (deploy/haproxy/haproxy-terminating.cfg) and `--trusted-proxy`, each client is counted
and audited by its own address; nobody picks the address they are counted by with an
X-Forwarded-For of their own, through HAProxy or straight to a process. Real haproxy, real
server processes, clients on other loopback addresses (all of 127/8 is loopback on Linux)."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from protocol.states import JobState
from support.client import Client
from support.haproxy import Haproxy, SiteTls
from support.server import ServerProcess, add_printer_and_port
from support.waiting import wait_for
from tests.server.clients import unique
from tests.server.conftest import Tls
from tests.server.fleet import (
    channels_opened,
    client_behind,
    job_state,
    online_on,
    print_held,
    release,
    served,
)
from tests.server.peers import RawSink

needs_haproxy = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="haproxy absent (Debian package haproxy)"
)
SPOOFED = {"X-Forwarded-For": "10.9.9.9"}


def client_at(base_url: str, ca: ssl.SSLContext, address: str) -> httpx.Client:
    """A client whose connections come from `address`."""
    transport = httpx.HTTPTransport(verify=ca, local_address=address)
    return httpx.Client(base_url=base_url, transport=transport, timeout=30)


def register(client: httpx.Client, hostname: str, headers: dict[str, str] | None = None) -> int:
    reply = client.post("/api/v1/endpoints", json={"hostname": hostname}, headers=headers)
    return reply.status_code


def origins(server: ServerProcess, action: str) -> dict[str, str]:
    """Who -> from where, as the admin's audit view shows each row of `action`."""
    with server.admin() as admin:
        rows = admin.get("/api/v1/admin/audit", params={"action": action, "limit": 1000})
    return {row["actor"]: row["origin"] for row in rows.raise_for_status().json()}


@pytest.fixture
def behind_haproxy(
    start_server: Callable[..., ServerProcess], tls: Tls, tmp_path: Path
) -> Iterator[tuple[ServerProcess, Haproxy]]:
    """One process that believes X-Forwarded-For from HAProxy's address (127.0.0.1) only, one
    registration and one failed login per address, behind the terminating config."""
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy absent (Debian package haproxy)")
    server = start_server("--trusted-proxy", "127.0.0.1", "--registrations-per-address", "1",
                          "--login-address-failures", "1")  # fmt: skip
    site = SiteTls.from_pair(tmp_path / "site", tls.cert, tls.key, tls.ca_file)
    backends = [(server.http_port, server.gateway_port)]
    with Haproxy.start(tmp_path / "haproxy", backends, terminating=site) as proxy:
        yield server, proxy


def test_behind_the_terminating_haproxy_each_client_is_limited_and_audited_by_its_address(
    behind_haproxy: tuple[ServerProcess, Haproxy], tls: Tls
) -> None:
    server, proxy = behind_haproxy
    first, second, third = unique("pc"), unique("pc"), unique("pc")
    with (
        client_at(proxy.base_url, tls.client, "127.0.0.2") as one,
        client_at(proxy.base_url, tls.client, "127.0.0.3") as other,
    ):
        assert register(one, first) == 201
        assert register(other, second) == 201  # HAProxy's address would have been refused
        assert register(one, third) == 429
        # The same for failed logins: one each, and each address has its own.
        assert one.post("/api/v1/login", json={"user": "x", "password": "y"}).status_code == 401
        assert other.post("/api/v1/login", json={"user": "z", "password": "y"}).status_code == 401
        assert one.post("/api/v1/login", json={"user": "w", "password": "y"}).status_code == 429
    registered = origins(server, "endpoint.register")
    assert (registered[first], registered[second]) == ("127.0.0.2", "127.0.0.3")
    assert third not in registered
    assert origins(server, "user.login-failed") == {"x": "127.0.0.2", "z": "127.0.0.3"}


def test_a_client_sending_its_own_x_forwarded_for_through_haproxy_is_counted_by_its_address(
    behind_haproxy: tuple[ServerProcess, Haproxy], tls: Tls
) -> None:
    server, proxy = behind_haproxy
    # 127.0.0.1 is HAProxy's own address, which the process trusts: were the client's header
    # kept, the process would skip the trusted entry and count the client as 10.9.9.9.
    named = [unique("pc") for _ in range(4)]
    with (
        client_at(proxy.base_url, tls.client, "127.0.0.1") as local,
        client_at(proxy.base_url, tls.client, "127.0.0.4") as remote,
    ):
        assert register(local, named[0], SPOOFED) == 201
        assert register(remote, named[1], SPOOFED) == 201  # not counted as 10.9.9.9 either
        assert register(local, named[2], {"X-Forwarded-For": "10.9.9.8"}) == 429
        assert register(remote, named[3], {"X-Forwarded-For": "10.9.9.7"}) == 429
    registered = origins(server, "endpoint.register")
    assert (registered[named[0]], registered[named[1]]) == ("127.0.0.1", "127.0.0.4")


@pytest.mark.parametrize(
    "trusting", [(), ("--trusted-proxy", "127.0.0.9")], ids=["no-proxy", "another-proxy"]
)
def test_a_client_sending_x_forwarded_for_straight_to_a_process_is_counted_by_its_address(
    start_server: Callable[..., ServerProcess], tls: Tls, trusting: tuple[str, ...]
) -> None:
    server = start_server(*trusting, "--registrations-per-address", "1")
    spoofer, honest = unique("pc"), unique("pc")
    with client_at(server.base_url, tls.client, "127.0.0.1") as client:
        assert register(client, spoofer, SPOOFED) == 201
        assert register(client, honest) == 429  # the first counted as 127.0.0.1, not 10.9.9.9
    assert origins(server, "endpoint.register") == {spoofer: "127.0.0.1"}


@needs_haproxy
@pytest.mark.parametrize("wrong", ["ca", "host"])
def test_the_terminating_haproxy_forwards_nothing_to_a_process_whose_certificate_fails_its_check(
    start_server: Callable[..., ServerProcess], tls: Tls, tmp_path: Path, wrong: str
) -> None:
    # Encrypting again is worth little if HAProxy would talk to whoever answers on the
    # process's address: its certificate must come from the CA file and name the host.
    server = start_server("--trusted-proxy", "127.0.0.1")
    site = SiteTls.from_pair(tmp_path / "site", tls.cert, tls.key, tls.ca_file)
    if wrong == "ca":
        other = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other))
        site = SiteTls(site.pem, other)
    else:
        site = SiteTls(site.pem, site.ca_file, host="print.example.com")
    backends = [(server.http_port, server.gateway_port)]
    with (
        Haproxy.start(tmp_path / "haproxy", backends, terminating=site) as proxy,
        client_at(proxy.base_url, tls.client, "127.0.0.2") as client,
    ):
        assert client.get("/api/v1/health").status_code == 503
        assert register(client, unique("pc")) == 503
    assert origins(server, "endpoint.register") == {}


@needs_haproxy
def test_a_client_goes_online_and_prints_through_the_terminating_haproxy_in_front_of_two(
    start_server: Callable[..., ServerProcess],
    db_kind: str,
    raw_sink: RawSink,
    make_client: Callable[..., Client],
    tls: Tls,
    tmp_path: Path,
) -> None:
    if db_kind == "sqlite":
        pytest.skip("several server processes share a database only on PostgreSQL")
    a, b = (start_server("--trusted-proxy", "127.0.0.1", name=name) for name in ("a", "b"))
    site = SiteTls.from_pair(tmp_path / "site", tls.cert, tls.key, tls.ca_file)
    backends = [(a.http_port, a.gateway_port), (b.http_port, b.gateway_port)]
    with Haproxy.start(tmp_path / "haproxy", backends, terminating=site) as proxy:
        printer, port = unique("raw"), unique("secure")
        add_printer_and_port(a, printer, raw_sink.port, kind="pull", port_name=port)
        client = client_behind(proxy, make_client, tls.ca_file, a)
        # The channel's WebSocket upgrade passes HAProxy's HTTP mode and reaches a process.
        wait_for(lambda: online_on(client, proxy.base_url), 60, "online through haproxy")
        # The client can say online before the server's log line is written: wait for it.
        wait_for(lambda: channels_opened(a) + channels_opened(b) == 1, 30, "the channel's line")
        assert channels_opened(a) + channels_opened(b) == 1  # one channel, on one process
        wait_for(lambda: served(client, port), 30, "the server's port, synced through haproxy")

        job = print_held(client, port, b"through the terminating haproxy")
        wait_for(lambda: a.job(job) is not None, 30, "the upload stored through haproxy")
        assert release(proxy.base_url, tls.client, a.admin_token, printer) == [job]
        wait_for(lambda: job_state(client, job) == JobState.COMPLETED, 30, "completed")
        assert raw_sink.documents() == [b"through the terminating haproxy"]
