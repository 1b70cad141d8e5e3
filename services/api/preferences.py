"""Runtime switches kept in the store's ``State`` table, so they survive restarts and every
service reads the same value: the delivery route (``delivery_route``) and the UI language
(``language``). Values are JSON strings, as delivery expects.
"""

from __future__ import annotations

import asyncio
import json
from typing import get_args

from fastapi import APIRouter

from services.api.auth import TokenCallerDep
from services.api.context import Facade, FacadeDep
from services.api.errors import ApiError, responses
from services.api.models import (
    Language,
    LanguageChange,
    LanguageState,
    RouteChange,
    RouteState,
)
from services.core.store import State, Store

ROUTE_KEY = "delivery_route"  # read by delivery (services/delivery/service.py)
LANGUAGE_KEY = "language"
LANGUAGES = get_args(Language)

router = APIRouter(tags=["preferences"])


def read_value(store: Store, key: str) -> object:
    with store.session() as session:
        row = session.get(State, key)
        return json.loads(row.value) if row is not None else None


def write_value(store: Store, key: str, value: object) -> None:
    with store.session() as session:
        session.merge(State(key=key, value=json.dumps(value)))
        session.commit()


def current_route(facade: Facade) -> str:
    """The route jobs take now: the switch in local mode, else what the mode implies."""
    if facade.settings.mode != "local":
        return facade.settings.mode  # gateway, or hybrid (direct ports local, pull via gateway)
    switch = read_value(facade.store, ROUTE_KEY)
    return "gateway" if switch == "gateway" else "local"


def _route_state(facade: Facade) -> RouteState:
    local = facade.settings.mode == "local"
    switch = read_value(facade.store, ROUTE_KEY) if local else None
    route = "gateway" if not local or switch == "gateway" else "local"
    return RouteState(route=route, mode=facade.settings.mode, switchable=local)


@router.get("/route")
async def get_route(facade: FacadeDep) -> RouteState:
    """The delivery route; ``switchable`` is true only in local mode."""
    return await asyncio.to_thread(_route_state, facade)


@router.put("/route", responses=responses(401, 409, 422))
async def put_route(body: RouteChange, facade: FacadeDep, caller: TokenCallerDep) -> RouteState:
    """Send jobs directly (local) or through the server's gateway; local mode only."""
    if facade.settings.mode != "local":
        raise ApiError(409, "not-local-mode", f"mode is {facade.settings.mode}: no route switch")
    await asyncio.to_thread(write_value, facade.store, ROUTE_KEY, body.route)
    facade.log.info("route.changed", route=body.route, user=caller.user)
    return await asyncio.to_thread(_route_state, facade)


def _language(facade: Facade) -> str:
    stored = read_value(facade.store, LANGUAGE_KEY)
    return stored if isinstance(stored, str) else facade.settings.language


@router.get("/language")
async def get_language(facade: FacadeDep) -> LanguageState:
    """The UI language: the one chosen in the tray, else the config's ``language``."""
    return LanguageState(language=await asyncio.to_thread(_language, facade))


@router.put("/language", responses=responses(401, 422))
async def put_language(
    body: LanguageChange, facade: FacadeDep, caller: TokenCallerDep
) -> LanguageState:
    """Choose the UI language (en, de, cs, fr, es)."""
    await asyncio.to_thread(write_value, facade.store, LANGUAGE_KEY, body.language)
    facade.log.info("language.changed", language=body.language, user=caller.user)
    return LanguageState(language=body.language)
