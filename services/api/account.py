"""``GET /session``, ``POST /login`` and ``POST /logout``: the caller's own identity.

``/session`` hands an ordinary user's tray a token of its own (see ``tokens.py``). Login and
logout take the same steps as ``pullprint login``/``logout`` for the caller's OS user: with
custom login the server checks the password and the OS user is mapped to the server user; a
logout that leaves nobody logged in signs the machine out (services/core/users.py). With os
login a user's logout ends only their own session; only an admin's signs the machine out.
"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter

from services.api.audit import entry, note
from services.api.auth import Caller, CallerDep, TokenCallerDep
from services.api.context import Facade, FacadeDep
from services.api.errors import ApiError, responses
from services.api.models import Login, LoginResult, Session
from services.api.tokens import TokenError
from services.core import endpoint, proxy, reach, users

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


async def _check_password(facade: Facade, body: Login) -> str:
    """Custom login: the server must accept the password. Returns the server user."""
    server = (facade.settings.server or "").rstrip("/")
    if not server or not body.user or body.password is None:
        raise ApiError(422, "invalid-request", "custom login needs a server, user and password")
    try:
        async with httpx.AsyncClient(
            verify=endpoint.tls_context(facade.settings.ca_file),
            timeout=30,
            **proxy.httpx_options(server, facade.settings.proxy),
        ) as http:
            reply = await http.post(
                f"{server}/api/v1/login", json={"user": body.user, "password": body.password}
            )
    except httpx.HTTPError as exc:
        why = reach.failure_at(server, exc, facade.settings.ca_file)
        raise ApiError(502, "server-unreachable", why) from None
    if reply.status_code != 200:
        # 403, not 401: 401 means "your facade token", which the tray answers by re-reading it.
        raise ApiError(403, "login-refused", f"login refused: {_server_message(reply)}")
    return body.user


def _server_message(reply: httpx.Response) -> str:
    try:
        return str(reply.json()["detail"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {reply.status_code}"


async def _server_user(facade: Facade, caller: Caller, body: Login) -> str | None:
    """The server user to print as (custom login), or None (os login). A password the server
    refused is in the audit trail too: repeated failures are what an admin looks for."""
    if facade.settings.login_type != "custom":
        return None
    try:
        return await _check_password(facade, body)
    except ApiError as exc:
        if exc.code == "login-refused":
            row = entry(caller, "user.login-failed", body.user or "", exc.message)
            await asyncio.to_thread(note, facade, row)
        raise


@router.post("/login", responses=responses(401, 403, 502))
async def login(body: Login, facade: FacadeDep, caller: TokenCallerDep) -> LoginResult:
    """Log in, as ``pullprint login`` does: with custom login print as ``user`` from now on
    (after the server checked the password); with os login bring back the printers a logout
    removed (user and password are not needed)."""
    login_type = facade.settings.login_type
    server_user = await _server_user(facade, caller, body)
    detail = f"prints as {server_user} (custom login)" if server_user else f"{login_type} login"
    row = entry(caller, "user.login", server_user or caller.user, detail)
    await asyncio.to_thread(users.log_in, facade.store, login_type, caller.user, server_user, row)
    facade.log.info("login", os_user=caller.user, server_user=server_user or "")
    await facade.wake("spooler", "sync")
    return LoginResult(os_user=caller.user, server_user=server_user, signed_out=False)


def _log_out(facade: Facade, caller: Caller) -> bool:
    login_type = facade.settings.login_type
    mapped = users.load_map(facade.store).get(caller.user)
    if login_type == "custom" and mapped is None:
        raise ApiError(409, "not-logged-in", f"{caller.user} is not logged in")
    row = entry(caller, "user.logout", mapped or caller.user, f"{login_type} login")
    return users.log_out(facade.store, login_type, caller.user, row, machine=caller.admin)


@router.post("/logout", responses=responses(401, 409))
async def logout(facade: FacadeDep, caller: TokenCallerDep) -> LoginResult:
    """Log out; when nobody is left logged in, the server's printers and their OS queues leave
    this machine (stored jobs stay) until the next login. With os login an ordinary user's
    logout ends their own session only (``signed_out`` false); root's or the admin token's
    signs the machine out."""
    signed_out = await asyncio.to_thread(_log_out, facade, caller)
    facade.log.info("logout", os_user=caller.user, signed_out=signed_out)
    await facade.wake("spooler", "sync")
    return LoginResult(os_user=caller.user, server_user=None, signed_out=signed_out)
