"""Gateway mode: asking the server how the jobs we uploaded ended.

A gateway-mode machine may run without a channel (README: the channel is for local and hybrid
modes), so nothing would tell it that the server printed, gave up on or canceled a job it
uploaded, and the job would stay ``processing`` for ever. Delivery, which uploaded the jobs,
asks: ``POST /api/v1/endpoint/jobs/outcomes`` with the uuids still waiting at the server, soon
after an upload and then less and less often (doubling up to ``POLL_MAX``) while nothing ends;
an outcome, or a new upload, starts again from ``POLL_FIRST``. With nothing waiting it asks
nothing. Where the channel runs too, both apply the outcome; the second changes nothing.
It asks down the list of servers (``servers``, issue 22) as the channel does: the next one
when one cannot be reached, the first again each time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import select

from protocol.rest import MAX_OUTCOME_QUERIES, OutcomesRequest, OutcomesResponse
from services.core import endpoint, jobs, outcomes, proxy
from services.core.bus import Publisher
from services.core.config import Settings
from services.core.logs import EventLog
from services.core.messages import JobStateChanged
from services.core.runner import wait_for_wake
from services.core.store import Job, Store

# The server prints a job it prints at once within seconds, so ask soon after an upload; a
# held job may wait hours for its release, so back off to a request a minute.
POLL_FIRST, POLL_MAX = 2.0, 60.0
PATH = "/api/v1/endpoint/jobs/outcomes"


def waiting(store: Store) -> list[str]:
    """The uuids of the jobs the server has and has not told us the end of, oldest first."""
    with store.session() as session:
        query = select(Job.uuid).where(jobs.waiting_at_server()).order_by(Job.id)
        return list(session.scalars(query.limit(MAX_OUTCOME_QUERIES)))


class OutcomePoll:
    """The poll loop; ``uploaded`` is set by each upload (``Attempt``) to ask again soon."""

    def __init__(
        self, settings: Settings, store: Store, publisher: Publisher, log: EventLog
    ) -> None:
        self.urls = [url.rstrip("/") for url in settings.server_list]
        self.url = self.urls[0] if self.urls else ""  # the one last asked, for the log
        self.proxy = settings.proxy
        self.tls = endpoint.tls_context(settings.ca_file)
        self.keeper = endpoint.Keeper.from_settings(settings)
        self.store, self.publisher, self.log = store, publisher, log
        self.uploaded = asyncio.Event()

    async def run(self) -> None:
        delay = POLL_FIRST
        while True:
            await wait_for_wake(self.uploaded, delay)
            if self.uploaded.is_set():
                self.uploaded.clear()
                delay = POLL_FIRST
            try:
                ended = await self.ask()
            except (httpx.HTTPError, OSError, ValidationError, endpoint.Revoked) as exc:
                self.log.warning("outcomes.failed", server=self.url, reason=str(exc)[:300])
                ended = 0
            delay = POLL_FIRST if ended else min(POLL_MAX, delay * 2)

    async def ask(self) -> int:
        """One request for the jobs waiting at the server; how many of them ended."""
        ids = await asyncio.to_thread(waiting, self.store)
        if not ids:
            return 0
        body = OutcomesRequest(job_ids=ids).model_dump()
        reply = await self._post_down_the_list(body)
        ended = 0
        for outcome in OutcomesResponse.model_validate(reply.json()).outcomes:
            moved = await asyncio.to_thread(outcomes.apply, self.store, outcome)
            if moved is not None:
                ended += 1
                await self.publisher.publish(JobStateChanged(outcome.job_id, *moved))
        return ended

    async def _post_down_the_list(self, body: dict[str, Any]) -> httpx.Response:
        """The answer of the first server that can be reached; the last one's failure when
        none can."""
        for n, url in enumerate(self.urls):
            self.url = url
            options = proxy.httpx_options(url, self.proxy)
            try:
                async with httpx.AsyncClient(verify=self.tls, timeout=15, **options) as http:
                    return await self._post(http, body)
            except httpx.TransportError:
                if n == len(self.urls) - 1:
                    raise
        raise httpx.HTTPError("no server configured")

    async def _post(self, http: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
        """POST with a valid access token; refreshed once when the server refuses it."""
        token = await self.keeper.access_token()
        for _attempt in range(2):
            if token is None:
                raise httpx.HTTPError("no credentials yet: this machine is not authorized")
            headers = {"Authorization": f"Bearer {token}"}
            reply = await http.post(f"{self.url}{PATH}", json=body, headers=headers)
            if reply.status_code != 401:
                return reply.raise_for_status()
            token = await self.keeper.access_token(rejected=token)
        return reply.raise_for_status()
