"""When the channel goes back to a preferred server (channel/failback.py): only after it
answered twice in a row, so a server that comes and goes does not make the channel flap; and
the earliest of the preferred servers that answers wins."""

from __future__ import annotations

import asyncio
import ssl

from services.channel.failback import FailBack


class Scripted(FailBack):
    """Probes answered from a script (url -> answers in order), counted; no network here:
    the probe itself meets real servers in tests/server/test_server_failback.py."""

    def __init__(self, script: dict[str, list[bool]]) -> None:
        super().__init__(ssl.create_default_context(), None, interval=0.001)
        self.script = script
        self.probes = 0

    async def _answers(self, url: str) -> bool:
        self.probes += 1
        return self.script[url].pop(0)


def test_one_answer_between_failures_is_not_enough() -> None:
    probe = Scripted({"https://a": [True, False, True, False, True, True]})
    assert asyncio.run(probe.preferred_answers(["https://a"])) == "https://a"
    assert probe.probes == 6


def test_the_earliest_preferred_server_that_answers_steadily_wins() -> None:
    probe = Scripted({"https://a": [False, True, True], "https://b": [True, True]})
    # Round 1: a down, b answers; round 2: a answers (b not asked); round 3: a again.
    assert asyncio.run(probe.preferred_answers(["https://a", "https://b"])) == "https://a"
    assert probe.probes == 4
