"""Who is calling: bearer tokens (admin, endpoint, user) and session cookies for pages.

Three kinds of caller: the admin (token in DIR/admin.token), an endpoint (a short-lived access
token, server/tokens.py) and a user (a short-lived access token from login,
server/user_tokens.py). Only hashes of endpoint and user tokens are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import HTTPException, Request

from server import admin_sessions, audit, auth, throttle, tokens, user_tokens
from server.context import ServerContext

COOKIE = "pullprint_session"  # the user's access token
REFRESH_COOKIE = "pullprint_refresh"  # and their refresh token, for the pages to refresh with
ADMIN_COOKIE = "pullprint_admin"


@dataclass
class Principal:
    kind: Literal["admin", "endpoint", "user"]
    id: int = 0
    name: str = ""


def error(status: int, code: str, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail={"code": code, "message": message})


def too_many(exc: throttle.Limited, what: str) -> HTTPException:
    """429 with Retry-After: the client (and a person reading the message) knows when."""
    message = f"{what}; try again in {exc.retry_after} s"
    return HTTPException(
        status_code=429,
        detail={"code": "too-many-attempts", "message": message},
        headers={"Retry-After": str(exc.retry_after)},
    )


def context(request: Request) -> ServerContext:
    return request.app.state.ctx


def authenticate(ctx: ServerContext, token: str) -> tuple[Principal | None, str]:
    """The caller, or None and why: `token-expired` (an endpoint's or a user's access token ran
    out; it should refresh) or `unauthorized`."""
    if auth.same_secret(token, ctx.admin_token):
        return Principal("admin", name="admin"), "ok"
    with ctx.store.session() as session:
        check = tokens.check_access(session, token)
        if check.endpoint is not None:
            return Principal("endpoint", check.endpoint.id, check.endpoint.hostname), "ok"
        if check.code == "token-expired":
            return None, check.code
        user_check = user_tokens.check_access(session, token)
        if user_check.user is not None:
            return Principal("user", user_check.user.id, user_check.user.name), "ok"
        return None, user_check.code


def resolve(ctx: ServerContext, token: str) -> Principal | None:
    return authenticate(ctx, token)[0]


def end_session(ctx: ServerContext, token: str, origin: str) -> bool:
    """End the user session a token (access or refresh) belongs to, both its tokens; the
    logout goes into the audit trail with ``origin``, the client's address. False when the
    token belonged to no session."""
    with ctx.store.session() as session:
        name = user_tokens.end(session, token)
        if name is not None:
            audit.record(session, audit.Who(name, origin), "user.logout", name)
    return name is not None


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def caller(request: Request) -> Principal:
    """Any valid bearer token; 401 otherwise."""
    token = bearer(request)
    principal, code = authenticate(context(request), token) if token else (None, "unauthorized")
    if principal is None:
        if code == "token-expired":
            raise error(401, code, "the access token expired; refresh it")
        raise error(401, "unauthorized", "a valid bearer token is required")
    return principal


def admin(request: Request) -> Principal:
    principal = caller(request)
    if principal.kind != "admin":
        raise error(403, "forbidden", "admin token required")
    return principal


def endpoint(request: Request) -> Principal:
    principal = caller(request)
    if principal.kind != "endpoint":
        raise error(403, "forbidden", "endpoint token required")
    return principal


def user_or_admin(request: Request) -> Principal:
    principal = caller(request)
    if principal.kind == "endpoint":
        raise error(403, "forbidden", "user or admin token required")
    return principal


def page_user(request: Request) -> Principal | None:
    token = request.cookies.get(COOKIE)
    principal = resolve(context(request), token) if token else None
    return principal if principal is not None and principal.kind == "user" else None


def page_admin(request: Request) -> bool:
    """An open admin page session in the cookie (server/admin_sessions.py). Blocking."""
    token = request.cookies.get(ADMIN_COOKIE)
    if not token:
        return False
    with context(request).store.session() as session:
        return admin_sessions.is_open(session, token)
