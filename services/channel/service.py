"""The channel process: this machine's persistent, authenticated link to the cloud server.

It registers the endpoint and waits for authorization, keeps one WebSocket open to the first
server of ``servers`` that answers (and goes back to an earlier one once it answers again:
failback.py), reconnecting with exponential backoff and jitter (1 s to 60 s,
the guide's Paranoid Pirate), drains the outbox of reports, applies the server's commands,
and cancels held jobs past ``retention``. Its state is published as ``channel.status``.
Serverless (no ``servers``) it only does the retention sweep and says it is idle.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import delete
from websockets.exceptions import ConnectionClosed, InvalidStatus

from protocol.channel import (
    CLOSE_UNAUTHORIZED,
    HEARTBEAT_INTERVAL,
    Cancel,
    ChannelMessage,
    ConfigChanged,
    JobOutcome,
    Release,
    UserDisabled,
)
from protocol.rest import EndpointConfig
from protocol.states import JobState
from services.channel import commands
from services.channel.connection import Connection, ServerGone
from services.channel.failback import FailBack
from services.channel.registration import RegistrationError, obtain_token
from services.core import endpoint, outcomes, proxy, reach
from services.core.config import Settings
from services.core.messages import ChannelStatus, JobStateChanged, SyncRequested
from services.core.runner import Service, every, wait_for_wake
from services.core.spool import Spool
from services.core.store import Outbox, Store

BACKOFF_MIN, BACKOFF_MAX = 1.0, 60.0
# How often to ask whether an admin authorized us yet.
AUTHORIZATION_POLL = 5.0


class ChannelService(Service):
    name = "channel"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.store = Store(settings.db_path)
        self.spool = Spool(settings.spool_dir, key_dir=settings.state_dir)
        self.tls = endpoint.tls_context(settings.ca_file)
        self.state, self.server, self.reason = "idle", "", ""
        self.retention = settings.retention
        self.heartbeat_interval = HEARTBEAT_INTERVAL
        self.connection: Connection | None = None
        # The one place this process gets and refreshes its access token (core/endpoint.py).
        self.keeper = endpoint.Keeper.from_settings(settings)
        self.revoked = ""  # why the server dropped us, shown until an admin authorizes again
        # Set when the machine wakes from sleep: end the connection (its socket is most likely
        # dead, though nothing will say so for three heartbeats) and reconnect without backoff.
        self._woke = asyncio.Event()
        self.failback = FailBack(self.tls, settings.proxy, settings.failback_interval)
        self._back = False  # the last session ended to go back to a preferred server

    def tasks(self) -> list[Any]:
        tasks = [every(self.settings.rescan_interval, asyncio.Event(), self._expire_held)]
        if self.settings.server:
            tasks.append(self._keep_connected())
            tasks.append(self._keep_fresh())
        else:
            self.reason = "serverless: no servers (or server_url) in the config"
            tasks.append(every(self.settings.rescan_interval, asyncio.Event(), self._prune))
        return tasks

    async def status(self) -> dict[str, Any]:
        return {"state": self.state, "server": self.server, "reason": self.reason}

    async def _set_state(self, state: str, server: str = "", reason: str = "") -> None:
        if (state, server, reason) == (self.state, self.server, self.reason):
            return
        self.state, self.server, self.reason = state, server, reason
        self.log.info("channel.status", state=state, server=server, reason=reason)
        await self.publisher.publish(ChannelStatus(state, server, reason))

    async def on_wake(self, slept: float) -> None:
        """Back from sleep: reconnect now, and cancel the held jobs that expired meanwhile."""
        connected = bool(self.settings.server)
        self.log.info("channel.woke", slept=round(slept, 1), reconnect=connected)
        self._woke.set()
        await self._expire_held()

    async def _keep_connected(self) -> None:
        servers = [u.rstrip("/") for u in self.settings.server_list]
        backoff = BACKOFF_MIN
        while True:
            for index, url in enumerate(servers):
                # A client per server: NO_PROXY may send one server direct, the other through
                # the proxy.
                options = proxy.httpx_options(url, self.settings.proxy)
                async with httpx.AsyncClient(verify=self.tls, timeout=15, **options) as http:
                    if await self._session(http, url, servers[:index]) or self._back:
                        backoff = BACKOFF_MIN  # we were online: start the backoff afresh
                        break
            if self._back:  # a preferred server answers again: go to it now
                self._back = False
                continue
            if not self._woke.is_set():
                await wait_for_wake(self._woke, backoff * random.uniform(0.5, 1.0))
            if self._woke.is_set():  # reconnect now, the backoff starting afresh
                self._woke.clear()
                backoff = BACKOFF_MIN
                continue
            backoff = min(BACKOFF_MAX, backoff * 2)

    async def _session(self, http: httpx.AsyncClient, url: str, preferred: list[str]) -> bool:
        """One attempt at one server; True if we got online before it ended. ``preferred``:
        the servers listed before it, which are probed while we are on this one."""
        was_online = False

        async def online() -> None:
            nonlocal was_online
            was_online = True
            await self._set_state("online", url)
            # Now that we have a token and a server, fetch our printers at once.
            await self.publisher.publish(SyncRequested())

        refused = ""  # the access token the server refused on the last attempt
        try:
            # Twice at most: a refused token is refreshed once and the channel reopened at once.
            for _attempt in range(2):
                token = await self._token(http, url, refused or None)
                if token is None:
                    return False
                if token == refused:
                    raise _Refused(f"the server refuses our token ({url})")
                try:
                    await self._until_woke(self._connect(http, url, token, online), preferred)
                except Exception as exc:
                    if not _refused(exc):
                        raise
                    # An expired token, or a revoked endpoint: the refresh tells which.
                    refused = token
                    continue
                return was_online
            raise _Refused(f"the server refuses our refreshed token ({url})")
        except _Back as back:
            # Not a failure: no "offline" in between; the next session reports "online".
            self.log.info("channel.fail_back", server=url, to=str(back))
            self._back = True
        except (RegistrationError, endpoint.Revoked) as exc:
            self.revoked = str(exc) if isinstance(exc, endpoint.Revoked) else self.revoked
            self.log.warning("channel.unauthorized", server=url, reason=str(exc))
            await self._set_state("registering", url, f"{exc}; registering again")
        except Exception as exc:  # any failure of one attempt means: offline, try again later
            cause = _unwrap(exc)
            if not isinstance(cause, EXPECTED_FAILURES):
                self.log.exception("channel.failed", server=url)
            await self._set_state("offline", url, _describe(cause, self.settings.ca_file))
        finally:
            self.connection = None
        return was_online

    async def _connect(self, http: httpx.AsyncClient, url: str, token: str, online: Any) -> None:
        token = await self._fetch_config(http, url, token)
        self.connection = Connection(
            url,
            token,
            self.tls,
            self.store,
            self._command,
            self.heartbeat_interval,
            self.settings.mode,
            proxy.for_url(url, self.settings.proxy),
        )
        await self.connection.run(online)

    async def _until_woke(self, work: Any, preferred: list[str]) -> None:
        """Run one connection until it ends, until the machine wakes from sleep, or until a
        server listed before this one answers steadily again (failback.py)."""
        connection = asyncio.ensure_future(work)
        woke = asyncio.ensure_future(self._woke.wait())
        back = asyncio.ensure_future(
            self.failback.preferred_answers(preferred) if preferred else asyncio.Event().wait()
        )
        try:
            await asyncio.wait({connection, woke, back}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # we are being stopped: so is the connection
            connection.cancel()
            raise
        finally:
            woke.cancel()
            back.cancel()
        if not connection.done():
            connection.cancel()
            await asyncio.wait({connection})  # its end, whatever it was, is ours to replace
            if back.done() and not back.cancelled():
                raise _Back(back.result())
            raise _Woke("the machine woke from sleep; reconnecting")
        connection.result()

    async def _keep_fresh(self) -> None:
        """Refresh the access token before it expires, also while the channel is up (an open
        channel outlives its token), so sync and delivery find a valid one in the file."""
        while True:
            due = self.keeper.refresh_in()
            # Without credentials (registering) look again in a while; _session gets them.
            await asyncio.sleep(AUTHORIZATION_POLL if due is None else max(0.2, due))
            try:
                await self.keeper.access_token()
            except endpoint.Revoked as exc:
                # The server closes our channel too; _session reports it when it sees that.
                self.log.warning("channel.unauthorized", reason=str(exc))
            except Exception:
                self.log.exception("token.refresh_failed")
                await asyncio.sleep(5)

    async def _token(
        self, http: httpx.AsyncClient, url: str, refused: str | None = None
    ) -> str | None:
        if refused:
            return await self.keeper.access_token(rejected=refused)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            token = await obtain_token(http, url, self.settings.state_dir, self.keeper)
            if token:
                self.revoked = ""
                return token
            reason = "registered; waiting for an admin to authorize this machine"
            if self.revoked:
                reason = f"{self.revoked}; registered again, waiting for an admin to authorize it"
            await self._set_state("waiting-authorization", url, reason)
            await asyncio.sleep(AUTHORIZATION_POLL)
        return None

    async def _fetch_config(self, http: httpx.AsyncClient, url: str, token: str) -> str:
        """Read the site configuration; on a 401 refresh the token once. Returns the token
        that worked."""
        reply = await http.get(f"{url}/api/v1/config", headers={"Authorization": f"Bearer {token}"})
        if reply.status_code == 401:
            token = await self.keeper.access_token(rejected=token) or token
            reply = await http.get(
                f"{url}/api/v1/config", headers={"Authorization": f"Bearer {token}"}
            )
        reply.raise_for_status()
        config = EndpointConfig.model_validate(reply.json())
        self.retention = config.retention or self.settings.retention
        self.heartbeat_interval = config.heartbeat_interval
        return token

    async def _command(self, message: ChannelMessage) -> tuple[bool, str, str]:
        """Apply one server command; the answer becomes the ack."""
        try:
            if message.type == "release":
                released = await asyncio.to_thread(
                    commands.release, self.store, Release.model_validate(message.body)
                )
                for job_uuid in released:
                    await self.publisher.publish(
                        JobStateChanged(job_uuid, JobState.PENDING, "none")
                    )
            elif message.type == "cancel":
                command = Cancel.model_validate(message.body)
                for job_uuid in await asyncio.to_thread(
                    commands.cancel, self.store, self.spool, command, "job-canceled-by-user"
                ):
                    await self.publisher.publish(
                        JobStateChanged(job_uuid, JobState.CANCELED, "job-canceled-by-user")
                    )
            elif message.type == "job.outcome":
                command = JobOutcome.model_validate(message.body)
                ended = await asyncio.to_thread(outcomes.apply, self.store, command)
                if ended is not None:
                    await self.publisher.publish(JobStateChanged(command.job_id, *ended))
            elif message.type == "printers.changed":
                await self.publisher.publish(SyncRequested())
            elif message.type == "user.disabled":
                user = UserDisabled.model_validate(message.body).user
                logged_out = await asyncio.to_thread(
                    commands.log_out_user, self.store, self.settings.login_type, user
                )
                if logged_out:
                    # Sync re-reads the printers (gone when signed out) and tells the spooler,
                    # which then reloads the user map.
                    await self.publisher.publish(SyncRequested())
            elif message.type == "config.changed":
                config = ConfigChanged.model_validate(message.body).config
                self.retention = float(config.get("retention") or self.retention)
                # The profile for our users comes with sync's GET /api/v1/config.
                await self.publisher.publish(SyncRequested())
            else:
                return False, "unknown-type", message.type
        except ValidationError as exc:
            return False, "invalid-body", str(exc)[:500]
        if self.connection is not None:
            self.connection.outbox_wake.set()  # state changes above queued reports
        return True, "ok", ""

    async def _expire_held(self) -> None:
        cutoff = time.time() - self.retention
        for job_uuid in await asyncio.to_thread(
            commands.expire_held, self.store, self.spool, cutoff
        ):
            await self.publisher.publish(
                JobStateChanged(job_uuid, JobState.CANCELED, "job-canceled-by-operator")
            )

    async def _prune(self) -> None:
        """Serverless, nobody will ever read the outbox: keep it from growing."""

        def prune() -> None:
            with self.store.session() as session:
                session.execute(delete(Outbox))
                session.commit()

        await asyncio.to_thread(prune)


class _Refused(Exception):
    """The server refuses even the token we just refreshed; try again later."""


class _Woke(Exception):
    """The machine woke from sleep while connected: start a new connection now."""


class _Back(Exception):
    """A server listed before the one we are on answers again: connect to it now."""


EXPECTED_FAILURES = (
    httpx.HTTPError,
    OSError,
    ServerGone,
    TimeoutError,
    InvalidStatus,
    ConnectionClosed,
    _Refused,
    _Woke,
)


def _refused(exc: BaseException) -> bool:
    """403 on the upgrade or close code 4401: the server no longer accepts our token (it
    expired, or the endpoint was revoked: a refresh tells which)."""
    if isinstance(exc, InvalidStatus):
        return exc.response.status_code in (401, 403)
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in (401, 403)
    if isinstance(exc, ConnectionClosed) and exc.rcvd is not None:
        return exc.rcvd.code == CLOSE_UNAUTHORIZED
    if isinstance(exc, ExceptionGroup):
        return any(_refused(e) for e in exc.exceptions)
    return False


def _unwrap(exc: BaseException) -> BaseException:
    """The one failure inside the connection's task group (a closed socket, say), so it is
    judged and described like the same failure outside it."""
    while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException, ca_file: Path | None = None) -> str:
    return reach.failure(exc, ca_file)
