"""What tests of several server processes read to tell where a client's channel is: the
client's own status lines and the servers' logs."""

from __future__ import annotations

from support.client import Client
from support.server import ServerProcess


def statuses(client: Client) -> list[tuple[str, str]]:
    """Every (state, server) the channel logged, oldest first."""
    log = client.root / "log" / "channel.log"
    found = []
    for line in log.read_text().splitlines() if log.exists() else []:
        if "channel.status" in line:
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            found.append((fields.get("state", ""), fields.get("server", "")))
    return found


def online_on(client: Client, url: str) -> bool:
    found = statuses(client)
    return bool(found) and found[-1] == ("online", url)


def channels_opened(server: ServerProcess) -> int:
    return server.logs().count("channel.open")
