"""A client with a list of server URLs (``servers``) and two separate server processes on
one database, no proxy between: it fails over to the second when the first dies, and comes
back to the first once that answers again (issue 22, finding 5)."""

from __future__ import annotations

from collections.abc import Callable

from protocol.states import JobState
from support.client import Client
from support.server import ServerProcess, add_printer_and_port
from support.waiting import wait_for
from tests.e2e.conftest import authorize_first_endpoint
from tests.server.clients import unique
from tests.server.conftest import Tls
from tests.server.fleet import (
    channels_opened,
    job_state,
    online_on,
    print_held,
    release,
    served,
    statuses,
)
from tests.server.peers import RawSink


def test_the_channel_fails_over_to_the_second_server_and_back_to_the_first(
    pair: tuple[ServerProcess, ServerProcess], make_client: Callable[..., Client], tls: Tls
) -> None:
    first, second = pair
    client = make_client(
        [], servers=[first.base_url, second.base_url], ca_file=str(tls.ca_file),
        failback_interval=0.5,
    )  # fmt: skip
    client.start("sync", "channel")
    authorize_first_endpoint(first)
    wait_for(lambda: online_on(client, first.base_url), 60, "online on the first")

    first.proc.kill()  # type: ignore[union-attr]  # SIGKILL
    first.proc.wait()  # type: ignore[union-attr]
    wait_for(lambda: online_on(client, second.base_url), 60, "online on the second")
    wait_for(lambda: channels_opened(second) == 1, 30, "the second's log of that channel")
    # Sync goes down the list too: a port added now reaches the client from the second.
    port = unique("after-the-kill")
    add_printer_and_port(second, unique("raw"), 9, kind="pull", port_name=port)
    synced = client.run_cli("sync", "--wait")
    assert synced.returncode == 0 and port in synced.stdout, synced.stdout + synced.stderr

    opened_before = channels_opened(first)  # its log goes on in the same file
    first.start()  # same data dir, ports and database
    wait_for(lambda: online_on(client, first.base_url), 60, "back on the first")
    wait_for(lambda: channels_opened(first) == opened_before + 1, 30, "the first's log of it")
    # Straight from the second to the first: never offline in between, and it stays there.
    back = statuses(client)[-2:]
    assert back == [("online", second.base_url), ("online", first.base_url)]


def test_a_gateway_machine_uploads_to_and_asks_the_second_when_the_first_is_down(
    pair: tuple[ServerProcess, ServerProcess],
    make_client: Callable[..., Client],
    raw_sink: RawSink,
    tls: Tls,
) -> None:
    first, second = pair
    printer, port = unique("raw"), unique("secure")
    add_printer_and_port(first, printer, raw_sink.port, kind="pull", port_name=port)
    client = make_client(
        [], mode="gateway", servers=[first.base_url, second.base_url], ca_file=str(tls.ca_file),
        gateway=f"127.0.0.1:{first.gateway_port}",
        secondary_gateway=f"127.0.0.1:{second.gateway_port}",
    )  # fmt: skip
    client.start("sync", "spooler", "delivery", "channel")
    authorize_first_endpoint(first)
    wait_for(lambda: served(client, port), 60, "the server's port")
    # Without a channel, delivery asks the server how its uploads ended (delivery/outcomes.py).
    client.processes["channel"].stop()
    first.proc.kill()  # type: ignore[union-attr]  # SIGKILL
    first.proc.wait()  # type: ignore[union-attr]

    job = print_held(client, port, b"asked the second")
    wait_for(lambda: second.job(job) is not None, 30, "uploaded to the second's gateway")
    assert release(second.base_url, second.ca, second.admin_token, printer) == [job]
    wait_for(lambda: raw_sink.documents() == [b"asked the second"], 30, "printed")
    wait_for(lambda: job_state(client, job) == JobState.COMPLETED, 60, "the outcome, asked")
