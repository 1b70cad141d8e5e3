"""``GET /session``, ``POST /login`` and ``POST /logout``: the caller's own identity.

``/session`` hands an ordinary user's tray a token of its own (see ``tokens.py``). Login and
logout are custom login (``login_type = "custom"``) for the caller's OS user, the same steps as
``pullprint login``: the password is checked by the server, then the OS user is mapped to the
server user, and the spooler is woken to pick the map up.
"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter

from services.api.auth import CallerDep, TokenCallerDep
from services.api.context import Facade, FacadeDep
from services.api.errors import ApiError, responses
from services.api.models import Login, LoginResult, Session
from services.api.tokens import TokenError
from services.core import endpoint, users
from services.core.bus import RequestFailed
from services.core.messages import WakeRequest

router = APIRouter(tags=["account"])


@router.get("/session", responses=responses(403, 503))
async def get_session(facade: FacadeDep, caller: CallerDep) -> Session:
    """Make (or renew) the caller's token file; the tray reads it and sends it on changes."""
    try:
        path = await asyncio.to_thread(facade.tokens.issue, caller.uid)
    except TokenError as exc:
        raise ApiError(503, "no-token", str(exc)) from None
    facade.log.info("session.issued", user=caller.user, uid=caller.uid)
    return Session(user=caller.user, uid=caller.uid, token_file=str(path))


def _require_custom_login(facade: Facade) -> str:
    settings = facade.settings
    if settings.login_type != "custom" or not settings.server_url:
        raise ApiError(409, "not-custom-login", 'login needs login_type = "custom" and a server')
    return settings.server_url.rstrip("/")


async def _check_password(facade: Facade, server: str, body: Login) -> None:
    try:
        async with httpx.AsyncClient(
            verify=endpoint.tls_context(facade.settings.ca_file), timeout=30
        ) as http:
            reply = await http.post(
                f"{server}/api/v1/login", json={"user": body.user, "password": body.password}
            )
    except httpx.HTTPError as exc:
        raise ApiError(502, "server-unreachable", f"the server is not reachable: {exc}") from None
    if reply.status_code != 200:
        raise ApiError(403, "login-refused", f"login refused: {_server_message(reply)}")


def _server_message(reply: httpx.Response) -> str:
    try:
        return str(reply.json()["detail"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {reply.status_code}"


async def _wake_spooler(facade: Facade) -> None:
    """The spooler reloads the user map on its timer anyway; this only makes it immediate."""
    try:
        await facade.ask("spooler", WakeRequest())
    except RequestFailed:
        facade.log.info("spooler.not-woken")


@router.post("/login", responses=responses(401, 403, 409, 502))
async def login(body: Login, facade: FacadeDep, caller: TokenCallerDep) -> LoginResult:
    """Print as ``user`` on the server from now on (custom login), after the server checked
    the password."""
    server = _require_custom_login(facade)
    await _check_password(facade, server, body)
    await asyncio.to_thread(users.set_user, facade.store, caller.user, body.user)
    facade.log.info("login", os_user=caller.user, server_user=body.user)
    await _wake_spooler(facade)
    return LoginResult(os_user=caller.user, server_user=body.user)


@router.post("/logout", responses=responses(401, 409))
async def logout(facade: FacadeDep, caller: TokenCallerDep) -> LoginResult:
    """Stop printing as a server user (custom login)."""
    _require_custom_login(facade)
    if not await asyncio.to_thread(users.remove_user, facade.store, caller.user):
        raise ApiError(409, "not-logged-in", f"{caller.user} is not logged in")
    facade.log.info("logout", os_user=caller.user)
    await _wake_spooler(facade)
    return LoginResult(os_user=caller.user, server_user=None)
