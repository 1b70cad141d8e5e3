"""The sync process: makes the printers table (and so the spooler's printer objects) match
what this client should serve: the ``[[printers]]`` of the config file, and the input ports
the server assigns to this endpoint. It runs every ``sync_interval``, on ``printers.changed``
and ``config.changed`` from the channel, and on request; each run is announced as
``sync.status``. With a server it also reads the configuration profile for this machine's users
and keeps it in the store (core/profile.py); the profile's ``sync_interval`` wins over the
file's from the next wait on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from services.core import endpoint, profile, proxy, reach, users
from services.core.config import Settings
from services.core.messages import (
    Message,
    PrintersChanged,
    SyncRequested,
    SyncStatus,
    WakeRequest,
)
from services.core.runner import Service, wait_for_wake
from services.core.store import Store
from services.sync import capabilities, printers, queue_defaults, queues
from services.sync.server import NotAuthorized, fetch_config, fetch_ports


class SyncService(Service):
    name = "sync"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.store = Store(settings.db_path)
        self._wake = asyncio.Event()
        self.last_sync: float | None = None
        self.state, self.reason = "starting", ""
        self.printer_count = 0
        self.queues = queues.backend_for(settings)
        self.profile = profile.load(self.store)
        self.capabilities = capabilities.CapabilityCache(self.log)
        # The server's ports as last fetched: their printers are read again while the
        # server is unreachable, and keep what they had when one of them is.
        self.server_plans: dict[str, capabilities.Plan] = {}

    def handlers(self) -> dict[type[Message], Any]:
        return super().handlers() | {WakeRequest: self._sync_now}

    async def _sync_now(self, _message: Message) -> dict[str, Any]:
        """sync.now from the facade, the tray or ``pullprint sync``."""
        self._wake.set()
        return {}

    def tasks(self) -> list[Any]:
        return [
            self.wake_on(["channel"], [SyncRequested], self._wake),
            self._every_interval(),
        ]

    @property
    def interval(self) -> float:
        """Seconds between syncs: the profile's, else the configuration file's."""
        return float(profile.overlay(self.settings, self.profile).sync_interval)

    async def _every_interval(self) -> None:
        """Sync now, then on a wake or after ``interval``, read again after every run: a
        profile that changes the interval applies from the next wait."""
        while True:
            self._wake.clear()
            await self.sync()
            await wait_for_wake(self._wake, self.interval)

    async def sync(self) -> None:
        await self._set_state("running", "")
        config_rows = printers.from_config(self.settings.printers)
        changed = await asyncio.to_thread(printers.apply, self.store, "config", config_rows)
        server_changes, state, reason = await self._sync_servers()
        changed += server_changes
        # After the rows: a port the server just added is read in the same sync. A name both
        # sources use is the config's (printers.apply), so its plan wins.
        plans = self.server_plans | capabilities.plans_from_config(self.settings.printers)
        defaults = profile.queue_options(self.profile)  # a pull port presents the admin's
        changed += await self.capabilities.refresh(self.store, plans, defaults)
        names = await asyncio.to_thread(printers.names, self.store)
        self.printer_count, self.last_sync = len(names), time.time()
        try:
            counts = await asyncio.to_thread(self._apply_queues, names)
            if any(counts):
                self.log.info(
                    "queues.changed", created=counts[0], updated=counts[1], removed=counts[2]
                )
        except queues.QueueError as exc:
            state, reason = "failed", f"OS queues: {exc}"[:300]
        if changed:
            self.log.info("printers.changed", count=self.printer_count, changed=changed)
        # Always announce: a spooler that started after our last message must not wait a
        # whole rescan interval to learn the printers.
        await self.publisher.publish(PrintersChanged(self.printer_count))
        await self._set_state(state, reason)

    def _apply_queues(self, names: list[str]) -> tuple[int, int, int]:
        """OS queues for ``names``, with their printers' default color, duplex and paper and
        the profile's over them (queue_defaults.py). When the profile's changed, every queue
        is updated once (removed defaults with ``-R``), when a printer's did, its queue;
        otherwise only new and changed queues are touched, and they get the current ones."""
        wanted = queues.wanted_queues(self.settings.spooler_port, names)
        options = profile.queue_options(self.profile)
        applied = profile.applied_queue_options(self.store)
        change: dict[str, str | None] = dict(options)
        if options != applied:
            change = {key: None for key in applied} | options
        ports = queue_defaults.port_defaults(self.store, names)
        before = queue_defaults.applied(self.store)
        own = queue_defaults.plan(names, change, ports, before)
        counts = queues.apply(
            self.queues,
            wanted,
            options=change,
            every_queue=options != applied,
            per_queue=own.per_queue,
            refresh=own.refresh,
        )
        # Only after every queue took them: a failure raised above retries at the next sync.
        if ports != before:
            queue_defaults.save_applied(self.store, ports)
        if options != applied:
            profile.save_applied_queue_options(self.store, options)
            self.log.info("queues.defaults", **{k.replace("-", "_"): v for k, v in change.items()})
        return counts

    async def _sync_servers(self) -> tuple[int, str, str]:
        """Down the list of servers, as the channel goes (issue 22): the next one when one
        cannot be reached; any other answer is the site's, which the next server would give
        too. Each sync starts again at the first. (changes, state, reason)."""
        state, reason = "ok", ""
        for url in self.settings.server_list:
            try:
                return await self._sync_server(url), "ok", ""
            except httpx.HTTPError as exc:
                # Keep what we have: a server that is down must not remove anyone's printers.
                state, reason = "failed", reach.failure_at(url, exc, self.settings.ca_file)[:300]
                if not isinstance(exc, httpx.TransportError):
                    break
            except (NotAuthorized, ValueError) as exc:
                state, reason = "failed", str(exc)[:300]
                break
        return 0, state, reason

    async def _sync_server(self, url: str) -> int:
        token = endpoint.load_token(self.settings.state_dir)
        tls = endpoint.tls_context(self.settings.ca_file)
        options = proxy.httpx_options(url, self.settings.proxy)
        async with httpx.AsyncClient(verify=tls, timeout=30, **options) as http:
            await self._sync_profile(http, url, token)
            if await asyncio.to_thread(users.signed_out, self.store):
                # Logged out: the server's printers (and so their queues) leave this machine.
                self.server_plans = {}
                return await asyncio.to_thread(printers.apply, self.store, "server", {})
            ports = await fetch_ports(http, url, token)
        self.server_plans = capabilities.plans_from_server(ports)
        return await asyncio.to_thread(
            printers.apply, self.store, "server", printers.from_server(ports)
        )

    async def _sync_profile(self, http: httpx.AsyncClient, url: str, token: str | None) -> None:
        """Tell the server who uses this machine and keep the profile it answers for them."""
        who = await asyncio.to_thread(profile.server_users, self.store, self.settings.login_type)
        config = await fetch_config(http, url, token, who)
        if await asyncio.to_thread(profile.save, self.store, config.profile):
            self.log.info(
                "profile.changed",
                profile=config.profile.name if config.profile else "none",
                users=",".join(who),
                **profile.values(config.profile),
            )
        self.profile = config.profile

    async def _set_state(self, state: str, reason: str) -> None:
        self.state, self.reason = state, reason
        if state == "failed":
            self.log.warning("sync.failed", reason=reason)
        await self.publisher.publish(SyncStatus(state, reason))

    async def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "reason": self.reason,
            "printers": self.printer_count,
            "last_sync": self.last_sync,
            "sync_interval": self.interval,
            "profile": self.profile.name if self.profile else None,
        }
