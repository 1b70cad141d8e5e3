"""Failures to reach the server say where and what happened (issue 20: a wrong server URL
said "All connection attempts failed" and nothing else). Real sockets on loopback."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from services.core.reach import failure, failure_at


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


def async_failure(url: str) -> BaseException:
    """The way the services meet it: httpx's async client, whose own text for a refused port
    is "All connection attempts failed"."""

    async def get() -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            await http.get(url)

    with pytest.raises(httpx.HTTPError) as caught:
        asyncio.run(get())
    return caught.value


def test_a_refused_port_names_the_url_and_the_refusal():
    url = f"https://127.0.0.1:{closed_port()}"
    said = failure_at(url, async_failure(url + "/api/v1/login"))
    assert said == (
        f"cannot reach {url}: connection refused (is the server running, and is the port right?)"
    )


def test_a_name_that_does_not_resolve_says_so():
    said = failure(async_failure("https://print.invalid/api/v1/login"))
    assert said.startswith("the host name does not resolve")


def test_a_silence_says_no_answer_in_time():
    with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts, never answers
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with pytest.raises(httpx.TimeoutException) as caught:
            httpx.get(url, timeout=0.2)
    assert failure(caught.value) == "no answer in time"
