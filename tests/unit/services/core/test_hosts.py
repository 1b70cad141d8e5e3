"""Which Host headers the loopback listeners accept (services/core/hosts.py)."""

from __future__ import annotations

import pytest

from services.core.hosts import host_allowed, is_loopback_host


@pytest.mark.parametrize(
    "host",
    ["localhost", "LocalHost:631", "127.0.0.1", "127.0.0.1:8631", "[::1]", "[::1]:8631"],
)
def test_loopback_names_with_or_without_a_port_are_accepted(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8631",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "127.0.0.2",
        "::1",  # unbracketed: not how HTTP writes an IPv6 host
        "[::1",
        "localhost:",
        "localhost:http",
        "",
    ],
)
def test_other_hosts_are_refused(host):
    assert not is_loopback_host(host)


def test_a_request_without_host_passes_and_any_foreign_host_among_several_refuses():
    assert host_allowed([(b"content-type", b"application/ipp")])
    assert not host_allowed([(b"host", b"127.0.0.1"), (b"host", b"evil.example")])
