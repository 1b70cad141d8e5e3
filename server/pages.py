"""Plain HTML pages: My profile (held jobs, history, Release buttons) and an admin overview.

No JavaScript: forms post back and redirect (303). Sessions are cookies holding the same
tokens the REST API uses, HttpOnly, Secure and SameSite=Strict, which is what keeps another
site from posting these forms on a user's behalf. A user's page holds their access and refresh
token; when the access token has run out, the page refreshes the pair itself and sets the new
cookies, so an open page keeps working as long as a REST client that refreshes would; when the
refresh token is no good either, the user is sent to sign in. The admin pages' cookie is an
expiring session id (server/admin_sessions.py), never the admin token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from html import escape
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from protocol.rest import LoginResponse
from server import (
    access,
    accounting,
    admin,
    admin_sessions,
    audit,
    auth,
    profiles,
    throttle,
    tokens,
)
from server.access import ADMIN_COOKIE, COOKIE, REFRESH_COOKIE, Principal
from server.api import login_user, refresh_user, release_for
from server.context import ServerContext
from server.logs import event
from server.models import Job

router = APIRouter()
MAX_FORM = 64 * 1024
STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:60em}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    "form.inline{display:inline}"
)


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Cells are escaped here, except ones the caller built as HTML (forms)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body or ''}</table>" if rows else "<p>None.</p>"


def when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(stamp)) if stamp else ""


async def form(request: Request) -> dict[str, str]:
    """Parse an urlencoded form without python-multipart (not a dependency of ours)."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FORM:
            break  # forms here are a few fields; anything longer is cut, not buffered
    body = data[:MAX_FORM].decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body).items()}


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> Response:
    response.set_cookie(name, value, max_age=max_age, httponly=True, secure=True, samesite="strict")
    return response


def too_many(title: str, exc: throttle.Limited) -> Response:
    """The page for a refused sign-in: 429, and when to try again, for people and clients."""
    response = page(
        title,
        f"<p><strong>Too many failed sign-ins. Try again in {exc.retry_after} seconds."
        "</strong></p>",
        429,
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def with_pair(response: Response, pair: LoginResponse | None) -> Response:
    """The response, carrying the user's new token pair as cookies when there is one."""
    if pair is not None:
        set_cookie(response, COOKIE, pair.token)
        set_cookie(response, REFRESH_COOKIE, pair.refresh_token)
    return response


def signed_in(request: Request) -> tuple[Principal | None, LoginResponse | None]:
    """The page's user, and the new pair to set when their access token had run out and the
    refresh cookie bought one; (None, None) sends them to sign in. Blocking (database)."""
    who = access.page_user(request)
    refresh_token = request.cookies.get(REFRESH_COOKIE)
    if who is not None or not refresh_token:
        return who, None
    ctx = access.context(request)
    try:
        pair = refresh_user(ctx, refresh_token, audit.address(request))
    except tokens.TokenError:
        return None, None
    return access.resolve(ctx, pair.token), pair


@router.get("/")
def root() -> RedirectResponse:
    return redirect("/me")


@router.get("/login")
def login_page(failed: int = 0) -> HTMLResponse:
    note = "<p><strong>Unknown user or wrong password.</strong></p>" if failed else ""
    return page(
        "Sign in",
        note + "<form method='post' action='/login'>"
        "<p><label>User <input name='user' required></label></p>"
        "<p><label>Password <input name='password' type='password' required></label></p>"
        "<p><button>Sign in</button></p></form>",
    )


@router.post("/login")
async def login_form(request: Request) -> Response:
    fields = await form(request)
    try:
        pair = await asyncio.to_thread(
            login_user,
            access.context(request),
            fields.get("user", ""),
            fields.get("password", ""),
            audit.address(request),
        )
    except throttle.Limited as exc:
        return too_many("Sign in", exc)
    if pair is None:
        return redirect("/login?failed=1")
    return with_pair(redirect("/me"), pair)


@router.post("/logout")
def logout(request: Request) -> Response:
    """Ends the session with whichever of its cookies still names it."""
    for token in (request.cookies.get(COOKIE), request.cookies.get(REFRESH_COOKIE)):
        if token and access.end_session(access.context(request), token, audit.address(request)):
            break
    response = redirect("/login")
    response.delete_cookie(COOKIE)
    response.delete_cookie(REFRESH_COOKIE)
    return response


def _job_row(job: Job) -> list[str]:
    return [
        escape(job.id),
        escape(job.name),
        escape(job.state),
        escape(job.printer_name or ""),
        str(job.size),
        when(job.created_at),
        when(job.completed_at),
    ]


@router.get("/me")
def my_profile(request: Request) -> Response:
    who, pair = signed_in(request)
    if who is None:
        return redirect("/login")
    ctx = access.context(request)
    with ctx.store.session() as session:
        mine = accounting.jobs_of(session, who.name)
        printers = admin.list_printers(session)
    held = [j for j in mine if j.state == "pending-held"]
    buttons = "".join(
        "<form class='inline' method='post' action='/me/release'>"
        f"<input type='hidden' name='printer' value='{escape(p['name'])}'>"
        f"<button>Release at {escape(p['name'])}</button></form> "
        for p in printers
    )
    headers = ["Job", "Name", "State", "Printer", "Bytes", "Created", "Finished"]
    body = (
        f"<p>Signed in as <strong>{escape(who.name)}</strong>. "
        "<form class='inline' method='post' action='/logout'><button>Sign out</button></form></p>"
        f"<h2>Held jobs ({len(held)})</h2>{table(headers, [_job_row(j) for j in held])}"
        f"<p>{buttons or 'No printers configured.'}</p>"
        f"<h2>History</h2>{table(headers, [_job_row(j) for j in mine if j not in held])}"
    )
    return with_pair(page("My profile", body), pair)


@router.post("/me/release")
async def release_form(request: Request) -> Response:
    who, pair = await asyncio.to_thread(signed_in, request)
    if who is None:
        return redirect("/login")
    printer = (await form(request)).get("printer", "")
    origin = audit.address(request)
    await asyncio.to_thread(release_for, access.context(request), who, who.name, printer, origin)
    return with_pair(redirect("/me"), pair)


@router.get("/admin")
def admin_overview(request: Request, failed: int = 0) -> Response:
    if not access.page_admin(request):
        note = "<p><strong>Wrong admin token.</strong></p>" if failed else ""
        return page(
            "Administration",
            note + "<form method='post' action='/admin/login'><p><label>Admin token "
            "<input name='token' type='password' required></label> <button>Open</button></p>"
            "</form>",
        )
    with access.context(request).store.session() as session:
        body = (
            "<form method='post' action='/admin/logout'><button>Sign out</button></form>"
            + _endpoints_section(session)
            + _printers_section(session)
            + _people_section(session)
            + _profiles_section(session)
        )
    return page("Administration", body)


def _endpoints_section(session: Session) -> str:
    rows = [
        [str(e["id"]), escape(e["hostname"]), escape(e["os"]), escape(e["version"]),
         escape(e["state"]), "online" if e["online"] else "offline", when(e["last_seen_at"]),
         _endpoint_actions(e)]
        for e in admin.list_endpoints(session)
    ]  # fmt: skip
    return "<h2>Endpoints</h2>" + table(
        ["Id", "Host", "OS", "Version", "State", "Channel", "Last seen", ""], rows
    )


def _printers_section(session: Session) -> str:
    printers = [
        [escape(p["name"]), escape(p["host"]), str(p["port"]), p["protocol"], escape(p["path"]),
         escape(admin.can_do(p))]
        for p in admin.list_printers(session)
    ]  # fmt: skip
    ports = [[escape(p.name), p.kind, escape(_port_printers(p))] for p in admin.list_ports(session)]
    return (
        "<h2>Printers</h2>"
        + table(["Name", "Host", "Port", "Protocol", "Path", "Can do"], printers)
        + "<h2>Input ports</h2>"
        + table(["Name", "Kind", "Printers / target"], ports)
    )


def _people_section(session: Session) -> str:
    users = [[str(u["id"]), escape(u["name"])] for u in admin.list_users(session)]
    jobs = [
        [escape(j.id), escape(j.owner), j.state, escape(j.printer_name or ""), str(j.size),
         when(j.created_at), when(j.completed_at)]
        for j in accounting.jobs_of(session, None, 50)
    ]  # fmt: skip
    return (
        "<h2>Users</h2>"
        + table(["Id", "Name"], users)
        + "<h2>Recent jobs</h2>"
        + table(["Job", "Owner", "State", "Printer", "Bytes", "Created", "Finished"], jobs)
    )


def _profiles_section(session: Session) -> str:
    """Read-only here; profiles are changed with the admin CLI or REST API."""
    found = [
        [escape(p["name"]),
         escape(", ".join(f"{k}={json.dumps(v)}" for k, v in p["settings"].items())),
         escape(", ".join(p["assigned_to"]))]
        for p in profiles.list_profiles(session)
    ]  # fmt: skip
    groups = [
        [escape(g["name"]), escape(", ".join(g["members"]))] for g in profiles.list_groups(session)
    ]
    return (
        "<h2>Configuration profiles</h2>"
        + table(["Name", "Settings", "Assigned to"], found)
        + "<h2>Groups</h2>"
        + table(["Name", "Members"], groups)
    )


def _port_printers(port: object) -> str:
    target = getattr(port, "target", None)
    if target is not None:
        return target.name
    return ", ".join(p.name for p in getattr(port, "printers", [])) or "any"


def _endpoint_actions(endpoint: dict) -> str:
    actions = []
    if endpoint["state"] == "pending":
        actions.append("authorize")
    if endpoint["state"] != "revoked":
        actions.append("revoke")
    return "".join(
        f"<form class='inline' method='post' action='/admin/endpoints/{endpoint['id']}/{a}'>"
        f"<button>{a.capitalize()}</button></form> "
        for a in actions
    )


@router.post("/admin/login")
async def admin_login(request: Request) -> Response:
    """The admin token opens an expiring session; the cookie holds the session's id, never
    the token (server/admin_sessions.py). Failures count with the address's failed logins."""
    given = (await form(request)).get("token", "")
    try:
        session_id = await asyncio.to_thread(_open_admin_session, request, given)
    except throttle.Limited as exc:
        return too_many("Administration", exc)
    if session_id is None:
        return redirect("/admin?failed=1")
    ttl = access.context(request).tokens.admin_session_ttl
    return set_cookie(redirect("/admin"), ADMIN_COOKIE, session_id, max_age=int(ttl))


def _open_admin_session(request: Request, given: str) -> str | None:
    ctx, origin = access.context(request), audit.address(request)
    attempt = throttle.take(ctx.store, ctx.throttle.admin_login(origin))
    who = audit.Who("admin", f"{origin} (admin page)")
    with ctx.store.session() as session:
        if not auth.same_secret(given, ctx.admin_token):
            audit.record(session, who, "admin.login-failed")
            event("admin.login_failed", origin=origin)
            return None
        throttle.forget(session, attempt)
        audit.record(session, who, "admin.login")
        return admin_sessions.open_session(session, ctx.tokens.admin_session_ttl)


@router.post("/admin/logout")
def admin_logout(request: Request) -> Response:
    """Ends the admin page session: its id opens nothing any more, wherever it was copied."""
    token = request.cookies.get(ADMIN_COOKIE)
    if token:
        with access.context(request).store.session() as session:
            if admin_sessions.end(session, token):
                audit.record(session, audit.admin_at(request), "admin.logout")
    response = redirect("/admin")
    response.delete_cookie(ADMIN_COOKIE)
    return response


@router.post("/admin/endpoints/{endpoint_id}/{action}")
async def admin_endpoint_action(endpoint_id: int, action: str, request: Request) -> Response:
    if not await asyncio.to_thread(access.page_admin, request):
        return redirect("/admin")
    ctx = access.context(request)
    operation = {"authorize": admin.authorize_endpoint, "revoke": admin.revoke_endpoint}.get(action)
    if operation is None:
        return page("Administration", "<p>Unknown action.</p>", 404)
    try:
        who = audit.Who("admin", f"{audit.address(request)} (admin page)")
        await asyncio.to_thread(_in_session, ctx, operation, endpoint_id, who, f"endpoint.{action}")
    except admin.AdminError as exc:
        return page("Administration", f"<p>{escape(exc.message)}</p>", 409)
    if action == "revoke":
        await ctx.hub.disconnect(endpoint_id)
    return redirect("/admin")


def _in_session(
    ctx: ServerContext,
    operation: Callable[[Session, int], object],
    arg: int,
    who: audit.Who,
    action: str,
) -> None:
    with ctx.store.session() as session:
        operation(session, arg)
        audit.record(session, who, action, str(arg))
