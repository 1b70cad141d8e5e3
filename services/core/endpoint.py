"""This machine's identity at the server: the endpoint id and secret from registration, and
its credentials once an admin authorized it. Files in ``state_dir``, 0600, never logged.

The credentials are a short-lived access token (it opens the REST API, the channel handshake
and gateway uploads) and a long-lived refresh token that the server rotates on every use.
``Keeper`` is the one place that refreshes them, before the access token expires and once
after the server refused it; channel, sync and delivery (gateway uploads) all ask it for the
token. Those are separate processes, so a refresh happens under a file lock and re-reads the
file first: whoever comes second finds the new pair and uses it, and a refresh token is never
sent twice (the server would refuse a reused one after a short grace).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.core import proxy
from services.core.config import Settings, load_settings

REGISTRATION_FILE = "endpoint.json"
CREDENTIALS_FILE = "endpoint.credentials"
# Before refresh tokens the server issued one long-lived token, kept in this file; the server's
# migration turned it into a refresh token, so it is exchanged once for a pair, then removed.
TOKEN_FILE = "endpoint.token"
LOCK_FILE = "endpoint.lock"
# Refresh when a third of the access token's lifetime is left: 5 minutes of a 15-minute token,
# time enough to ride out a slow or briefly unreachable server before the token lapses.
REFRESH_AT_REMAINING = 1 / 3


@dataclass(frozen=True)
class Registration:
    endpoint_id: int
    secret: str


@dataclass(frozen=True)
class Credentials:
    token: str  # access token; "" when only a refresh token is known (legacy file)
    refresh_token: str  # "" when none was issued (a token handed in by tests, benchmarks)
    expires_at: float  # epoch seconds; 0 = unknown or already expired
    lifetime: float = 0.0

    def due(self, now: float | None = None) -> bool:
        """Time to refresh: expired, or less than a third of the lifetime left."""
        if not self.token:
            return True
        if self.expires_at <= 0:
            return False  # no known expiry (handed in without one): use it until refused
        now = time.time() if now is None else now
        return now >= self.expires_at - self.lifetime * REFRESH_AT_REMAINING

    def refresh_in(self, now: float | None = None) -> float:
        """Seconds until ``due``; 0 when due now, a long time when there is no expiry."""
        if self.expires_at <= 0:
            return 0.0 if not self.token else 3600.0
        now = time.time() if now is None else now
        return max(0.0, self.expires_at - self.lifetime * REFRESH_AT_REMAINING - now)


class Revoked(Exception):
    """The server refused our refresh token: the endpoint was revoked (or forgotten). The
    credentials are gone; the channel registers this machine again."""


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 from the first byte (no window where others can read)."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)


def load_registration(state_dir: Path) -> Registration | None:
    try:
        data = json.loads((state_dir / REGISTRATION_FILE).read_text())
        return Registration(int(data["endpoint_id"]), str(data["secret"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def save_registration(state_dir: Path, registration: Registration) -> None:
    body = {"endpoint_id": registration.endpoint_id, "secret": registration.secret}
    _write_private(state_dir / REGISTRATION_FILE, json.dumps(body))


def load_credentials(state_dir: Path) -> Credentials | None:
    try:
        data = json.loads((state_dir / CREDENTIALS_FILE).read_text())
        return Credentials(
            str(data["token"]),
            str(data.get("refresh_token") or ""),
            float(data.get("expires_at") or 0),
            float(data.get("lifetime") or 0),
        )
    except FileNotFoundError:
        pass
    except (ValueError, KeyError, TypeError):
        return None
    try:
        legacy = (state_dir / TOKEN_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    return Credentials("", legacy, 0.0) if legacy else None


def save_credentials(state_dir: Path, token: str, refresh_token: str, expires_in: float) -> None:
    """Store a pair the server just issued (the access token valid for ``expires_in`` s)."""
    body = {
        "token": token,
        "refresh_token": refresh_token,
        "expires_at": time.time() + expires_in,
        "lifetime": expires_in,
    }
    _write_private(state_dir / CREDENTIALS_FILE, json.dumps(body))
    (state_dir / TOKEN_FILE).unlink(missing_ok=True)


def load_token(state_dir: Path) -> str | None:
    """The current access token as stored (possibly expired; ``Keeper`` refreshes it)."""
    credentials = load_credentials(state_dir)
    return credentials.token or None if credentials else None


def save_token(state_dir: Path, token: str) -> None:
    """An access token without a refresh token or a known expiry (tests and benchmarks hand
    one in); it is used until the server refuses it."""
    _write_private(state_dir / CREDENTIALS_FILE, json.dumps({"token": token}))


def forget(state_dir: Path) -> None:
    """After revocation: the old identity is useless; the next start registers again."""
    for name in (CREDENTIALS_FILE, TOKEN_FILE, REGISTRATION_FILE):
        (state_dir / name).unlink(missing_ok=True)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verify the server against ``ca_file`` (or the system store). Never unverified."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    return context


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """One refresh at a time across channel, sync and delivery."""
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class Keeper:
    """Hands out a valid access token, refreshing it when due or once after a refusal."""

    def __init__(
        self,
        state_dir: Path,
        servers: list[str],
        tls: ssl.SSLContext,
        proxy_setting: str | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.state_dir = state_dir
        self.servers = [s.rstrip("/") for s in servers if s]
        self.tls = tls
        self.proxy_setting = proxy_setting
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> Keeper:
        return cls(
            settings.state_dir, settings.server_list, tls_context(settings.ca_file), settings.proxy
        )

    async def access_token(self, rejected: str | None = None) -> str | None:
        """A usable access token; None before an admin authorized us. ``rejected``: the
        token the server just refused (401), so a refresh happens even if it looks valid;
        a caller passes it once per request, then gives up. Raises Revoked."""
        credentials = load_credentials(self.state_dir)
        if credentials is None:
            return None
        if rejected is None and not credentials.due():
            return credentials.token
        return await asyncio.to_thread(self._refresh, rejected)

    def refresh_in(self) -> float | None:
        """Seconds until the next refresh is due; None while we have no credentials."""
        credentials = load_credentials(self.state_dir)
        return credentials.refresh_in() if credentials else None

    def _refresh(self, rejected: str | None) -> str | None:
        with _locked(self.state_dir):
            credentials = load_credentials(self.state_dir)  # another process may have won
            if credentials is None:
                return None
            fresh = credentials.token and credentials.token != rejected
            if fresh and not credentials.due():
                return credentials.token
            if not credentials.refresh_token:
                return credentials.token or None
            for server in self.servers:
                token = self._exchange(server, credentials.refresh_token)
                if token is not None:
                    return token
        # No server answered: keep the token we have; it may still be good for a while.
        return credentials.token or None

    def _exchange(self, server: str, refresh_token: str) -> str | None:
        url = f"{server}/api/v1/endpoints/refresh"
        options = proxy.httpx_options(url, self.proxy_setting)
        try:
            with httpx.Client(verify=self.tls, timeout=self.timeout, **options) as http:
                reply = http.post(url, json={"refresh_token": refresh_token})
        except httpx.HTTPError:
            return None
        if reply.status_code in (401, 403):
            forget(self.state_dir)
            raise Revoked(_refusal(reply))
        if not reply.is_success:
            return None
        try:
            data = reply.json()
            token, refresh, expires_in = data["token"], data["refresh_token"], data["expires_in"]
        except (ValueError, KeyError, TypeError):
            return None
        save_credentials(self.state_dir, token, refresh, float(expires_in))
        return token


def _refusal(reply: httpx.Response) -> str:
    try:
        detail = reply.json()["detail"]
        code, message = detail["code"], detail["message"]
    except (ValueError, KeyError, TypeError):
        return f"the server refused this machine (HTTP {reply.status_code})"
    if code == "revoked":
        return "this machine was revoked on the server"
    return f"the server no longer knows this machine ({message})"


_default: Keeper | None = None


async def current_access_token(rejected: str | None = None) -> str | None:
    """``Keeper.access_token`` for this process's configuration (what the delivery's gateway
    upload and sync call; they have no Keeper of their own)."""
    global _default
    if _default is None:
        _default = Keeper.from_settings(load_settings())
    return await _default.access_token(rejected)
