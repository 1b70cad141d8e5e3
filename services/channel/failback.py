"""Coming back to a preferred server: while the channel is on a later server of the list
(``servers``), ask the earlier ones whether they answer again.

Why not stay where we are: an admin lists the servers in the order they want them used (the
nearest, or the one meant for this site first), and a channel that failed over once would
otherwise stay on the fallback until that one failed too. Why not go back at the first answer:
a server that is starting, or whose network comes and goes, would make the channel flap
between the two. So a preferred server must answer ``STREAK`` probes in a row, one interval
apart; while it does not answer, the interval doubles up to ``MAX_FACTOR`` times the
configured one, so a server that is down for hours is asked rarely.
"""

from __future__ import annotations

import asyncio
import random
import ssl

import httpx

from services.core import proxy

STREAK = 2  # answers in a row before the channel moves
MAX_FACTOR = 16  # the longest wait between probes, in configured intervals
PROBE_TIMEOUT = 5.0


class FailBack:
    """Probes the servers before the current one; ``preferred_answers`` returns the first of
    them that answered ``STREAK`` times in a row."""

    def __init__(self, tls: ssl.SSLContext, proxy_setting: str | None, interval: float) -> None:
        self.tls = tls
        self.proxy_setting = proxy_setting
        self.interval = interval

    async def preferred_answers(self, preferred: list[str]) -> str:
        """Wait until one of ``preferred`` (in order of preference) answers steadily."""
        delay, streak, last = self.interval, 0, ""
        while True:
            # Jitter: the channels that failed over together do not all come back at once.
            await asyncio.sleep(delay * random.uniform(0.8, 1.0))
            answering = await self._first_answering(preferred)
            if answering is None:
                delay, streak = min(self.interval * MAX_FACTOR, delay * 2), 0
                continue
            streak = streak + 1 if answering == last else 1
            delay, last = self.interval, answering
            if streak >= STREAK:
                return answering

    async def _first_answering(self, preferred: list[str]) -> str | None:
        for url in preferred:
            if await self._answers(url):
                return url
        return None

    async def _answers(self, url: str) -> bool:
        """The server's health answer over TLS we trust: what a channel needs first."""
        options = proxy.httpx_options(url, self.proxy_setting)
        try:
            async with httpx.AsyncClient(verify=self.tls, timeout=PROBE_TIMEOUT, **options) as http:
                reply = await http.get(f"{url}/api/v1/health")
        except httpx.HTTPError:
            return False
        return reply.status_code == 200
