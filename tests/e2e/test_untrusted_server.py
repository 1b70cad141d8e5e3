"""A server whose certificate the client does not trust (issue 17): the channel says what to
change, where channel failures reach the user: the facade's ``/status`` (the tray, and
``pullprint status``) and the channel's log. Before, all it said was CERTIFICATE_VERIFY_FAILED."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trustme

from support.client import Client
from support.server import ServerProcess
from support.waiting import wait_for


def channel_reason(client: Client) -> str | None:
    """The channel's reason in the facade's status, once it is offline."""
    try:
        reply = httpx.get(f"http://127.0.0.1:{client.api_port}/status", timeout=5)
    except httpx.HTTPError:
        return None
    channel = reply.json()["channel"]
    return channel["reason"] if channel["state"] == "offline" else None


@pytest.mark.parametrize("trusted", ["system CAs", "another CA"])
def test_an_untrusted_server_certificate_says_to_set_ca_file(
    make_client: Callable[..., Client], cloud: ServerProcess, tmp_path: Path, trusted: str
):
    settings = {"server_url": cloud.base_url}
    if trusted == "another CA":
        settings["ca_file"] = str(tmp_path / "other-ca.pem")
        trustme.CA().cert_pem.write_to_path(settings["ca_file"])
    client = make_client([], **settings)
    client.start("channel", "api")

    reason = wait_for(lambda: channel_reason(client), 60, "the channel to be offline")

    advice = f"set ca_file in {client.config} to the CA that signed it"
    if trusted == "another CA":
        advice += f" ({settings['ca_file']} is not that CA)"
    assert reason == (
        "the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED: unable to get "
        f"local issuer certificate): {advice}"
    )
    status = client.run_cli("status")
    assert f"channel   offline      {reason}" in status.stdout.splitlines()[2]
    assert "channel.status state=offline" in (client.root / "log" / "channel.log").read_text()
