"""``/route`` and ``/language``: the runtime switches of ``services/core/switches.py``.

Both are the whole machine's, so only root or the admin token may change them (issue 19,
finding 10: any user switched every user's route and language); anyone may read them.

A route change wakes the spooler (whether pull jobs are held depends on it) and delivery (where
due jobs go now); both also read it on their own timers.
"""

from __future__ import annotations

import asyncio
from typing import get_args

from fastapi import APIRouter

from services.api.audit import entry
from services.api.auth import TokenCallerDep, require_admin
from services.api.context import Facade, FacadeDep
from services.api.errors import ApiError, responses
from services.api.models import (
    Language,
    LanguageChange,
    LanguageState,
    RouteChange,
    RouteState,
)
from services.core.switches import LANGUAGE_KEY, ROUTE_KEY, read_value, route_switch, write_value

LANGUAGES = get_args(Language)

router = APIRouter(tags=["preferences"])


def current_route(facade: Facade) -> str:
    """The route jobs take now: the switch in local mode, else what the mode implies."""
    if facade.settings.mode != "local":
        return facade.settings.mode  # gateway, or hybrid (direct ports local, pull via gateway)
    return route_switch(facade.store)


def _route_state(facade: Facade) -> RouteState:
    local = facade.settings.mode == "local"
    route = route_switch(facade.store) if local else "gateway"
    return RouteState(route=route, mode=facade.settings.mode, switchable=local)


@router.get("/route")
async def get_route(facade: FacadeDep) -> RouteState:
    """The delivery route; ``switchable`` is true only in local mode."""
    return await asyncio.to_thread(_route_state, facade)


@router.put("/route", responses=responses(401, 403, 409, 422))
async def put_route(body: RouteChange, facade: FacadeDep, caller: TokenCallerDep) -> RouteState:
    """Send jobs directly (local) or through the server's gateway; local mode only. Root or
    the admin token only."""
    require_admin(caller, "the delivery route")
    if facade.settings.mode != "local":
        raise ApiError(409, "not-local-mode", f"mode is {facade.settings.mode}: no route switch")
    old = await asyncio.to_thread(route_switch, facade.store)
    row = entry(caller, "route.switch", ROUTE_KEY, f"{old} -> {body.route}")
    await asyncio.to_thread(write_value, facade.store, ROUTE_KEY, body.route, row)
    facade.log.info("route.changed", route=body.route, user=caller.user)
    await facade.wake("spooler", "delivery")
    return await asyncio.to_thread(_route_state, facade)


def _language(facade: Facade) -> str:
    stored = read_value(facade.store, LANGUAGE_KEY)
    return stored if isinstance(stored, str) else facade.settings.language


@router.get("/language")
async def get_language(facade: FacadeDep) -> LanguageState:
    """The UI language: the one chosen in the tray, else the config's ``language``."""
    return LanguageState(language=await asyncio.to_thread(_language, facade))


@router.put("/language", responses=responses(401, 403, 422))
async def put_language(
    body: LanguageChange, facade: FacadeDep, caller: TokenCallerDep
) -> LanguageState:
    """Choose the machine's UI language (en, de, cs, fr, es); root or the admin token only.
    The tray keeps each user's own choice itself."""
    require_admin(caller, "the language")
    await asyncio.to_thread(write_value, facade.store, LANGUAGE_KEY, body.language)
    facade.log.info("language.changed", language=body.language, user=caller.user)
    return LanguageState(language=body.language)
