"""The one proxy decision (services/core/proxy.py) and the ``proxy`` configuration key."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from services.core import proxy
from services.core.config import ConfigError, load_settings
from support.ports import free_port

SERVER = "https://print.example.org:8443"
CORPORATE = "http://proxy.example.org:3128"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """The decision reads the environment: start every test from none of its proxy variables."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_no_proxy_anywhere_means_direct():
    assert proxy.for_url(SERVER, None) is None


def test_the_configured_proxy_carries_server_traffic():
    assert proxy.for_url(SERVER, CORPORATE) == CORPORATE
    assert proxy.for_url("wss://print.example.org:8443/api/v1/channel", CORPORATE) == CORPORATE
    assert proxy.for_address("print.example.org", 7300, CORPORATE) == CORPORATE


def test_https_proxy_from_the_environment_is_used_when_the_key_is_empty(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:8080")
    assert proxy.for_url(SERVER, None) == "http://env-proxy:8080"


def test_lower_case_https_proxy_counts_too(monkeypatch):
    monkeypatch.setenv("https_proxy", "http://env-proxy:8080")
    assert proxy.for_url(SERVER, None) == "http://env-proxy:8080"


def test_the_key_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:8080")
    assert proxy.for_url(SERVER, CORPORATE) == CORPORATE


def test_http_proxy_is_not_used_for_tls_to_the_server(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://plain-proxy:8080")
    assert proxy.for_url(SERVER, None) is None


@pytest.mark.parametrize(
    "no_proxy",
    ["print.example.org", ".example.org", "example.org", "*", "other, print.example.org"],
)
def test_no_proxy_sends_the_server_direct_even_with_the_key(monkeypatch, no_proxy):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:8080")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert proxy.for_url(SERVER, None) is None
    assert proxy.for_url(SERVER, CORPORATE) is None
    assert proxy.for_address("print.example.org", 7300, CORPORATE) is None


def test_no_proxy_for_another_host_leaves_the_proxy_in_place(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1,intranet.example.com")
    assert proxy.for_url(SERVER, CORPORATE) == CORPORATE


def test_no_proxy_with_a_port_covers_only_that_port(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "print.example.org:8443")
    assert proxy.for_url(SERVER, CORPORATE) is None
    assert proxy.for_address("print.example.org", 7300, CORPORATE) == CORPORATE


def test_httpx_never_reads_the_environment_behind_our_back(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:8080")
    monkeypatch.setenv("NO_PROXY", "print.example.org")
    assert proxy.httpx_options(SERVER, None) == {"proxy": None, "trust_env": False}


def test_the_proxy_key_is_read_from_the_file(tmp_path):
    settings = load_settings(write(tmp_path, f'proxy = "{CORPORATE}"\n'))
    assert settings.proxy == CORPORATE


def test_an_empty_proxy_key_means_the_environment(tmp_path):
    assert load_settings(write(tmp_path, 'proxy = ""\n')).proxy is None
    assert load_settings(write(tmp_path, "")).proxy is None


def test_proxy_credentials_are_allowed(tmp_path):
    url = "http://user:p%40ss@proxy.example.org:3128"
    assert load_settings(write(tmp_path, f'proxy = "{url}"\n')).proxy == url


@pytest.mark.parametrize(
    "value",
    [
        "proxy.example.org:3128",
        "https://proxy.example.org:3128",
        "socks5://proxy.example.org:1080",
        "http://proxy.example.org",
        "http://:3128",
        "http://proxy.example.org:99999",
        "http://proxy.example.org:3128/path",
    ],
)
def test_a_bad_proxy_stops_start_up_naming_key_and_file(tmp_path, value):
    path = write(tmp_path, f'proxy = "{value}"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert "\n" not in message
    assert str(path) in message
    assert "key 'proxy'" in message
    assert "must be http://host:port" in message


def test_a_bad_proxy_in_the_environment_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("PULLPRINT_PROXY", "squid:3128")
    with pytest.raises(ConfigError, match="environment variable PULLPRINT_PROXY"):
        load_settings(write(tmp_path, ""))


async def _refusing_proxy(reply: bytes) -> tuple[asyncio.Server, int, list[bytes]]:
    """A listener that reads one CONNECT request and answers ``reply``."""
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], requests


def test_a_refused_tunnel_says_what_the_proxy_answered():
    async def attempt() -> tuple[str, list[bytes]]:
        server, port, requests = await _refusing_proxy(b"HTTP/1.1 403 Forbidden\r\n\r\n")
        async with server:
            with pytest.raises(proxy.ProxyError) as error:
                await proxy.open_connection(
                    "print.example.org",
                    7300,
                    ssl.create_default_context(),
                    f"http://u%3Ax:secret@127.0.0.1:{port}",
                    5,
                )
        return str(error.value), requests

    message, requests = asyncio.run(attempt())
    assert "refused CONNECT print.example.org:7300: HTTP/1.1 403 Forbidden" in message
    assert requests[0].startswith(b"CONNECT print.example.org:7300 HTTP/1.1\r\n")
    # user "u:x", password "secret", percent-decoded before Basic encoding
    assert b"Proxy-Authorization: Basic dTp4OnNlY3JldA==\r\n" in requests[0]


def test_a_dead_proxy_is_an_os_error_naming_the_proxy():
    port = free_port()

    async def attempt() -> None:
        await proxy.open_connection(
            "print.example.org", 7300, ssl.create_default_context(), f"http://127.0.0.1:{port}", 5
        )

    with pytest.raises(OSError, match=f"proxy 127.0.0.1:{port}"):
        asyncio.run(attempt())
