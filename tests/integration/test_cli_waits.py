"""The CLI's waits end with an answer, not a hang: ``print --wait`` and ``status --wait`` say
what they waited for and why it did not come; ``sync --wait`` says why a sync failed, and
that there is no service to ask."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from support.client import Client
from support.ports import free_port
from support.waiting import wait_for


def test_print_wait_says_why_the_job_is_not_printed(
    make_client: Callable[..., Client], tmp_path: Path
):
    port = free_port()  # nothing listens there
    client = make_client([{"name": "office", "kind": "direct", "port": port}])
    client.start("sync", "spooler", "delivery", "api")
    client.wait_printer("office")
    document = tmp_path / "page.prn"
    document.write_bytes(b"page")

    result = client.run_cli("print", str(document), "-P", "office", "--wait", "--timeout", "3")

    assert result.returncode == 1
    assert result.stdout == "job 1 stored on office (pending)\n"
    assert result.stderr == (
        f"pullprint: job 1 is still processing-stopped after 3 s: 127.0.0.1:{port} refused "
        "the connection (nothing listens on that port); will retry\n"
    )

    result = client.run_cli("status", "--wait", "online", "--timeout", "2")

    assert result.returncode == 1
    assert "channel   unreachable" in result.stdout  # not started: what the facade says
    assert result.stderr == "pullprint: the channel is not online after 2 s\n"


def test_sync_without_a_running_service_says_so(make_client: Callable[..., Client]):
    client = make_client([])

    result = client.run_cli("sync", "--wait")

    assert result.returncode == 1
    assert (
        result.stderr == "pullprint: sync did not answer; it will pick the change up on its own\n"
    )


def test_sync_wait_says_why_the_sync_failed(make_client: Callable[..., Client]):
    client = make_client([], server_url=f"https://127.0.0.1:{free_port()}")
    client.start("sync")
    log = client.root / "log" / "sync.log"
    wait_for(lambda: log.exists() and "service.started" in log.read_text(), 30, "sync to start")

    result = client.run_cli("sync", "--wait")

    assert result.returncode == 1
    assert result.stderr == (
        "pullprint: sync failed: this machine is not authorized by the server yet\n"
    )
