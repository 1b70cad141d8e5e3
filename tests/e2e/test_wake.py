"""The channel after a wake from sleep (simulated, see tests/integration/test_wake.py):
it drops the connection the sleep most likely killed and is online again at once."""

from __future__ import annotations

import re
from datetime import datetime

from services.core import wake
from support.waiting import wait_for


def stamp(line: str) -> float:
    return datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()


def test_the_channel_reconnects_at_once_after_a_wake(online_client, tmp_path, monkeypatch):
    clock = tmp_path / "clock-offset"
    clock.write_text("0")
    monkeypatch.setenv(wake.TEST_CLOCK_ENV, str(clock))
    client = online_client([{"name": "hall", "kind": "pull"}])
    log = client.root / "log" / "channel.log"

    clock.write_text("3600")

    def after_wake() -> list[str] | None:
        lines = log.read_text().splitlines()
        woke = next((i for i, line in enumerate(lines) if "machine.woke" in line), None)
        later = lines[woke:] if woke is not None else []
        online = [line for line in later if "channel.status state=online" in line]
        return later if online else None

    lines = wait_for(after_wake, 30, "the channel online again after the wake")
    assert re.search(r"machine\.woke slept=3600", lines[0])
    dropped = next(line for line in lines if "state=offline" in line)
    assert 'reason="the machine woke from sleep; reconnecting"' in dropped
    online = next(line for line in lines if "state=online" in line)
    # No backoff: the new connection is up within a second or two of the wake.
    assert stamp(online) - stamp(lines[0]) < 3
