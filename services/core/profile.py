"""The configuration profile the server assigns this machine, kept in the store.

Sync writes it (from ``GET /api/v1/config`` on every sync, and so on ``config.changed``); the
services read it over their own settings for the keys a profile may set: ``sync_interval``
(sync), ``retention`` (channel's sweep of held jobs), ``log_level`` (every process, followed
while running), and ``allow_local_configuration`` (the facade refuses ``PUT /config`` when it
is false). The store, not a bus message, is the truth: a service that starts later or misses
a notification still reads the profile in force.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import psutil
from pydantic import ValidationError

from protocol.rest import EffectiveProfile
from services.core import users
from services.core.config import Settings
from services.core.store import State, Store

KEY = "profile"
MAX_REPORTED_USERS = 100
# The profile keys that are also keys of the client's own configuration file.
OVERLAID = ("sync_interval", "retention", "log_level")


def load(store: Store) -> EffectiveProfile | None:
    """The profile in force; None without one (serverless, never synced, none assigned)."""
    with store.session() as session:
        row = session.get(State, KEY)
        value = json.loads(row.value) if row else None
    if not value:
        return None
    try:
        return EffectiveProfile.model_validate(value)
    except ValidationError:
        return None  # written by another version: as if there were none until the next sync


def save(store: Store, profile: EffectiveProfile | None) -> bool:
    """Store the profile the server answered; True when it differs from the one stored."""
    value = json.dumps(profile.model_dump(mode="json") if profile else None, sort_keys=True)
    with store.session() as session:
        row = session.get(State, KEY)
        if row is not None and row.value == value:
            return False
        session.merge(State(key=KEY, value=value))
        session.commit()
    return True


def values(profile: EffectiveProfile | None) -> dict[str, Any]:
    """The profile's values for the configuration keys it overrides (only those it sets)."""
    if profile is None:
        return {}
    settings = profile.settings
    return {key: getattr(settings, key) for key in OVERLAID if getattr(settings, key) is not None}


def overlay(settings: Settings, profile: EffectiveProfile | None) -> Settings:
    """``settings`` with the profile's values in place of the file's for the keys it sets."""
    update = values(profile)
    return settings.model_copy(update=update) if update else settings


# Profile field -> the CUPS server-side default it becomes on our OS queues (IPP names).
QUEUE_DEFAULTS = {
    "default_color": "print-color-mode-default",
    "default_duplex": "sides-default",
    "default_paper": "media-default",
}
APPLIED_QUEUE_OPTIONS_KEY = "queue_options"


def queue_options(profile: EffectiveProfile | None) -> dict[str, str]:
    """The default job options the profile wants on every OS queue we make."""
    if profile is None:
        return {}
    settings = profile.settings
    return {
        option: str(getattr(settings, field))
        for field, option in QUEUE_DEFAULTS.items()
        if getattr(settings, field) is not None
    }


def applied_queue_options(store: Store) -> dict[str, str]:
    """The options last set on every queue (so a change is applied to all of them once)."""
    with store.session() as session:
        row = session.get(State, APPLIED_QUEUE_OPTIONS_KEY)
        return dict(json.loads(row.value)) if row else {}


def save_applied_queue_options(store: Store, options: dict[str, str]) -> None:
    with store.session() as session:
        value = json.dumps(options, sort_keys=True)
        session.merge(State(key=APPLIED_QUEUE_OPTIONS_KEY, value=value))
        session.commit()


def locked_by(profile: EffectiveProfile | None) -> str | None:
    """The name of the profile that forbids local configuration, or None when allowed."""
    if profile is None or profile.settings.allow_local_configuration is not False:
        return None
    return profile.sources.get("allow_local_configuration", profile.name)


def server_users(store: Store, login_type: str) -> list[str]:
    """Who uses this machine, as the server knows them: with custom login the server users the
    OS users logged in as; with os login the OS users with a session here (utmp), whose names
    are their server names, but those who logged out. Nobody when signed out."""
    if users.signed_out(store):
        return []
    if login_type == "custom":
        names = set(users.load_map(store).values())
    else:
        try:
            names = {u.name for u in psutil.users() if u.name}
        except (OSError, RuntimeError):
            names = set()
        names -= users.logged_out(store)  # they logged out, each for themselves
    # The server takes up to MAX_REPORTED_USERS (a terminal server may have more sessions).
    return sorted(names)[:MAX_REPORTED_USERS]


async def follow_log_level(store: Store, configured: str, interval: float) -> None:
    """Keep this process's log level at the profile's (the file's when the profile sets
    none), looking every ``interval``: a change applies without a restart."""
    current = ""
    while True:
        try:
            profile = await asyncio.to_thread(load, store)
        except Exception:  # a locked store: look again next round
            profile = None
        level = (values(profile).get("log_level") or configured).upper()
        if level != current:
            logging.getLogger().setLevel(level)
            current = level
        await asyncio.sleep(interval)
