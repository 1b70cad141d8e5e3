"""Who the caller is and what they may do, as FastAPI dependencies.

``CallerDep``: the OS user behind the connection (from the kernel, see ``peer.py``); reading
needs nothing more. ``TokenCallerDep``: a change (POST/PUT/DELETE) also needs
``Authorization: Bearer <token>``, either the admin token or the caller's own user token.
``AdminDep``: changes to the whole installation (config, mode, the delivery route, the
machine's language) need root or the admin token: one user must not switch them for the others.
"""

from __future__ import annotations

import pwd
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.context import FacadeDep
from services.api.errors import ApiError
from services.core.peer import peer_uid


@dataclass(frozen=True)
class Caller:
    uid: int
    user: str
    # root, or the holder of the admin token: may see and change everything.
    admin: bool


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)  # a uid without a passwd entry (containers): its number is its name


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _peer(request: Request) -> int:
    client, server = request.client, request.scope.get("server")
    uid = None
    if client is not None and server is not None:
        uid = peer_uid(client.host, client.port, server[0], server[1])
    if uid is None:
        raise ApiError(403, "unknown-caller", "the kernel does not say who is connecting")
    return uid


def get_caller(request: Request, facade: FacadeDep) -> Caller:
    """The caller for reading: identity from the kernel; a valid admin token makes them admin.

    A plain function, not async: FastAPI runs it in a thread, so reading /proc does not stall
    the event loop.
    """
    uid = _peer(request)
    token = _bearer(request)
    admin = uid == 0 or (token is not None and facade.tokens.is_admin(token))
    return Caller(uid, user_name(uid), admin)


CallerDep = Annotated[Caller, Depends(get_caller)]


# Declared so /openapi.json shows which operations need the token; checked by hand below so
# a missing token is our 401 shape, not FastAPI's 403.
bearer = HTTPBearer(auto_error=False, description="the admin token or your own (GET /session)")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def get_token_caller(
    request: Request, facade: FacadeDep, caller: CallerDep, credentials: Credentials
) -> Caller:
    """The caller of a change: refused with 401 unless they sent a token valid for them."""
    token = credentials.credentials.strip() if credentials else None
    if not token:
        raise ApiError(401, "unauthorized", "this change needs Authorization: Bearer <token>")
    if not (facade.tokens.is_admin(token) or facade.tokens.is_user(token, caller.uid)):
        facade.log.warning("auth.refused", uid=caller.uid, path=request.url.path)
        raise ApiError(401, "unauthorized", "the token is not valid for this user")
    return caller


TokenCallerDep = Annotated[Caller, Depends(get_token_caller)]


def get_admin(caller: TokenCallerDep) -> Caller:
    if not caller.admin:
        raise ApiError(403, "forbidden", "only root or the admin token may do this")
    return caller


AdminDep = Annotated[Caller, Depends(get_admin)]


def require_admin(caller: Caller, what: str) -> None:
    """403 naming the machine-wide ``what`` an ordinary user tried to change (the tray shows
    the message as it is)."""
    if not caller.admin:
        raise ApiError(
            403,
            "forbidden",
            f"{what} applies to every user of this machine: only root or "
            "the admin token may change it",
        )
