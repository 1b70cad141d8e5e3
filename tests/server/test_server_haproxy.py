"""Several server processes behind HAProxy with the shipped config (deploy/haproxy/), and
clients with a list of server URLs (issue 22, finding 5). Real PostgreSQL, real haproxy, real
server processes and a real pullprint client."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from protocol.states import JobState
from support.client import Client
from support.haproxy import Haproxy
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
    statuses,
)
from tests.server.peers import RawSink

needs_haproxy = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="haproxy absent (Debian package haproxy)"
)


@needs_haproxy
def test_a_client_behind_haproxy_prints_and_moves_to_the_other_process_when_one_is_killed(
    pair: tuple[ServerProcess, ServerProcess],
    raw_sink: RawSink,
    make_client: Callable[..., Client],
    tls: Tls,
    tmp_path: Path,
) -> None:
    a, b = pair
    backends = [(a.http_port, a.gateway_port), (b.http_port, b.gateway_port)]
    with Haproxy.start(tmp_path / "haproxy", backends) as proxy:
        printer, port = unique("raw"), unique("secure")
        add_printer_and_port(a, printer, raw_sink.port, kind="pull", port_name=port)
        client = client_behind(proxy, make_client, tls.ca_file, a)
        wait_for(lambda: online_on(client, proxy.base_url), 60, "online through haproxy")
        wait_for(lambda: served(client, port), 30, "the server's port, synced through haproxy")

        job = print_held(client, port, b"through haproxy")
        wait_for(lambda: a.job(job) is not None, 30, "the upload stored through haproxy")
        assert release(proxy.base_url, tls.client, a.admin_token, printer) == [job]
        wait_for(lambda: raw_sink.documents() == [b"through haproxy"], 30, "printed")
        wait_for(lambda: job_state(client, job) == JobState.COMPLETED, 30, "completed")

        holder, other = (a, b) if channels_opened(a) else (b, a)
        assert channels_opened(holder) == 1 and channels_opened(other) == 0
        onlines = statuses(client).count(("online", proxy.base_url))
        holder.proc.kill()  # type: ignore[union-attr]  # SIGKILL: no goodbye to anyone
        holder.proc.wait()  # type: ignore[union-attr]

        wait_for(lambda: channels_opened(other) == 1, 30, "the channel on the other process")
        wait_for(
            lambda: statuses(client).count(("online", proxy.base_url)) > onlines,
            30,
            "the client online again through haproxy",
        )
        # And the survivor takes the next upload and release through the same addresses.
        second = print_held(client, port, b"after the kill")
        wait_for(
            lambda: other.job(second) is not None, 30, "stored (the other process is the one left)"
        )
        assert release(proxy.base_url, tls.client, other.admin_token, printer) == [second]
        wait_for(lambda: job_state(client, second) == JobState.COMPLETED, 30, "completed")
        assert raw_sink.documents() == [b"through haproxy", b"after the kill"]
