"""``GET /status`` and ``GET /about``: what the tray shows without any token.

Status asks every service over the bus at once and says which one did not answer, so
"service unreachable" is a fact the tray can show, not a guess.
"""

from __future__ import annotations

import asyncio
from importlib import metadata
from typing import Any

from fastapi import APIRouter, Request

from services.api.auth import get_caller
from services.api.context import Facade, FacadeDep
from services.api.errors import ApiError
from services.api.models import About, ChannelInfo, Component, Status, SyncInfo
from services.api.preferences import current_route
from services.core import VERSION, listen, users
from services.core.messages import StatusRequest

SERVICES = ("spooler", "channel", "sync", "delivery", "api")
COPYRIGHT = "Copyright 2026 the pullprint authors"
# What the About dialog lists: the libraries the client is built on.
COMPONENTS = (
    "fastapi",
    "uvicorn",
    "pydantic",
    "pydantic-settings",
    "sqlalchemy",
    "pyzmq",
    "msgpack",
    "httpx",
    "websockets",
    "supervisor",
    "psutil",
)

router = APIRouter(tags=["status"])


async def _service_status(facade: Facade, name: str) -> dict[str, Any]:
    answer = await facade.ask_or_none(name, StatusRequest())
    if isinstance(answer, str):
        if name == "spooler":  # the usual reason it cannot start: say whose the port is
            port = facade.settings.spooler_port
            holder = await asyncio.to_thread(listen.port_owner, port, "services.spooler")
            if holder is not None:
                answer = f"port {port} is taken by {holder}"
        return {"service": name, "state": "unreachable", "reason": answer}
    return answer


def _signed_out(facade: Facade, request: Request) -> bool:
    """The machine is signed out, or (os login) the caller logged out for themselves. A caller
    the kernel does not name still gets the machine's state: status needs no identity."""
    try:
        user = get_caller(request, facade).user
    except ApiError:
        return users.signed_out(facade.store)
    return users.session_ended(facade.store, user)


@router.get("/status")
async def get_status(facade: FacadeDep, request: Request) -> Status:
    """Health of every service process, channel and sync state, mode, route and version."""
    answers = await asyncio.gather(*(_service_status(facade, name) for name in SERVICES))
    services = dict(zip(SERVICES, answers, strict=True))
    channel, sync = services["channel"], services["sync"]
    wrong = problems(services, bool(facade.settings.server))
    if facade.restarting:
        wrong.append(f"restarting with the new settings: {', '.join(facade.restarting)}")
    if facade.restart_failure:
        wrong.append(facade.restart_failure)
    return Status(
        ok=not wrong,
        problems=wrong,
        restarting=facade.restarting,
        version=VERSION,
        mode=facade.settings.mode,
        route=await asyncio.to_thread(current_route, facade),
        signed_out=await asyncio.to_thread(_signed_out, facade, request),
        services=services,
        channel=ChannelInfo(
            state=str(channel.get("state", "unknown")),
            server=str(channel.get("server") or ""),
            reason=str(channel.get("reason") or ""),
        ),
        sync=SyncInfo(
            state=str(sync.get("state", "unknown")),
            reason=str(sync.get("reason") or ""),
            last_sync=_number(sync.get("last_sync")),
        ),
    )


# The states in which a part does its job; any other is a problem, with the part's reason.
# The channel is fine online, or idle on a machine without a server.
FINE = {"sync": ("ok", "running"), "channel": ("online",)}
SERVERLESS = {"sync": ("ok", "running"), "channel": ("idle",)}


def problems(services: dict[str, dict[str, Any]], has_server: bool) -> list[str]:
    """What is wrong, part by part: a process that does not answer or is still starting, a
    sync that failed (OS queues, the server), a channel that is not online, and the problems a
    running part reports itself."""
    found = []
    for name, answer in services.items():
        state = str(answer.get("state", "unknown"))
        fine = (FINE if has_server else SERVERLESS).get(name, ("running",))
        if state not in fine:
            server, reason = answer.get("server"), str(answer.get("reason") or "")
            where = f" ({server})" if server else ""
            found.append(f"{name}: {state}{where}" + (f": {reason}" if reason else ""))
        # A running part may still know of something only a person can fix (delivery: a
        # printer's certificate that changed).
        found += [f"{name}: {problem}" for problem in answer.get("problems") or ()]
    return found


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def components() -> list[Component]:
    found = []
    for name in COMPONENTS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        license_ = dist.metadata.get("License-Expression") or dist.metadata.get("License") or ""
        found.append(Component(name=name, version=dist.version, license=license_[:100]))
    return found


@router.get("/about")
async def get_about() -> About:
    """Version, copyright and licenses for the About dialog."""
    return About(
        version=VERSION,
        copyright=COPYRIGHT,
        license="Apache-2.0",
        components=await asyncio.to_thread(components),
    )
